"""The deal team's map of their GHL sub-account: pipeline, stages, fields, tags, territories.

It is data a user edits (`services/mappings/ghl_field_mapping.json` is the default; the
`DEALFINDER_MAPPING_FILE` setting points at another), loaded and checked once at start.

    config = load_deal_config()            # or load_deal_config(Path("my_mapping.json"))
    config.stage_key_for(score=93)         # "hot"
    config.owner_email_for(state="TX", city="Austin", zip_code="78704")
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from services.slack_routing import SlackRoutingSpec

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
    # The location's number texts go out from (`fromNumber` of POST /conversations/messages);
    # None lets GHL pick the location's default. GHL_SMS_FROM_NUMBER overrides it.
    from_number: str | None = None

    @field_validator("from_number")
    @classmethod
    def _e164(cls, value: str | None) -> str | None:
        if value is not None and not E164.fullmatch(value):
            raise ValueError("must be an E.164 phone number like +18135550100")
        return value


class BrokerAlerts(_Model):
    sms_to_users: list[str] = []  # GHL user emails texted on a hot deal (quiet hours apply)


# Whose contact a deal's opportunity hangs on (see README, "One opportunity per listing"):
# - "seller": the listing agent's own contact. GHL allows one open opportunity per contact per
#   pipeline unless the location's "Allow Multiple Opportunities per Contact" is on (Settings >
#   Objects > Opportunities), so an agent's second listing needs that setting.
# - "per_property": a contact of its own per listing, keyed by the MLS id (its email is
#   `property_contact_email`); the agent is named in it (company name) and in the analysis
#   note with their email and phone. Works with GHL's default settings.
# - "auto": "seller" when the location allows multiple opportunities per contact, else
#   "per_property" (read from the location when the map is loaded).
OpportunityContact = Literal["auto", "seller", "per_property"]
E164 = re.compile(r"\+[1-9]\d{7,14}")


class DealConfig(_Model):
    model_config = ConfigDict(extra="ignore", frozen=True)  # allow "_comment"

    opportunity_contact: OpportunityContact = "auto"
    # `.invalid` is reserved (RFC 2606): no mail to a listing contact can ever reach anyone.
    property_contact_email: str = "listing-{mls_id}@dealfinder.invalid"

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
    # Which Slack channel hears of what (services.slack_routing); None: the settings' channels.
    slack_routing: SlackRoutingSpec | None = None

    @model_validator(mode="after")
    def _thresholds_ordered(self) -> DealConfig:
        if self.thresholds.good > self.thresholds.hot:
            raise ValueError("thresholds.good must not be above thresholds.hot")
        return self

    @field_validator("property_contact_email")
    @classmethod
    def _email_template(cls, value: str) -> str:
        local, at, domain = value.partition("@")
        if "{mls_id}" not in local or not at or "." not in domain or "{" in domain:
            raise ValueError(
                "must be an email address whose part before @ holds {mls_id}, "
                "e.g. listing-{mls_id}@dealfinder.invalid"
            )
        return value

    def property_email(self, mls_id: str) -> str:
        """The per-property contact's email: its key for GHL's upsert (email first)."""
        safe = re.sub(r"[^a-z0-9._-]+", "-", mls_id.strip().lower()).strip("-.") or "x"
        return self.property_contact_email.replace("{mls_id}", safe)

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


def load_deal_config(
    path: Path | str | None = None, *, sms_from_number: str | None = None
) -> DealConfig:
    """Load and check the mapping file (the packaged default when `path` is None).

    `sms_from_number` (the GHL_SMS_FROM_NUMBER setting) replaces the mapping's sms.from_number.
    """
    file = Path(path) if path else DEFAULT_MAPPING
    return deal_config_from_data(
        read_mapping_data(file), source=str(file), sms_from_number=sms_from_number
    )


def read_mapping_data(file: Path) -> dict:
    """The mapping file's JSON, as written (checked by `deal_config_from_data`)."""
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DealConfigError(f"mapping file not found: {file}") from None
    except json.JSONDecodeError as exc:
        raise DealConfigError(f"{file}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(data, dict):
        raise DealConfigError(f"{file}: the mapping must be a JSON object")
    return data


def deal_config_from_data(
    data: dict, *, source: str, sms_from_number: str | None = None
) -> DealConfig:
    """Check mapping data (a file's, perhaps with a location's overrides merged in)."""
    if sms_from_number:
        data = {**data, "sms": {**(data.get("sms") or {}), "from_number": sms_from_number}}
    try:
        return DealConfig.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise DealConfigError(f"{source}: {problems}") from None
