"""The deal team's names (pipeline, stages, fields, users, workflows) resolved to GHL ids.

GHL's write endpoints take ids; the mapping file speaks in names. `GHLMap.resolve` asks GHL
(five GET calls); a `GHLMapSource` keeps the answer for whoever holds it (the runtime holds
one per location).

    ghl_map = GHLMapSource(client, config).get()
    ghl_map.stage_ids["good"], ghl_map.opportunity_fields["deal_score"], ghl_map.user_id(email)
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from ghl.client import GHLClient
from ghl.models import CustomField, Pipeline, User
from services.config import DealConfig

FIX_HINT = (
    "Run `dealfinder validate` to see every check, and `dealfinder validate --fix` to create "
    "missing custom fields and tags (pipelines, stages, workflows and users must be made in GHL)."
)


class GHLMapError(Exception):
    """Names in the mapping file that the GHL location does not have; lists each one."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"The GHL location does not match the mapping file:\n{lines}\n{FIX_HINT}")


def fold(name: str) -> str:
    """How names are compared: the mapping file promises case-insensitive matching."""
    return " ".join(name.split()).casefold()


def find_field(fields: list[CustomField], *, key: str, name: str, model: str) -> CustomField | None:
    """The location's custom field for a mapping entry: by name, else by its key."""
    of_model = [f for f in fields if f.model in (None, model)]
    by_name = next((f for f in of_model if fold(f.name) == fold(name)), None)
    return by_name or next((f for f in of_model if fold(f.key) == fold(key)), None)


def contact_strategy(chosen: str, *, allow_duplicates: bool | None) -> str:
    """The opportunity-contact strategy in force: "auto" decided by the location's setting.

    | chosen       | location allows several opportunities per contact | result       |
    | seller       | any                                               | seller       |
    | per_property | any                                               | per_property |
    | auto         | yes                                               | seller       |
    | auto         | no, or unknown (GHL's default is off)             | per_property |
    """
    if chosen != "auto":
        return chosen
    return "seller" if allow_duplicates else "per_property"


def find_pipeline(pipelines: list[Pipeline], name: str) -> Pipeline | None:
    return next((p for p in pipelines if fold(p.name) == fold(name)), None)


def _stage_order(stage: Any) -> int:
    return stage.position if stage.position is not None else 1_000_000


def configured_user_emails(config: DealConfig) -> list[str]:
    """Every GHL user the mapping names: territories, task assignees, broker alert recipients."""
    t = config.territories
    emails = [
        *([t.default_user] if t.default_user else []),
        *t.by_state.values(),
        *t.by_city.values(),
        *t.by_zip.values(),
        *(task.assignee for task in config.tasks if task.assignee),
        *config.broker_alerts.sms_to_users,
    ]
    return list(dict.fromkeys(e.strip().lower() for e in emails))


