"""The SMS rules as data: quiet hours, caps and per-state overrides, loaded from JSON.

The defaults ship as `rules.json` next to this module; a deployment passes its own file to
`load_rules` to add states or change caps without touching code.

    rules = load_rules()                       # the packaged defaults
    rules = load_rules("/etc/dealfinder/sms_rules.json")
"""

from __future__ import annotations

import json
from datetime import time
from importlib import resources
from pathlib import Path
from typing import Annotated, NamedTuple

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from matching.notify.states import KNOWN_CODES
from matching.notify.templates import validate_template
from matching.notify.timezones import zone_or_none


class RulesError(ValueError):
    """The rules file is missing, is not JSON, or breaks the model; the message says where."""


class AllowedWindow(NamedTuple):
    """The local wall-clock hours in which texting is allowed: start inclusive, end exclusive."""

    start: time
    end: time


def _checked_window(window: AllowedWindow) -> AllowedWindow:
    # A window that wraps past midnight would allow night-time texting, which no rule wants.
    if window.start.tzinfo is not None or window.end.tzinfo is not None:
        raise ValueError("window times are local wall-clock times; drop the UTC offset")
    if not window.start < window.end:
        raise ValueError(f"window start {window.start} must be before its end {window.end}")
    return window


Window = Annotated[AllowedWindow, AfterValidator(_checked_window)]


class StateRule(BaseModel):
    """A state's own limits; each one that is set narrows the defaults, never widens them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    window: Window | None = None
    daily_cap: int | None = Field(default=None, ge=0)
    note: str = ""


class NotifyRules(BaseModel):
    """Every tunable of the notification policy; see `rules.json` for the shipped values."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    default_timezone: str = "America/New_York"
    window: Window = AllowedWindow(time(8), time(21))
    daily_cap: int = Field(default=3, ge=0)
    cap_window_hours: float = Field(default=24, gt=0)
    opt_in_tags: tuple[str, ...] = ("sms_opt_in",)
    # The US and its inhabited territories (phonenumbers gives each its own region code);
    # the territories keep their own zones (`states.TERRITORY_ZONES`) and no DST.
    sms_regions: tuple[str, ...] = ("US", "PR", "GU", "VI", "MP", "AS")
    states: dict[str, StateRule] = Field(default_factory=dict)
    sms_template: str | None = None

    @field_validator("default_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        zone = zone_or_none(value)
        if zone is None:
            raise ValueError(f"{value!r} is not an IANA time zone name such as America/Chicago")
        return zone.key

    @field_validator("opt_in_tags")
    @classmethod
    def _tags(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        # GHL stores tags lower-cased, so comparisons are made on that form.
        tags = tuple(tag.strip().lower() for tag in value if tag.strip())
        if not tags:
            raise ValueError("at least one opt-in tag is needed, e.g. sms_opt_in")
        return tags

    @field_validator("sms_regions")
    @classmethod
    def _regions(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(region.strip().upper() for region in value)

    @field_validator("states", mode="before")
    @classmethod
    def _state_codes(cls, value: object) -> object:
        if not isinstance(value, dict):
            return value
        unknown = [key for key in value if str(key).strip().upper() not in KNOWN_CODES]
        if unknown:
            raise ValueError(f"unknown state codes {unknown}; use USPS codes such as FL")
        return {str(key).strip().upper(): rule for key, rule in value.items()}

    @field_validator("sms_template")
    @classmethod
    def _template(cls, value: str | None) -> str | None:
        # Checked here so a typo in a placeholder fails at start-up, not at 8 a.m. on send day.
        if value is not None:
            validate_template(value)
        return value

    @model_validator(mode="after")
    def _state_windows_overlap(self) -> NotifyRules:
        # A state window is intersected with the default one; an empty result would block
        # that state for good, which is a typo, not a policy.
        for code, rule in self.states.items():
            if rule.window is None:
                continue
            start = max(self.window.start, rule.window.start)
            end = min(self.window.end, rule.window.end)
            if not start < end:
                raise ValueError(f"{code}'s window does not overlap the default window")
        return self


def load_rules(path: str | Path | None = None) -> NotifyRules:
    """Read and validate a rules file; without a path, the defaults shipped with the package."""
    try:
        if path is None:
            text = resources.files("matching.notify").joinpath("rules.json").read_text("utf-8")
            source = "packaged rules.json"
        else:
            text = Path(path).read_text(encoding="utf-8")
            source = str(path)
    except OSError as exc:
        raise RulesError(f"cannot read SMS rules file {path}: {exc.strerror}") from exc
    try:
        return NotifyRules.model_validate(json.loads(text))
    except json.JSONDecodeError as exc:
        raise RulesError(f"{source} is not valid JSON: {exc}") from exc
    except ValidationError as exc:
        raise RulesError(f"{source} breaks the SMS rules model:\n{exc}") from exc
