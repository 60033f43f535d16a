"""Quiet hours: window boundaries to the second, DST days, zones ahead of UTC, state windows."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from matching.notify import (
    AllowedWindow,
    NoCommonWindowError,
    NotifyRules,
    ResolvedZone,
    StateRule,
    cap_for,
    is_quiet,
    load_rules,
    next_allowed,
    window_for,
)

DEFAULT = AllowedWindow(time(8), time(21))
FLORIDA = AllowedWindow(time(8), time(20))

# (zone, local day) pairs: ordinary days and each zone's DST change days in 2026.
DAYS = [
    ("America/New_York", "2026-06-15"),
    ("America/New_York", "2026-03-08"),  # spring forward 02:00 -> 03:00
    ("America/New_York", "2026-11-01"),  # fall back 02:00 -> 01:00
    ("America/Chicago", "2026-03-08"),
    ("America/Phoenix", "2026-03-08"),  # no DST: the neighbours move, Phoenix does not
    ("Europe/London", "2026-03-29"),
    ("Europe/London", "2026-10-25"),
    ("Asia/Tokyo", "2026-06-15"),  # ahead of UTC: the local morning is the previous UTC day
    ("Australia/Sydney", "2026-04-05"),  # southern hemisphere: DST ends in April
    ("Australia/Sydney", "2026-10-04"),  # and starts in October
]
BOUNDARIES = [
    (DEFAULT, "07:59:59", True),
    (DEFAULT, "08:00:00", False),
    (DEFAULT, "20:59:59", False),
    (DEFAULT, "21:00:00", True),
    (FLORIDA, "19:59:59", False),
    (FLORIDA, "20:00:00", True),
]


def local(zone: str, stamp: str, *, fold: int = 0) -> datetime:
    """An aware instant for a local wall-clock time, handed over in UTC like the store does."""
    naive = datetime.fromisoformat(stamp)
    return naive.replace(tzinfo=ZoneInfo(zone), fold=fold).astimezone(UTC)


@pytest.mark.parametrize(("zone", "day"), DAYS)
@pytest.mark.parametrize(("window", "clock", "quiet"), BOUNDARIES)
def test_window_boundaries_to_the_second(
    zone: str, day: str, window: AllowedWindow, clock: str, quiet: bool
) -> None:
    at = local(zone, f"{day} {clock}")
    assert is_quiet(at=at, zone=ZoneInfo(zone), window=window) is quiet


@pytest.mark.parametrize(
    ("zone", "at_local", "fold", "expected_utc"),
    [
        # Spring forward: 08:00 still exists that morning and is 12:00 UTC (EDT), not 13:00.
        ("America/New_York", "2026-03-07 22:15", 0, "2026-03-08 12:00"),
        ("America/New_York", "2026-03-08 01:30", 0, "2026-03-08 12:00"),
        ("America/New_York", "2026-03-08 03:30", 0, "2026-03-08 12:00"),
        # Fall back: both 01:30s defer to the same instant, so nothing goes out twice.
        ("America/New_York", "2026-10-31 21:00", 0, "2026-11-01 13:00"),
        ("America/New_York", "2026-11-01 01:30", 0, "2026-11-01 13:00"),
        ("America/New_York", "2026-11-01 01:30", 1, "2026-11-01 13:00"),
        ("America/New_York", "2026-11-01 21:30", 0, "2026-11-02 13:00"),
        ("America/Chicago", "2026-06-15 22:15", 0, "2026-06-16 13:00"),
        ("America/Phoenix", "2026-03-08 06:00", 0, "2026-03-08 15:00"),
        ("America/Phoenix", "2026-11-01 22:00", 0, "2026-11-02 15:00"),
        ("Europe/London", "2026-03-28 23:00", 0, "2026-03-29 07:00"),
        ("Europe/London", "2026-10-24 22:00", 0, "2026-10-25 08:00"),
        ("Asia/Tokyo", "2026-06-15 06:00", 0, "2026-06-14 23:00"),
        ("Asia/Tokyo", "2026-06-15 22:00", 0, "2026-06-15 23:00"),
        ("Australia/Sydney", "2026-04-04 22:00", 0, "2026-04-04 22:00"),  # AEDT -> AEST
        ("Australia/Sydney", "2026-10-03 23:00", 0, "2026-10-03 21:00"),  # AEST -> AEDT
    ],
)
def test_next_allowed_is_the_next_local_0800_across_dst(
    zone: str, at_local: str, fold: int, expected_utc: str
) -> None:
    result = next_allowed(at=local(zone, at_local, fold=fold), zone=ZoneInfo(zone), window=DEFAULT)
    assert result == datetime.fromisoformat(expected_utc).replace(tzinfo=UTC)
    assert result.tzinfo is UTC
    assert result.astimezone(ZoneInfo(zone)).time() == time(8)


def test_next_allowed_returns_the_same_instant_when_already_allowed() -> None:
    at = datetime(2026, 6, 15, 12, 0, tzinfo=ZoneInfo("America/Chicago"))
    result = next_allowed(at=at, zone=ZoneInfo("America/Chicago"), window=DEFAULT)
    assert result == at
    assert result.tzinfo is UTC


def test_florida_window_defers_an_evening_text_that_the_default_allows() -> None:
    at = local("America/New_York", "2026-06-15 20:30")
    zone = ZoneInfo("America/New_York")
    assert not is_quiet(at=at, zone=zone, window=DEFAULT)
    assert next_allowed(at=at, zone=zone, window=FLORIDA) == local(
        "America/New_York", "2026-06-16 08:00"
    )


# Area code 208 spans Boise (Mountain) and Los Angeles (Pacific): 08:00 in Boise is 07:00 in
# Los Angeles, and 21:00 in Los Angeles is 22:00 in Boise.
IDAHO = ResolvedZone(ZoneInfo("America/Boise"), "phone", (ZoneInfo("America/Los_Angeles"),))


@pytest.mark.parametrize(
    ("at_utc", "quiet", "expected_utc"),
    [
        ("2026-06-15 14:30", True, "2026-06-15 15:00"),  # 08:30 Boise, 07:30 Los Angeles
        ("2026-06-15 15:00", False, "2026-06-15 15:00"),  # 09:00 Boise, 08:00 Los Angeles
        ("2026-06-16 02:59", False, "2026-06-16 02:59"),  # 20:59 Boise
        ("2026-06-16 03:00", True, "2026-06-16 15:00"),  # 21:00 Boise, 20:00 Los Angeles
    ],
)
def test_a_multi_zone_area_code_must_be_allowed_in_every_zone(
    at_utc: str, quiet: bool, expected_utc: str
) -> None:
    at = datetime.fromisoformat(at_utc).replace(tzinfo=UTC)
    assert is_quiet(at=at, zone=IDAHO, window=DEFAULT) is quiet
    expected = datetime.fromisoformat(expected_utc).replace(tzinfo=UTC)
    assert next_allowed(at=at, zone=IDAHO, window=DEFAULT) == expected
    assert next_allowed(at=at, zone=list(IDAHO.zones), window=DEFAULT) == expected


def test_zones_without_a_shared_window_raise_instead_of_looping() -> None:
    office_hours = AllowedWindow(time(9), time(17))
    zones = [ZoneInfo("Asia/Tokyo"), ZoneInfo("America/New_York")]
    with pytest.raises(NoCommonWindowError):
        next_allowed(at=datetime(2026, 6, 15, tzinfo=UTC), zone=zones, window=office_hours)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        is_quiet(at=datetime(2026, 6, 15, 12), zone=ZoneInfo("UTC"), window=DEFAULT)
    with pytest.raises(ValueError, match="timezone-aware"):
        next_allowed(at=datetime(2026, 6, 15, 12), zone=ZoneInfo("UTC"), window=DEFAULT)


RULES = load_rules()


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (None, DEFAULT),
        ((), DEFAULT),
        ("TX", DEFAULT),
        ("FL", FLORIDA),
        ("ok", FLORIDA),
        (("MD",), FLORIDA),
        (("TX", "FL"), FLORIDA),  # contact in Texas, Florida area code: the stricter wins
    ],
)
def test_window_for_states(state: str | tuple[str, ...] | None, expected: AllowedWindow) -> None:
    assert window_for(state=state, rules=RULES) == expected


def test_a_state_rule_narrows_the_default_but_never_widens_it() -> None:
    rules = NotifyRules(
        states={
            "TX": StateRule(window=AllowedWindow(time(7), time(22))),
            "GA": StateRule(window=AllowedWindow(time(9), time(22)), daily_cap=2),
        }
    )
    assert window_for(state="TX", rules=rules) == DEFAULT
    assert window_for(state="GA", rules=rules) == AllowedWindow(time(9), time(21))
    assert cap_for(state="GA", rules=rules) == 2
    assert cap_for(state=("TX", "GA"), rules=rules) == 2
    assert cap_for(state="TX", rules=rules) == 3