@dataclass(frozen=True)
class GHLMap:
    """Ids of one location for one mapping; built by `load`, read by the deal pipeline."""

    location_id: str
    location_timezone: str | None
    pipeline_id: str
    pipeline_name: str
    stage_ids: Mapping[str, str]  # stage key ("good") -> GHL stage id
    stage_names: Mapping[str, str]  # stage key -> the stage's name in GHL
    contact_fields: Mapping[str, str]  # mapping key -> custom field id (those found)
    opportunity_fields: Mapping[str, str]  # mapping key -> custom field id
    users: Mapping[str, User]  # lower-case email -> GHL user
    workflows: Mapping[str, str]  # workflow key ("hot_deal") -> GHL workflow id
    # The mapping's `opportunity_contact` with "auto" decided: "seller" or "per_property".
    opportunity_contact: str = "seller"
    # The location's "Allow Multiple Opportunities per Contact" (None: GHL did not say).
    allow_duplicate_opportunity: bool | None = None
    # Every stage of the pipeline, in GHL's order, as (id, name): the card's stage select
    # offers them all, not only the stages the mapping names.
    pipeline_stages: tuple[tuple[str, str], ...] = ()

    @cached_property
    def _stage_keys(self) -> dict[str, str]:
        return {stage_id: key for key, stage_id in self.stage_ids.items()}

    def stage_key(self, stage_id: str | None) -> str | None:
        """The mapping's key for a GHL stage id, or None for a stage the mapping does not name."""
        return self._stage_keys.get(stage_id or "")

    def user_id(self, email: str | None) -> str | None:
        user = self.users.get((email or "").strip().lower())
        return user.id if user else None

    @classmethod
    def resolve(cls, client: GHLClient, config: DealConfig) -> GHLMap:
        """Ask GHL for the ids now (five calls); GHLMapError lists everything missing."""
        location = client.locations.get()
        client.users.use_company(location.company_id)  # saves users/search its own read
        allow = location.settings.allow_duplicate_opportunity if location.settings else None
        pipeline = find_pipeline(client.opportunities.pipelines(), config.pipeline.name)
        fields = client.locations.custom_fields(model="all")
        users = {u.email.strip().lower(): u for u in client.users.list() if u.email}
        flows = {fold(w.name): w.id for w in client.workflows.list()}
        problems: list[str] = []
        stage_ids: dict[str, str] = {}
        stage_names: dict[str, str] = {}
        if pipeline is None:
            problems.append(f"pipeline {config.pipeline.name!r} not found")
        else:
            for key, name in config.pipeline.stages.items():
                stage = pipeline.stage_named(name)
                if stage is None:
                    problems.append(f"stage {name!r} ({key}) not in pipeline {pipeline.name!r}")
                else:
                    stage_ids[key], stage_names[key] = stage.id, stage.name
        contact_ids: dict[str, str] = {}
        for key, spec in config.contact_fields.items():
            found = find_field(fields, key=key, name=spec.name, model="contact")
            if found:  # buyer fields: the buyer sync reports them; deals do not need them
                contact_ids[key] = found.id
        opportunity_ids: dict[str, str] = {}
        for key, spec in config.opportunity_fields.items():
            found = find_field(fields, key=key, name=spec.name, model="opportunity")
            if found:
                opportunity_ids[key] = found.id
            elif spec.source:
                problems.append(f"opportunity custom field {spec.name!r} ({key}) not found")
        for email in configured_user_emails(config):
            if email not in users:
                problems.append(f"user {email} (named in territories/tasks/alerts) not found")
        workflow_ids: dict[str, str] = {}
        for key, name in config.workflows.items():
            if fold(name) in flows:
                workflow_ids[key] = flows[fold(name)]
            else:
                problems.append(
                    f"workflow {name!r} ({key}) not found; create it in GHL or drop it from "
                    "the mapping's workflows"
                )
        if problems:
            raise GHLMapError(problems)
        assert pipeline is not None
        return cls(
            location_id=client.location_id,
            location_timezone=location.timezone,
            pipeline_id=pipeline.id,
            pipeline_name=pipeline.name,
            stage_ids=stage_ids,
            stage_names=stage_names,
            contact_fields=contact_ids,
            opportunity_fields=opportunity_ids,
            users=users,
            workflows=workflow_ids,
            opportunity_contact=contact_strategy(
                config.opportunity_contact, allow_duplicates=allow
            ),
            allow_duplicate_opportunity=allow,
            pipeline_stages=tuple(
                (s.id, s.name) for s in sorted(pipeline.stages, key=_stage_order)
            ),
        )


class GHLMapSource:
    """One location's map, asked of GHL on first use and kept by whoever holds the source.

    The runtime (`bot.runtime`) holds one per location and hands it to every part that needs
    names resolved (desk, pipeline, jobs), so a batch of 500 properties pays for it once.
    Pipelines, fields and users change rarely and by hand; `refresh()` (e.g. after
    `validate --fix`) asks GHL again.

        maps = GHLMapSource(client, config)
        maps.get().stage_ids["good"]
    """

    def __init__(self, client: GHLClient, config: DealConfig) -> None:
        self.client, self.config = client, config
        self._map: GHLMap | None = None
        self._lock = threading.Lock()

    def get(self) -> GHLMap:
        """The resolved map (GHLMapError when GHL does not match the mapping)."""
        with self._lock:
            if self._map is None:
                self._map = GHLMap.resolve(self.client, self.config)
            return self._map

    def refresh(self) -> GHLMap:
        """Ask GHL again and keep the new answer."""
        resolved = GHLMap.resolve(self.client, self.config)
        with self._lock:
            self._map = resolved
        return resolved
