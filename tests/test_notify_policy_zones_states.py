"""Which zone and which state's rules apply: contact fields first, then the phone's area code."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from matching.notify import ResolvedZone, resolve_state, resolve_states, resolve_timezone
from matching.notify.states import normalize_state
from matching.notify.timezones import zones_for_phone, zones_of

TAMPA = "+1 813 273 1234"


@pytest.mark.parametrize(
    ("contact", "phone", "location", "default", "zones", "source"),
    [
        ("America/Chicago", TAMPA, "America/Denver", "UTC", ["America/Chicago"], "contact"),
        ("america/chicago", None, None, "UTC", ["America/Chicago"], "contact"),
        ("Not/A_Zone", TAMPA, None, "UTC", ["America/New_York"], "phone"),
        ("localtime", TAMPA, None, "UTC", ["America/New_York"], "phone"),  # the server's zone
        ("../../etc/passwd", TAMPA, None, "UTC", ["America/New_York"], "phone"),
        ("", "+1 602 255 1234", None, "UTC", ["America/Phoenix"], "phone"),
        (None, "+1 850 434 1234", None, "UTC", ["America/Chicago"], "phone"),  # Pensacola
        (None, "+1 850 224 1234", None, "UTC", ["America/New_York"], "phone"),  # Tallahassee
        (None, "+1 208 555 1234", None, "UTC", ["America/Boise", "America/Los_Angeles"], "phone"),
        (None, "+1 907 555 1234", None, "UTC", ["America/Anchorage", "America/Adak"], "phone"),
        (None, "+81 3 1234 5678", None, "UTC", ["Asia/Tokyo"], "phone"),
        # Toll-free and 500 numbers span Guam to Newfoundland: they say nothing about a zone.
        (None, "+1 800 555 1234", "America/Denver", "UTC", ["America/Denver"], "location"),
        (None, "+1 500 555 1234", "America/Denver", "UTC", ["America/Denver"], "location"),
        (None, "garbage", "Bad/Zone", "America/Los_Angeles", ["America/Los_Angeles"], "default"),
        (None, None, None, "Europe/London", ["Europe/London"], "default"),
        (None, None, None, "No/Such_Default", ["America/New_York"], "default"),
    ],
)
def test_resolve_timezone(
    contact: str | None,
    phone: str | None,
    location: str | None,
    default: str,
    zones: list[str],
    source: str,
) -> None:
    resolved = resolve_timezone(
        contact_timezone=contact, phone=phone, location_timezone=location, default=default
    )
    assert [zone.key for zone in resolved.zones] == zones
    assert resolved.source == source


def test_zones_of_accepts_every_form_a_caller_holds() -> None:
    chicago, denver = ZoneInfo("America/Chicago"), ZoneInfo("America/Denver")
    assert zones_of(chicago) == (chicago,)
    assert zones_of(ResolvedZone(chicago, "phone", (denver,))) == (chicago, denver)
    assert zones_of([denver]) == (denver,)
    with pytest.raises(ValueError):
        zones_of([])


def test_phone_zones_are_listed_eastern_first() -> None:
    assert [zone.key for zone in zones_for_phone("+1 605 555 1234")] == [
        "America/North_Dakota/Center",
        "America/Denver",
    ]
    assert zones_for_phone(None) == ()


@pytest.mark.parametrize(
    ("contact", "expected"),
    [
        ("FL", "FL"),
        ("fl", "FL"),
        ("Florida", "FL"),
        (" florida ", "FL"),
        ("FLORIDA", "FL"),
        ("Oklahoma", "OK"),
        ("md", "MD"),
        ("New  York", "NY"),
        ("District of Columbia", "DC"),
        ("Washington D.C.", "DC"),
        ("Puerto Rico", "PR"),
        ("Ontario", None),
        ("F", None),
        ("", None),
        (None, None),
    ],
)
def test_normalize_state(contact: str | None, expected: str | None) -> None:
    assert normalize_state(contact) == expected


@pytest.mark.parametrize(
    ("phone", "expected"),
    [
        ("+1 813 273 1234", "FL"),  # Tampa
        ("+1 305 358 1234", "FL"),  # Miami
        ("+1 850 434 1234", "FL"),  # Pensacola, Central time but still Florida
        ("+1 918 587 1234", "OK"),  # Tulsa
        ("+1 405 232 1234", "OK"),  # Oklahoma City
        ("+1 410 332 1234", "MD"),  # Baltimore
        ("+1 443 263 1234", "MD"),  # Baltimore overlay
        ("+1 512 472 1234", "TX"),  # Austin
        ("+1 602 255 1234", "AZ"),  # Phoenix
        ("+1 212 555 0199", "NY"),  # the geocoder says "New York, NY"
        ("+1 202 555 0123", "DC"),  # "Washington D.C."
        ("+1 787 555 1234", "PR"),  # its own phonenumbers region
        ("+1 800 555 1234", None),  # toll-free: no state
        ("+44 20 7946 0958", None),
        ("not a phone", None),
        (None, None),
    ],
)
def test_resolve_state_from_the_area_code(phone: str | None, expected: str | None) -> None:
    assert resolve_state(contact_state=None, phone=phone) == expected


def test_the_contact_state_wins_and_the_area_code_fills_gaps() -> None:
    assert resolve_state(contact_state="TX", phone=TAMPA) == "TX"
    assert resolve_state(contact_state="Ontario", phone=TAMPA) == "FL"
    assert resolve_states(contact_state="TX", phone=TAMPA) == ("TX", "FL")
    assert resolve_states(contact_state="florida", phone=TAMPA) == ("FL",)
    assert resolve_states(contact_state=None, phone=None) == ()
