"""Each GHL location's profile: its overrides (`store.locations`) over the deployment defaults.

An agency runs DealFinder for several locations (issue 14). What differs per location is kept
in its row's `settings` (set with `dealfinder locations set`), checked by `LocationSettings`:

    mapping_file    another mapping file (pipeline, stages, fields, workflows, users)
    mapping         mapping overrides merged over that file, e.g. {"pipeline": {"name": ...}}
    sms_rules_file  another SMS rules file
    sms_states      per-state SMS rules over the rules' `states`, e.g. {"TX": {"daily_cap": 1}}
    territories     the mapping's `territories` for this location (owners by state/city/ZIP)
    channels        {"deals": ..., "ops": ..., "replies": ...}: its Slack channels
    bound_channels  more Slack channels whose commands act on this location
    roles_file      its Slack roles file
    sms_from_number the number its texts go out from

    profile = profile_for(session, "loc1", settings)    # settings: the deployment defaults
    profile.config, profile.rules, profile.routing, profile.deals_channel

A location without a row (the single GHL_LOCATION_ID of a one-location deployment) gets the
defaults unchanged: no extra step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator
from sqlmodel import Session

from matching.notify.rules import NotifyRules, RulesError, load_rules
from services.config import (
    DEFAULT_MAPPING,
    DealConfig,
    DealConfigError,
    Territories,
    deal_config_from_data,
    read_mapping_data,
)
from services.slack_routing import ChannelRouting, _channel, resolve_routing
from store.installs import get_install
from store.locations import LocationStatus, get_location

ChannelKind = Literal["deals", "ops", "replies"]


class Defaults(Protocol):
    """The deployment's settings a profile starts from (`bot.settings.Settings` has them)."""

    ghl_location_id: str | None
    mapping_file: Path | None
    sms_rules_file: Path | None
    roles_file: Path | None
    ghl_sms_from_number: str | None
    deals_channel: str
    ops_channel: str

    @property
    def replies_channel(self) -> str: ...


class LocationSettingsError(ValueError):
    """A location's overrides are wrong; the message names the location and the key."""


class LocationSettings(BaseModel):
    """What a location may override; unknown keys are refused (a typo must not be ignored)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mapping_file: Path | None = None
    mapping: dict[str, Any] = {}
    sms_rules_file: Path | None = None
    sms_states: dict[str, dict[str, Any]] = {}
    territories: Territories | None = None
    channels: dict[ChannelKind, str] = {}
    bound_channels: list[str] = []
    roles_file: Path | None = None
    sms_from_number: str | None = None

    @field_validator("channels")
    @classmethod
    def _channels(cls, value: dict[str, str]) -> dict[str, str]:
        for channel in value.values():
            _channel(channel)
        return value

    @field_validator("bound_channels")
    @classmethod
    def _bound(cls, value: list[str]) -> list[str]:
        for channel in value:
            _channel(channel)
        return value


KEYS = tuple(LocationSettings.model_fields)


def check_settings(location_id: str, raw: dict[str, Any]) -> LocationSettings:
    """`raw` as `LocationSettings`, or `LocationSettingsError` naming the key and the problem."""
    try:
        return LocationSettings.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()
        )
        raise LocationSettingsError(f"location {location_id}: {problems}") from None


@dataclass(frozen=True)
class LocationProfile:
    """Everything that is per location, resolved: the map, the SMS rules, channels, roles."""

    location_id: str
    name: str | None
    status: str  # "active" | "disabled"
    installed: bool | None  # None: never installed through the app (a token deployment)
    config: DealConfig
    rules: NotifyRules
    deals_channel: str
    ops_channel: str
    replies_channel: str
    routing: ChannelRouting
    roles_file: Path | None
    overrides: LocationSettings = field(default_factory=LocationSettings)

    @property
    def label(self) -> str:
        """How people see the location: its name and id, or the id alone."""
        return f"{self.name} ({self.location_id})" if self.name else self.location_id

    def bound_channels(self) -> set[str]:
        """Every channel whose commands act on this location: its own, listed, and markets'."""
        channels = set(self.overrides.channels.values()) | set(self.overrides.bound_channels)
        for market in self.routing.markets:
            channels |= set(market.channels.values())
        return channels


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """`over` merged into `base`, objects key by key (lists and values replace)."""
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _config(location_id: str, own: LocationSettings, defaults: Defaults) -> DealConfig:
    file = own.mapping_file or defaults.mapping_file or DEFAULT_MAPPING
    data = _merge(read_mapping_data(Path(file)), own.mapping)
    if own.territories is not None:
        data["territories"] = own.territories.model_dump()
    source = f"{file} (location {location_id})" if own.mapping or own.territories else str(file)
    from_number = own.sms_from_number or defaults.ghl_sms_from_number
    return deal_config_from_data(data, source=source, sms_from_number=from_number)


def _rules(location_id: str, own: LocationSettings, defaults: Defaults) -> NotifyRules:
    rules = load_rules(own.sms_rules_file or defaults.sms_rules_file)
    if not own.sms_states:
        return rules
    states = {code: rule.model_dump() for code, rule in rules.states.items()}
    try:
        return NotifyRules.model_validate(
            {**rules.model_dump(), "states": _merge(states, own.sms_states)}
        )
    except ValidationError as exc:
        raise RulesError(f"location {location_id}: sms_states break the SMS rules:\n{exc}") from exc


def profile_for(session: Session, location_id: str, defaults: Defaults) -> LocationProfile:
    """`location_id`'s profile. Raises `LocationSettingsError`, `DealConfigError` or
    `RulesError` (each naming the location or file) when its overrides do not hold."""
    row = get_location(session, location_id)
    own = check_settings(location_id, dict(row.settings or {})) if row else LocationSettings()
    install = get_install(session=session, location_id=location_id)
    config = _config(location_id, own, defaults)
    deals = own.channels.get("deals", defaults.deals_channel)
    ops = own.channels.get("ops", defaults.ops_channel)
    replies = own.channels.get("replies") or (
        deals if "deals" in own.channels else defaults.replies_channel
    )
    return LocationProfile(
        location_id=location_id,
        name=(row.name if row else None) or (install.name if install else None),
        status=row.status if row else LocationStatus.ACTIVE,
        installed=None if install is None else install.status == "installed",
        config=config,
        rules=_rules(location_id, own, defaults),
        deals_channel=deals,
        ops_channel=ops,
        replies_channel=replies,
        routing=resolve_routing(config.slack_routing, deals=deals, replies=replies, ops=ops),
        roles_file=own.roles_file or defaults.roles_file,
        overrides=own,
    )


__all__ = [
    "KEYS",
    "DealConfigError",
    "LocationProfile",
    "LocationSettings",
    "LocationSettingsError",
    "RulesError",
    "check_settings",
    "profile_for",
]
