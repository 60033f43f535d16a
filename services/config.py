"""The deal team's map of their GHL sub-account: pipeline, stages, fields, tags, territories.

It is data a user edits (`services/mappings/ghl_field_mapping.json` is the default; the
`DEALFINDER_MAPPING_FILE` setting points at another), loaded and checked once at start.

    config = load_deal_config()            # or load_deal_config(Path("my_mapping.json"))
    config.stage_key_for(score=93)         # "hot"
    config.owner_email_for(state="TX", city="Austin", zip_code="78704")
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

DEFAULT_MAPPING = Path(__file__).with_name("mappings") / "ghl_field_mapping.json"

FieldType = Literal[
    "TEXT", "LARGE_TEXT", "NUMERICAL", "MONETORY", "PHONE", "DATE", "CHECKBOX",
    "SINGLE_OPTIONS", "MULTIPLE_OPTIONS", "RADIO", "FLOAT",
]  # fmt: skip


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldSpec(_Model):
    name: str
    type: FieldType
    source: str | None = None  # the property record's attribute it is filled from


class PipelineSpec(_Model):
    name: str
    stages: dict[str, str]
    progression: list[str]

    @model_validator(mode="after")
    def _progression_known(self) -> PipelineSpec:
        unknown = [k for k in self.progression if k not in self.stages]
        if unknown:
            raise ValueError(f"progression names unknown stage keys: {', '.join(unknown)}")
        for needed in ("new", "good", "hot"):
            if needed not in self.stages:
                raise ValueError(f"pipeline.stages needs a '{needed}' stage")
        return self


class Thresholds(_Model):
    hot: int = Field(90, ge=0, le=100)
    good: int = Field(75, ge=0, le=100)
    min_import: int = Field(0, ge=0, le=100)


class TagSpec(_Model):
    buyer: str = "active_buyer"
    sms_opt_in: str = "sms_opt_in"
    deal_contact: list[str] = ["automated", "dealfinder"]
    quality: dict[str, str] = {"hot": "hot_deal", "good": "good_deal", "new": "new_deal"}
    notified: str = "deal_notified"

    def all_names(self) -> list[str]:
        names = [
            self.buyer,
            self.sms_opt_in,
            *self.deal_contact,
            *self.quality.values(),
            self.notified,
        ]
        return list(dict.fromkeys(names))


class TaskSpec(_Model):
    key: str
    title: str
    due_hours: float = Field(gt=0)
    priority: Literal["low", "medium", "high"] = "medium"
    min_score: int = Field(0, ge=0, le=100)
    assignee: str | None = None  # a GHL user's email; default: the deal's owner


class Territories(_Model):
    default_user: str | None = None
    by_state: dict[str, str] = {}
    by_city: dict[str, str] = {}
    by_zip: dict[str, str] = {}


class AfterSend(_Model):
    tag: bool = True
    note: bool = True
    task: bool = True
    workflow: bool = True


class SmsSpec(_Model):
    brand: str = "DealFinder"
    buyer_link: str = "https://deals.example.com/p/{mls_id}"
    template: str | None = None
    after_send: AfterSend = AfterSend()


class BrokerAlerts(_Model):
    sms_to_users: list[str] = []  # GHL user emails texted on a hot deal (quiet hours apply)


class DealConfig(_Model):
    model_config = ConfigDict(extra="ignore", frozen=True)  # allow "_comment"

    pipeline: PipelineSpec
    thresholds: Thresholds = Thresholds()
    contact_fields: dict[str, FieldSpec]
    opportunity_fields: dict[str, FieldSpec]
    tags: TagSpec = TagSpec()
    workflows: dict[str, str] = {}
    tasks: list[TaskSpec] = []
    territories: Territories = Territories()
    sms: SmsSpec = SmsSpec()
    broker_alerts: BrokerAlerts = BrokerAlerts()

    @model_validator(mode="after")
    def _thresholds_ordered(self) -> DealConfig:
        if self.thresholds.good > self.thresholds.hot:
            raise ValueError("thresholds.good must not be above thresholds.hot")
        return self

    def stage_key_for(self, *, score: int) -> str:
        """Initial stage by deal score: hot >= thresholds.hot, good >= thresholds.good, else new."""
        if score >= self.thresholds.hot:
            return "hot"
        if score >= self.thresholds.good:
            return "good"
        return "new"

    def quality_tag(self, *, score: int) -> str | None:
        return self.tags.quality.get(self.stage_key_for(score=score))

    def next_stage_key(self, key: str) -> str | None:
        order = self.pipeline.progression
        return (
            order[order.index(key) + 1]
            if key in order and order.index(key) + 1 < len(order)
            else None
        )

    def tasks_for(self, *, score: int) -> list[TaskSpec]:
        return [t for t in self.tasks if score >= t.min_score]

    def owner_email_for(
        self, *, state: str | None, city: str | None, zip_code: str | None
    ) -> str | None:
        """Territory routing: ZIP, then city, then state, then the default user."""
        t = self.territories
        if zip_code and zip_code[:5] in t.by_zip:
            return t.by_zip[zip_code[:5]]
        if city:
            wanted = city.strip().lower()
            for name, email in t.by_city.items():
                if name.strip().lower() == wanted:
                    return email
        if state and state.strip().upper() in t.by_state:
            return t.by_state[state.strip().upper()]
        return t.default_user


class DealConfigError(Exception):
    """The mapping file is missing or wrong; the message names the file and the problem."""


def load_deal_config(path: Path | str | None = None) -> DealConfig:
    """Load and check the mapping file (the packaged default when `path` is None)."""
    file = Path(path) if path else DEFAULT_MAPPING
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DealConfigError(f"mapping file not found: {file}") from None
    except json.JSONDecodeError as exc:
        raise DealConfigError(f"{file}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    try:
        return DealConfig.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise DealConfigError(f"{file}: {problems}") from None
