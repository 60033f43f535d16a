"""Which time zone's clock decides a buyer's quiet hours.

Order of trust: the contact's own `timezone` field in GHL, then the zone of the phone's area
code, then the GHL location's zone, then the configured default. Bad names are skipped,
never raised, because they come from CRM data typed by people.

Some area codes span two zones (208 Idaho: Boise and Los_Angeles; 907 Alaska: Anchorage and
Adak). No single zone is safe there: 08:00 in Boise is 07:00 in Los Angeles, and 21:00 in
Los Angeles is 22:00 in Boise. So a phone-derived result keeps *every* candidate zone and the
quiet-hours functions allow a send only when it is inside the window in all of them, i.e.
from the latest local start to the earliest local end. The first (eastern-most) candidate is
the one named in messages.

    resolved = resolve_timezone(contact_timezone=None, phone="+1 208 555 1234",
                                location_timezone=None, default="America/New_York")
    resolved.zones   # (Boise, Los_Angeles); resolved.source == "phone"
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo, available_timezones

import phonenumbers
from phonenumbers import timezone as phone_timezone

ZoneSource = Literal["contact", "phone", "location", "default"]

# Used only when even the configured default is not a valid name.
FALLBACK_ZONE = "America/New_York"

# Valid tz database keys that do not name a place: "localtime" is the server's own zone and
# "Factory" means "unset".
_NOT_PLACES = frozenset({"localtime", "factory", "posixrules"})

# For non-geographic numbers (toll-free 800, 500 personal numbers) phonenumbers lists every
# zone of the North American plan, from Guam to Newfoundland; no common window exists across
# them, so the phone says nothing. Real area codes span at most two neighbouring zones.
MAX_PHONE_ZONE_SPREAD = timedelta(hours=3)
_SAMPLE_DAYS = (datetime(2025, 1, 15, 12), datetime(2025, 7, 15, 12))


@dataclass(frozen=True)
class ResolvedZone:
    """The zone(s) a buyer's quiet hours are checked in and where that answer came from."""

    zone: ZoneInfo
    source: ZoneSource
    also: tuple[ZoneInfo, ...] = ()

    @property
    def zones(self) -> tuple[ZoneInfo, ...]:
        """Every zone that must be outside quiet hours before a send: `zone` first."""
        return (self.zone, *self.also)


ZoneSpec = ZoneInfo | ResolvedZone | Sequence[ZoneInfo]


def zones_of(spec: ZoneSpec) -> tuple[ZoneInfo, ...]:
    """The zones a quiet-hours check must satisfy, whichever form the caller holds."""
    if isinstance(spec, ZoneInfo):
        return (spec,)
    if isinstance(spec, ResolvedZone):
        return spec.zones
    zones = tuple(spec)
    if not zones:
        raise ValueError("at least one time zone is needed")
    return zones


@lru_cache(maxsize=1)
def _zone_keys() -> dict[str, str]:
    return {
        name.casefold(): name
        for name in available_timezones()
        if name.casefold() not in _NOT_PLACES
    }


def zone_or_none(name: str | None) -> ZoneInfo | None:
    """The ZoneInfo for an IANA name in any letter case, or None if it names no place."""
    if not name or not isinstance(name, str):
        return None
    key = _zone_keys().get(name.strip().casefold())
    return ZoneInfo(key) if key else None


def zones_for_phone(phone: str | None) -> tuple[ZoneInfo, ...]:
    """The zones of a phone number's area code, eastern-most first; empty if unknown."""
    if not phone:
        return ()
    try:
        number = phonenumbers.parse(phone, "US")
    except phonenumbers.NumberParseException:
        return ()
    if not phonenumbers.is_valid_number(number):
        return ()
    found = (zone_or_none(name) for name in phone_timezone.time_zones_for_number(number))
    zones = [zone for zone in found if zone is not None]
    if not zones:
        return ()
    for day in _SAMPLE_DAYS:
        offsets = [zone.utcoffset(day) for zone in zones]
        if max(offsets) - min(offsets) > MAX_PHONE_ZONE_SPREAD:
            return ()
    return tuple(sorted(zones, key=lambda zone: (-zone.utcoffset(_SAMPLE_DAYS[0]), zone.key)))


def resolve_timezone(
    *,
    contact_timezone: str | None,
    phone: str | None,
    location_timezone: str | None,
    default: str,
) -> ResolvedZone:
    """The buyer's zone(s): contact field, else phone area code, else location, else default."""
    contact_zone = zone_or_none(contact_timezone)
    if contact_zone is not None:
        return ResolvedZone(contact_zone, "contact")
    phone_zones = zones_for_phone(phone)
    if phone_zones:
        return ResolvedZone(phone_zones[0], "phone", phone_zones[1:])
    location_zone = zone_or_none(location_timezone)
    if location_zone is not None:
        return ResolvedZone(location_zone, "location")
    return ResolvedZone(zone_or_none(default) or ZoneInfo(FALLBACK_ZONE), "default")
