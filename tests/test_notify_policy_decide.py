"""`decide`: the combined verdict, its deferral time and the sentence that explains it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time

from matching.notify import (
    Action,
    BuyerContactInfo,
    Decision,
    NotifyRules,
    StateRule,
    decide,
    is_quiet,
    load_rules,
    window_for,
)

RULES = load_rules()
CHICAGO = ZoneInfo("America/Chicago")
NEW_YORK = ZoneInfo("America/New_York")
H = timedelta(hours=1)


def buyer(**fields: object) -> BuyerContactInfo:
    """An opted-in Chicago buyer (312 area code) unless `fields` say otherwise."""
    base: dict[str, object] = {"contact_id": "c-1", "phone": "(312) 555-0142",
                               "tags": ("sms_opt_in",)}  # fmt: skip
    return BuyerContactInfo(**(base | fields))  # type: ignore[arg-type]


def at_local(zone: ZoneInfo, stamp: str) -> datetime:
    return datetime.fromisoformat(stamp).replace(tzinfo=zone).astimezone(UTC)


def run(
    at: datetime,
    who: BuyerContactInfo,
    *,
    sent: list[datetime] | None = None,
    duplicate: bool = False,
    rules: NotifyRules = RULES,
    location: str | None = None,
) -> Decision:
    return decide(at=at, buyer=who, already_sent_property=duplicate, sent_times=sent or [],
                  rules=rules, location_timezone=location)  # fmt: skip


def test_send_now_inside_the_window() -> None:
    at = at_local(CHICAGO, "2026-06-15 10:00")
    decision = run(at, buyer())
    assert decision.action is Action.SEND
    assert decision.code == "send"
    assert decision.send_at == at
    assert decision.phone_e164 == "+13125550142"
    assert decision.states == ("IL",)
    assert decision.zone is not None and decision.zone.source == "phone"
    assert decision.reason == (
        "allowed: 10:00 local in America/Chicago (default window 08:00-21:00); "
        "0 of 3 texts in the last 24 h"
    )


def test_quiet_hours_defer_to_the_next_local_morning_and_say_so() -> None:
    decision = run(at_local(CHICAGO, "2026-06-15 22:15"), buyer())
    assert decision.action is Action.DEFER
    assert decision.code == "quiet_hours"
    assert decision.send_at == at_local(CHICAGO, "2026-06-16 08:00")
    assert decision.reason == (
        "quiet hours in America/Chicago (22:15 local; default window 08:00-21:00); "
        "deferred until 2026-06-16 08:00 local (2026-06-16 13:00 UTC)"
    )


@pytest.mark.parametrize(
    ("who", "action", "code"),
    [
        (buyer(state="TX"), Action.SEND, "send"),  # Texas buyer on a Chicago number: 21:00 rule
        (buyer(state="Florida"), Action.DEFER, "quiet_hours"),
        (buyer(phone="+1 405 232 1234"), Action.DEFER, "quiet_hours"),  # Oklahoma by area code
        # Contact says Texas, number is a Florida area code: Florida's presumption applies.
        (buyer(phone="+1 850 434 1234", state="TX"), Action.DEFER, "quiet_hours"),
    ],
)
def test_state_windows_end_at_20_00(who: BuyerContactInfo, action: Action, code: str) -> None:
    decision = run(at_local(CHICAGO, "2026-06-15 20:30"), who)
    assert (decision.action, decision.code) == (action, code)
    if action is Action.DEFER:
        assert "rules 08:00-20:00" in decision.reason
        assert decision.send_at == at_local(CHICAGO, "2026-06-16 08:00")


def test_the_contact_time_zone_beats_the_area_code() -> None:
    at = at_local(CHICAGO, "2026-06-15 22:30")
    assert run(at, buyer()).action is Action.DEFER
    decision = run(at, buyer(timezone="America/Los_Angeles"))  # 20:30 there
    assert decision.action is Action.SEND
    assert decision.zone is not None and decision.zone.source == "contact"


def test_the_location_zone_is_used_when_the_number_has_none() -> None:
    at = datetime(2026, 6, 15, 14, 30, tzinfo=UTC)  # 10:30 New York, 07:30 Los Angeles
    personal = buyer(phone="+1 500 555 1234")  # non-geographic: no zone, no state
    decision = run(at, personal, location="America/Los_Angeles")
    assert decision.action is Action.DEFER
    assert decision.zone is not None and decision.zone.source == "location"
    assert run(at, personal).zone.source == "default"  # type: ignore[union-attr]
    assert run(at, personal).action is Action.SEND  # default New York is awake


def test_an_area_code_spanning_two_zones_waits_for_the_later_morning() -> None:
    at = datetime(2026, 6, 15, 14, 30, tzinfo=UTC)  # 08:30 Boise, 07:30 Los Angeles
    decision = run(at, buyer(phone="+1 208 555 1234"))
    assert decision.action is Action.DEFER
    assert decision.send_at == datetime(2026, 6, 15, 15, 0, tzinfo=UTC)
    assert "America/Boise and America/Los_Angeles" in decision.reason


def test_a_full_cap_defers_to_the_oldest_send_plus_24_hours() -> None:
    at = at_local(CHICAGO, "2026-06-15 10:00")
    sent = [at_local(CHICAGO, "2026-06-14 11:00"), at - 2 * H, at - H]
    decision = run(at, buyer(), sent=sent)
    assert decision.action is Action.DEFER
    assert decision.code == "daily_cap"
    assert decision.send_at == at_local(CHICAGO, "2026-06-15 11:00")
    assert "3 of 3 texts" in decision.reason
    assert "deferred until 2026-06-15 11:00 local (2026-06-15 16:00 UTC)" in decision.reason


def test_the_fourth_text_goes_exactly_24_hours_after_the_first() -> None:
    first = at_local(CHICAGO, "2026-06-14 12:00")
    sent = [first, first + H, first + 2 * H]
    assert run(first + 24 * H - timedelta(seconds=1), buyer(), sent=sent).action is Action.DEFER
    assert run(first + 24 * H, buyer(), sent=sent).action is Action.SEND


def test_a_cap_that_frees_inside_quiet_hours_waits_for_the_morning() -> None:
    at = at_local(CHICAGO, "2026-06-15 20:00")
    sent = [at_local(CHICAGO, f"2026-06-14 {clock}") for clock in ("22:10", "22:20", "22:30")]
    decision = run(at, buyer(), sent=sent)
    assert decision.action is Action.DEFER
    assert decision.code == "quiet_hours_and_daily_cap"
    assert decision.send_at == at_local(CHICAGO, "2026-06-16 08:00")
    assert "22:10 local" in decision.reason


def test_quiet_hours_then_a_cap_still_full_at_the_window_start() -> None:
    # Night now; at 08:00 the three sends from 09:00-10:00 yesterday still fill the cap, and
    # the first of them frees a slot at 09:00.
    at = at_local(CHICAGO, "2026-06-15 22:00")
    sent = [at_local(CHICAGO, f"2026-06-15 {clock}") for clock in ("09:00", "09:30", "10:00")]
    decision = run(at, buyer(), sent=sent)
    assert decision.action is Action.DEFER
    assert decision.code == "quiet_hours_and_daily_cap"
    assert decision.send_at == at_local(CHICAGO, "2026-06-16 09:00")


def test_a_deferral_across_spring_forward_lands_on_local_0800() -> None:
    decision = run(at_local(NEW_YORK, "2026-03-07 23:00"), buyer(phone="+1 212 555 0199"))
    assert decision.send_at == datetime(2026, 3, 8, 12, 0, tzinfo=UTC)  # 08:00 EDT


@pytest.mark.parametrize(
    ("who", "code"),
    [
        (buyer(opted_out=True), "opted_out"),
        (buyer(dnd_sms=True), "dnd_sms"),
        (buyer(tags=("buyer",)), "no_opt_in"),
        (buyer(phone=None), "no_phone"),
        (buyer(phone="12"), "invalid_phone"),
    ],
)
def test_exclusions_win_over_everything(who: BuyerContactInfo, code: str) -> None:
    decision = run(at_local(CHICAGO, "2026-06-15 23:00"), who, duplicate=True)
    assert decision.action is Action.EXCLUDE
    assert decision.code == code
    assert decision.exclusion is not None and decision.exclusion.code == code
    assert decision.send_at is None


@pytest.mark.parametrize("clock", ["10:00", "23:00"])
def test_a_buyer_is_never_sent_the_same_property_twice(clock: str) -> None:
    decision = run(at_local(CHICAGO, f"2026-06-15 {clock}"), buyer(), duplicate=True)
    assert decision.action is Action.SKIP_DUPLICATE
    assert decision.code == "duplicate"
    assert decision.send_at is None


def test_a_state_with_a_cap_of_zero_is_excluded() -> None:
    rules = NotifyRules(states={"IL": StateRule(daily_cap=0)})
    decision = run(at_local(CHICAGO, "2026-06-15 10:00"), buyer(), rules=rules)
    assert (decision.action, decision.code) == (Action.EXCLUDE, "sms_disabled")


def test_decide_with_the_clock_frozen_at_night() -> None:
    with freeze_time("2026-06-16 03:30:00"):  # 22:30 in Chicago
        decision = run(datetime.now(UTC), buyer())
    assert decision.action is Action.DEFER
    assert decision.send_at is not None
    window = window_for(state=decision.states, rules=RULES)
    assert not is_quiet(at=decision.send_at, zone=decision.zone, window=window)  # type: ignore[arg-type]


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        run(datetime(2026, 6, 15, 10), buyer())
