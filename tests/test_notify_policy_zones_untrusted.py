"""Zones that cannot lie: abbreviations and fixed offsets are checked against the phone (and
state), US territories have their own zones, and a window start in a DST gap means the first
valid moment after it. Pure functions, parameter tables; `decide` under freezegun."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time

from matching.notify import (
    Action,
    AllowedWindow,
    BuyerContactInfo,
    NotifyRules,
    decide,
    eligibility,
    is_quiet,
    load_rules,
    next_allowed,
    resolve_timezone,
)
from matching.notify.quiet_hours import local_moment
from matching.notify.timezones import fixed_zone_or_none, is_place, zone_or_none, zones_for_state

NEW_YORK = "+1 212 555 0101"
CHICAGO = "+1 312 555 0101"
LOS_ANGELES = "+1 310 555 0101"
PUERTO_RICO = "+1 787 555 1234"
GUAM = "+1 671 472 1234"
USVI = "+1 340 774 1234"
SAIPAN = "+1 670 234 1234"
PAGO_PAGO = "+1 684 733 1234"
RULES = load_rules()


@pytest.mark.parametrize(
    ("contact", "phone", "state", "zones", "source", "declared"),
    [
        # A place keeps today's behaviour: trusted alone, even against the phone.
        ("America/Chicago", NEW_YORK, None, ["America/Chicago"], "contact", None),
        ("US/Eastern", LOS_ANGELES, None, ["US/Eastern"], "contact", None),
        # Abbreviations and fixed offsets: the phone's zone, and the declared one on top.
        ("EST", NEW_YORK, None, ["America/New_York", "EST"], "phone", "EST"),
        ("est", NEW_YORK, None, ["America/New_York", "EST"], "phone", "EST"),
        ("PST", LOS_ANGELES, None, ["America/Los_Angeles", "Etc/GMT+8"], "phone", "Etc/GMT+8"),
        ("CST", CHICAGO, None, ["America/Chicago", "Etc/GMT+6"], "phone", "Etc/GMT+6"),
        ("CDT", CHICAGO, None, ["America/Chicago", "Etc/GMT+5"], "phone", "Etc/GMT+5"),
        ("Etc/GMT+5", NEW_YORK, None, ["America/New_York", "Etc/GMT+5"], "phone", "Etc/GMT+5"),
        ("UTC-05:00", NEW_YORK, None, ["America/New_York", "Etc/GMT+5"], "phone", "Etc/GMT+5"),
        ("GMT-5", NEW_YORK, None, ["America/New_York", "Etc/GMT+5"], "phone", "Etc/GMT+5"),
        ("-0500", NEW_YORK, None, ["America/New_York", "Etc/GMT+5"], "phone", "Etc/GMT+5"),
        ("UTC", NEW_YORK, None, ["America/New_York", "UTC"], "phone", "UTC"),
        ("EST5EDT", CHICAGO, None, ["America/Chicago", "EST5EDT"], "phone", "EST5EDT"),
        ("ChST", GUAM, None, ["Pacific/Guam", "Etc/GMT-10"], "phone", "Etc/GMT-10"),
        # 208 spans two zones: both stay, the declared offset is a third clock.
        (
            "MST",
            "+1 208 555 1234",
            None,
            ["America/Boise", "America/Los_Angeles", "MST"],
            "phone",
            "MST",
        ),
        # No zone from the phone (a 500 number): the contact's state decides, with the offset.
        ("EST", "+1 500 555 1234", "New York", ["America/New_York", "EST"], "state", "EST"),
        ("EST", "+1 500 555 1234", None, ["America/Denver", "EST"], "location", "EST"),
        # Half-hour offsets have no tz database zone: the phone alone, as for a bad name.
        ("UTC+05:30", NEW_YORK, None, ["America/New_York"], "phone", None),
        ("Eastern-ish", NEW_YORK, None, ["America/New_York"], "phone", None),
        # A state with no usable phone zone; the state spans two zones.
        (None, "+1 500 555 1234", "TX", ["America/Chicago", "America/Denver"], "state", None),
        (None, "+1 500 555 1234", "Puerto Rico", ["America/Puerto_Rico"], "state", None),
        # Territories: their own zone from the area code.
        (None, PUERTO_RICO, None, ["America/Puerto_Rico"], "phone", None),
        (None, "+1 939 555 1234", None, ["America/Puerto_Rico"], "phone", None),
        (None, GUAM, None, ["Pacific/Guam"], "phone", None),
        (None, USVI, None, ["America/St_Thomas"], "phone", None),
        (None, SAIPAN, None, ["Pacific/Saipan"], "phone", None),
        (None, PAGO_PAGO, None, ["Pacific/Pago_Pago"], "phone", None),  # listed NANP-wide
    ],
)
def test_resolve_timezone_never_trusts_an_offset_alone(
    contact: str | None,
    phone: str,
    state: str | None,
    zones: list[str],
    source: str,
    declared: str | None,
) -> None:
    resolved = resolve_timezone(
        contact_timezone=contact, phone=phone, location_timezone="America/Denver",
        default="UTC", contact_state=state,
    )  # fmt: skip
    assert [zone.key for zone in resolved.zones] == zones
    assert resolved.source == source
    assert (resolved.declared.key if resolved.declared else None) == declared


@pytest.mark.parametrize(
    ("name", "place"),
    [
        ("America/Chicago", True),
        ("Pacific/Guam", True),
        ("US/Eastern", True),
        ("EST", False),
        ("MST", False),
        ("HST", False),
        ("EST5EDT", False),
        ("Etc/GMT+5", False),
        ("Etc/UTC", False),
        ("UTC", False),
        ("GMT", False),
    ],
)
def test_is_place(name: str, place: bool) -> None:
    zone = zone_or_none(name)
    assert zone is not None and is_place(zone) is place


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("PST", "Etc/GMT+8"),
        ("pdt", "Etc/GMT+7"),
        ("AKST", "Etc/GMT+9"),
        ("UTC+10", "Etc/GMT-10"),
        ("GMT+0", "Etc/GMT"),
        ("UTC-12:00", "Etc/GMT+12"),
        ("UTC+14", "Etc/GMT-14"),
        ("UTC-13", None),
        ("UTC-03:30", None),
        ("Pacific", None),
        ("", None),
        (None, None),
    ],
)
def test_fixed_zone_or_none(name: str | None, key: str | None) -> None:
    zone = fixed_zone_or_none(name)
    assert (zone.key if zone else None) == key


def test_every_state_zone_is_a_real_place() -> None:
    from matching.notify.states import STATE_ZONES

    for code in STATE_ZONES:
        zones = zones_for_state(code)
        assert zones and all(is_place(zone) for zone in zones), code
    assert zones_for_state("Ontario") == ()


@pytest.mark.parametrize("phone", [PUERTO_RICO, GUAM, USVI, SAIPAN, PAGO_PAGO])
def test_us_territories_are_textable_by_default(phone: str) -> None:
    assert eligibility(tags=["sms_opt_in"], phone=phone, dnd_sms=False, opted_out=False) is None
    assert eligibility(tags=["sms_opt_in"], phone=phone, dnd_sms=False, opted_out=False,
                       rules=RULES) is None  # fmt: skip
    us_only = NotifyRules(sms_regions=("US",))
    refused = eligibility(
        tags=["sms_opt_in"], phone=phone, dnd_sms=False, opted_out=False, rules=us_only
    )
    assert refused is not None and refused.code == "unsupported_region"


# -- a window start inside the DST gap -----------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "day", "wall", "expected_utc"),
    [
        # New York jumps 02:00 EST -> 03:00 EDT: 02:30 does not exist; 03:00 EDT is 07:00 UTC.
        ("America/New_York", "2026-03-08", "02:30", "2026-03-08 07:00"),
        ("America/New_York", "2026-03-08", "02:00", "2026-03-08 07:00"),
        ("America/New_York", "2026-03-08", "02:59", "2026-03-08 07:00"),
        ("America/New_York", "2026-03-08", "03:00", "2026-03-08 07:00"),
        ("America/New_York", "2026-03-08", "01:59", "2026-03-08 06:59"),
        ("America/New_York", "2026-03-07", "02:30", "2026-03-07 07:30"),  # an ordinary day
        # Fall back: the first of the two 01:30s.
        ("America/New_York", "2026-11-01", "01:30", "2026-11-01 05:30"),
        ("America/Chicago", "2026-03-08", "02:30", "2026-03-08 08:00"),
        ("Europe/London", "2026-03-29", "01:30", "2026-03-29 01:00"),
        ("Australia/Sydney", "2026-10-04", "02:30", "2026-10-03 16:00"),
    ],
)
def test_local_moment_in_a_gap_is_the_first_valid_moment_after_it(
    zone: str, day: str, wall: str, expected_utc: str
) -> None:
    moment = local_moment(
        day=date.fromisoformat(day), wall=time.fromisoformat(wall), zone=ZoneInfo(zone)
    )
    assert moment == datetime.fromisoformat(expected_utc).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "at_utc", "expected_local"),
    [
        ("02:30", "2026-03-08 05:00", "2026-03-08 03:00-04:00"),  # 00:00 EST, in the gap day
        ("02:00", "2026-03-08 05:00", "2026-03-08 03:00-04:00"),
        ("02:30", "2026-03-07 05:00", "2026-03-07 02:30-05:00"),  # the day before: exists
        ("02:30", "2026-03-09 05:00", "2026-03-09 02:30-04:00"),  # the day after: exists
    ],
)
def test_a_custom_window_starting_in_the_gap_opens_at_0300_not_0330(
    start: str, at_utc: str, expected_local: str
) -> None:
    window = AllowedWindow(time.fromisoformat(start), time(21))
    zone = ZoneInfo("America/New_York")
    at = datetime.fromisoformat(at_utc).replace(tzinfo=UTC)
    allowed = next_allowed(at=at, zone=zone, window=window)
    assert allowed == datetime.fromisoformat(expected_local)
    assert not is_quiet(at=allowed, zone=zone, window=window)


# -- decide() under freezegun at both DST edges --------------------------------------------


def decide_now(stamp_utc: str, *, timezone: str | None, phone: str, state: str | None = None):
    """`decide` as a caller without a clock runs it: `datetime.now(UTC)` at a frozen time."""
    buyer = BuyerContactInfo(
        contact_id="c1", phone=phone, tags=("sms_opt_in",), timezone=timezone, state=state
    )
    with freeze_time(stamp_utc):
        return decide(
            at=datetime.now(UTC), buyer=buyer, already_sent_property=False, sent_times=[],
            rules=RULES, location_timezone=None,
        )  # fmt: skip


@pytest.mark.parametrize(
    ("label", "contact", "phone", "at_utc", "send_at_utc"),
    [
        # July: 21:30 EDT is 20:30 EST. The "EST" contact must not be texted (the case).
        ("july 21:30 EDT", "EST", NEW_YORK, "2026-07-16 01:30", "2026-07-16 13:00"),
        ("july 21:30 EDT, offset", "Etc/GMT+5", NEW_YORK, "2026-07-16 01:30", "2026-07-16 13:00"),
        (
            "july 21:30 EDT, UTC-05:00",
            "UTC-05:00",
            NEW_YORK,
            "2026-07-16 01:30",
            "2026-07-16 13:00",
        ),
        ("july 20:59 EDT", "EST", NEW_YORK, "2026-07-16 00:59", None),
        # July: 08:30 EDT is 07:30 EST: quiet on the declared clock, so wait for 09:00 EDT.
        ("july 08:30 EDT", "EST", NEW_YORK, "2026-07-15 12:30", "2026-07-15 13:00"),
        # March spring-forward day (2026-03-08): the morning after the jump is EDT.
        ("spring day 08:30 EDT", "EST", NEW_YORK, "2026-03-08 12:30", "2026-03-08 13:00"),
        ("spring day 21:30 EDT", "EST", NEW_YORK, "2026-03-09 01:30", "2026-03-09 13:00"),
        ("spring day 20:30 EDT", "EST", NEW_YORK, "2026-03-09 00:30", None),
        ("day before 08:30 EST", "EST", NEW_YORK, "2026-03-07 13:30", None),
        ("day before 20:59 EST", "EST", NEW_YORK, "2026-03-08 01:59", None),
        # November fall-back day (2026-11-01): the clocks agree again from 02:00 EDT.
        ("fall eve 08:30 EDT", "EST", NEW_YORK, "2026-10-31 12:30", "2026-10-31 13:00"),
        ("fall eve 21:30 EDT", "EST", NEW_YORK, "2026-11-01 01:30", "2026-11-01 13:00"),
        ("fall day 08:30 EST", "EST", NEW_YORK, "2026-11-01 13:30", None),
        ("fall day 20:59 EST", "EST", NEW_YORK, "2026-11-02 01:59", None),
        # A fixed offset can be the stricter clock in winter too: UTC-5 is 1 h ahead of CST.
        ("chicago winter 20:30 CST", "Etc/GMT+5", CHICAGO, "2026-01-16 02:30", "2026-01-16 14:00"),
        ("chicago winter 20:30, no zone", None, CHICAGO, "2026-01-16 02:30", None),
        # "PST" with a Los Angeles phone in July: 21:30 PDT is 20:30 PST.
        ("LA july 21:30 PDT", "PST", LOS_ANGELES, "2026-07-16 04:30", "2026-07-16 16:00"),
        # A place keeps today's rule: America/Chicago over a New York phone.
        ("place wins", "America/Chicago", NEW_YORK, "2026-07-16 01:30", None),
    ],
)
def test_a_fixed_offset_contact_zone_is_checked_against_the_phone(
    label: str, contact: str | None, phone: str, at_utc: str, send_at_utc: str | None
) -> None:
    decision = decide_now(at_utc, timezone=contact, phone=phone)
    at = datetime.fromisoformat(at_utc).replace(tzinfo=UTC)
    if send_at_utc is None:
        assert decision.action is Action.SEND, decision.reason
        assert decision.send_at == at
        return
    assert decision.action is Action.DEFER, decision.reason
    assert decision.send_at == datetime.fromisoformat(send_at_utc).replace(tzinfo=UTC)
    assert "quiet hours" in decision.reason
    if contact and contact != "America/Chicago":
        assert "fixed offset" in decision.reason


@pytest.mark.parametrize(
    ("label", "phone", "at_utc", "send_at_utc"),
    [
        # Puerto Rico, AST (UTC-4) all year: 07:30 local is quiet in July and in January alike.
        ("PR july 07:30", PUERTO_RICO, "2026-07-15 11:30", "2026-07-15 12:00"),
        ("PR january 07:30", PUERTO_RICO, "2026-01-15 11:30", "2026-01-15 12:00"),
        ("PR 20:59", PUERTO_RICO, "2026-03-09 00:59", None),  # New York's DST day: no change
        ("PR 21:00", PUERTO_RICO, "2026-03-09 01:00", "2026-03-09 12:00"),
        # Guam, ChST (UTC+10): 08:00 local is 22:00 UTC the day before.
        ("Guam 07:59", GUAM, "2026-07-14 21:59", "2026-07-14 22:00"),
        ("Guam 08:00", GUAM, "2026-07-14 22:00", None),
        ("Guam 21:00", GUAM, "2026-07-15 11:00", "2026-07-15 22:00"),
        # USVI, AST all year.
        ("USVI 21:30 november", USVI, "2026-11-02 01:30", "2026-11-02 12:00"),
        ("USVI 12:00", USVI, "2026-11-02 16:00", None),
        # Northern Mariana Islands and American Samoa (UTC-11).
        ("Saipan 22:00", SAIPAN, "2026-07-15 12:00", "2026-07-15 22:00"),
        ("Pago Pago 07:00", PAGO_PAGO, "2026-07-15 18:00", "2026-07-15 19:00"),
    ],
)
def test_territory_buyers_are_texted_on_their_own_clock(
    label: str, phone: str, at_utc: str, send_at_utc: str | None
) -> None:
    decision = decide_now(at_utc, timezone=None, phone=phone)
    assert decision.exclusion is None, decision.reason
    at = datetime.fromisoformat(at_utc).replace(tzinfo=UTC)
    if send_at_utc is None:
        assert decision.action is Action.SEND and decision.send_at == at, decision.reason
    else:
        assert decision.action is Action.DEFER, decision.reason
        assert decision.send_at == datetime.fromisoformat(send_at_utc).replace(tzinfo=UTC)


def test_a_far_offset_leaves_only_the_hours_both_clocks_allow() -> None:
    # "UTC+10" on a New York phone: 11:00 EDT is 01:00 on the declared clock. Both windows
    # (13 h each) always share some hours; here 18:00-21:00 EDT, i.e. 08:00-11:00 UTC+10.
    decision = decide_now("2026-07-15 15:00", timezone="UTC+10", phone=NEW_YORK)
    assert decision.action is Action.DEFER, decision.reason
    assert decision.send_at == datetime(2026, 7, 15, 22, 0, tzinfo=UTC)  # 18:00 EDT
    assert "America/New_York and Etc/GMT-10" in decision.reason
    late = decide_now("2026-07-16 01:00", timezone="UTC+10", phone=NEW_YORK)  # 21:00 EDT
    assert late.action is Action.DEFER and late.send_at == datetime(2026, 7, 16, 22, 0, tzinfo=UTC)
