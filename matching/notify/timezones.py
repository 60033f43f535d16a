"""Which time zone's clock decides a buyer's quiet hours.

Order of trust: the contact's own `timezone` field in GHL when it names a place, then the
zone of the phone's area code, then the zones of the contact's state, then the GHL location's
zone, then the configured default. Bad names are skipped, never raised, because they come
from CRM data typed by people.

A contact zone that is an abbreviation or a fixed offset ("EST", "PST", "Etc/GMT+5",
"UTC-05:00", "GMT-5") is never trusted alone: it has no DST, so a New York buyer marked "EST"
would be texted until 22:00 EDT all summer. Such a zone is *added* to the zones judged from the
phone (or state, location, default), and the send must be allowed in all of them: the
stricter reading wins at both ends of the window.

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

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo, available_timezones

import phonenumbers
from phonenumbers import timezone as phone_timezone

from matching.notify.states import STATE_ZONES, TERRITORY_ZONES, normalize_state

ZoneSource = Literal["contact", "phone", "state", "location", "default"]

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

# tz database keys that name an offset or an abbreviation, not a place: fixed offsets ("EST",
# "Etc/GMT+5", "UTC") or POSIX-style rules ("EST5EDT"). Valid, but they say nothing about
# where the buyer is.
_NOT_PLACE_KEYS = frozenset(
    {
        "est", "mst", "hst", "est5edt", "cst6cdt", "mst7mdt", "pst8pdt", "wet", "cet", "met",
        "eet", "utc", "uct", "gmt", "gmt0", "gmt+0", "gmt-0", "greenwich", "universal", "zulu",
    }
)  # fmt: skip
# Abbreviations outside the tz database, read as North American senders mean them (hours
# from UTC). "CST" is China Standard Time elsewhere; only US numbers are texted by default.
_ABBREVIATION_HOURS: dict[str, int] = {
    "EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8, "PDT": -7,
    "AKST": -9, "AKDT": -8, "HST": -10, "HDT": -9, "AST": -4, "ADT": -3, "CHST": 10,
    "SST": -11, "UT": 0, "Z": 0,
}  # fmt: skip
# "UTC-05:00", "GMT-5", "UTC+0530", "-05:00": a sign, hours and optional minutes.
_OFFSET = re.compile(r"^(?:UTC|GMT|UT)?\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?$", re.IGNORECASE)


@dataclass(frozen=True)
class ResolvedZone:
    """The zone(s) a buyer's quiet hours are checked in and where that answer came from."""

    zone: ZoneInfo
    source: ZoneSource
    also: tuple[ZoneInfo, ...] = ()
    # The contact's own zone when it is a fixed offset or abbreviation: one of `also`, kept
    # so messages can say why a second clock applies.
    declared: ZoneInfo | None = None

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


def is_place(zone: ZoneInfo) -> bool:
    """Whether a valid zone names a place with its own DST rules (America/Chicago), rather
    than an offset or abbreviation (EST, Etc/GMT+5, UTC, EST5EDT) that cannot be trusted alone."""
    key = zone.key.casefold()
    return key not in _NOT_PLACE_KEYS and not key.startswith("etc/")


def fixed_zone_or_none(name: str | None) -> ZoneInfo | None:
    """The fixed-offset zone an abbreviation or offset stands for ("PST", "UTC-05:00"), or None.

    Only whole hours have a tz database zone (Etc/GMT+5 is UTC-5: the sign is POSIX's);
    half-hour offsets give None and the buyer is judged by phone, state or location alone.
    """
    if not name or not isinstance(name, str):
        return None
    text = name.strip()
    hours = _ABBREVIATION_HOURS.get(text.upper())
    if hours is None:
        match = _OFFSET.match(text)
        if match is None or (match.group(3) or "00") != "00":
            return None
        hours = int(match.group(2)) * (-1 if match.group(1) == "-" else 1)
    if not -12 <= hours <= 14:
        return None
    return ZoneInfo("Etc/GMT" if hours == 0 else f"Etc/GMT{-hours:+d}")


def zones_for_state(state: str | None) -> tuple[ZoneInfo, ...]:
    """The zones in use in a US state or territory (a code or a name); empty if unknown."""
    code = normalize_state(state)
    return tuple(ZoneInfo(name) for name in STATE_ZONES.get(code or "", ()))


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
    territory = TERRITORY_ZONES.get(phonenumbers.region_code_for_number(number) or "")
    if territory is not None:
        # phonenumbers lists every NANP zone for American Samoa's mobiles; a territory has one.
        return (ZoneInfo(territory),)
    found = (zone_or_none(name) for name in phone_timezone.time_zones_for_number(number))
    zones = [zone for zone in found if zone is not None]
    if not zones:
        return ()
    for day in _SAMPLE_DAYS:
        offsets = [_utc_offset(zone, day) for zone in zones]
        if max(offsets) - min(offsets) > MAX_PHONE_ZONE_SPREAD:
            return ()
    return tuple(sorted(zones, key=lambda zone: (-_utc_offset(zone, _SAMPLE_DAYS[0]), zone.key)))


def _utc_offset(zone: ZoneInfo, at: datetime) -> timedelta:
    # A ZoneInfo always knows its offset; `tzinfo.utcoffset` is typed as maybe None.
    return zone.utcoffset(at) or timedelta(0)


def resolve_timezone(
    *,
    contact_timezone: str | None,
    phone: str | None,
    location_timezone: str | None,
    default: str,
    contact_state: str | None = None,
) -> ResolvedZone:
    """The buyer's zone(s): a contact zone naming a place, else the phone's area code, else the
    contact's state, else location, else default; a fixed-offset contact zone is added to them.

        resolve_timezone(contact_timezone="EST", phone="+1 212 555 0101", ...).zones
        # (America/New_York, EST): allowed only when allowed on both clocks
    """
    contact_zone = zone_or_none(contact_timezone)
    if contact_zone is not None and is_place(contact_zone):
        return ResolvedZone(contact_zone, "contact")
    judged = _judged(phone, contact_state, location_timezone, default)
    declared = contact_zone or fixed_zone_or_none(contact_timezone)
    if declared is None:
        return judged
    return ResolvedZone(judged.zone, judged.source, (*judged.also, declared), declared=declared)


def _judged(
    phone: str | None, state: str | None, location_timezone: str | None, default: str
) -> ResolvedZone:
    """The zone(s) from everything but the contact's own zone field."""
    phone_zones = zones_for_phone(phone)
    if phone_zones:
        return ResolvedZone(phone_zones[0], "phone", phone_zones[1:])
    state_zones = zones_for_state(state)
    if state_zones:
        return ResolvedZone(state_zones[0], "state", state_zones[1:])
    location_zone = zone_or_none(location_timezone)
    if location_zone is not None:
        return ResolvedZone(location_zone, "location")
    return ResolvedZone(zone_or_none(default) or ZoneInfo(FALLBACK_ZONE), "default")
