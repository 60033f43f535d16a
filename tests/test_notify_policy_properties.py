"""Properties that must hold for every moment, zone and history, not just the tabled ones."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from matching.notify import (
    AllowedWindow,
    BuyerContactInfo,
    cap_decision,
    decide,
    is_quiet,
    load_rules,
    next_allowed,
    resolve_timezone,
    window_for,
)

ZONES = [
    "America/New_York", "America/Chicago", "America/Denver", "America/Phoenix",
    "America/Los_Angeles", "America/Anchorage", "Pacific/Honolulu", "America/Puerto_Rico",
    "Europe/London", "Asia/Tokyo", "Australia/Sydney", "Australia/Lord_Howe",  # 30-minute DST
    "America/Santiago", "Asia/Kathmandu",  # midnight DST changes; a +05:45 offset
]  # fmt: skip
# Area codes whose numbers phonenumbers places in two zones.
SPLIT_AREA_CODES = ["+1 208 555 1234", "+1 907 555 1234", "+1 605 555 1234"]
ONE_SECOND = timedelta(seconds=1)

moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2037, 12, 31), timezones=st.just(UTC)
)
windows = st.builds(
    AllowedWindow,
    start=st.times(min_value=time(4), max_value=time(12)),
    end=st.times(min_value=time(15), max_value=time(23, 59, 59)),
)


@given(at=moments, zone=st.sampled_from(ZONES), window=windows)
def test_next_allowed_is_the_earliest_allowed_moment(
    at: datetime, zone: str, window: AllowedWindow
) -> None:
    tz = ZoneInfo(zone)
    result = next_allowed(at=at, zone=tz, window=window)
    assert result >= at
    assert result.tzinfo is UTC
    assert not is_quiet(at=result, zone=tz, window=window)
    if result != at:  # nothing earlier would have done: the second before is still quiet
        assert is_quiet(at=result - ONE_SECOND, zone=tz, window=window)
        assert result - at < timedelta(days=2)


@given(at=moments, phone=st.sampled_from(SPLIT_AREA_CODES), window=windows)
def test_split_area_codes_are_never_texted_in_quiet_hours_of_any_zone(
    at: datetime, phone: str, window: AllowedWindow
) -> None:
    resolved = resolve_timezone(contact_timezone=None, phone=phone, location_timezone=None,
                                default="UTC")  # fmt: skip
    assert len(resolved.zones) == 2
    result = next_allowed(at=at, zone=resolved, window=window)
    assert result >= at
    for zone in resolved.zones:
        assert not is_quiet(at=result, zone=zone, window=window)


offsets = st.lists(st.integers(min_value=-48 * 3600, max_value=3600), max_size=8)


@given(at=moments, offsets=offsets, cap=st.integers(min_value=1, max_value=4))
def test_a_slot_frees_exactly_at_frees_at(at: datetime, offsets: list[int], cap: int) -> None:
    sent = [at + timedelta(seconds=offset) for offset in offsets]
    decision = cap_decision(sent_times=sent, at=at, cap=cap)
    assert decision.allowed is (decision.count < cap)
    if not decision.allowed:
        assert decision.frees_at is not None and decision.frees_at > at
        assert cap_decision(sent_times=sent, at=decision.frees_at, cap=cap).allowed
        assert not cap_decision(sent_times=sent, at=decision.frees_at - ONE_SECOND, cap=cap).allowed


RULES = load_rules()
PHONES = ["+1 813 273 1234", "+1 918 587 1234", "+1 312 555 0142", "+1 602 255 1234",
          "+1 208 555 1234", "+1 808 555 1234"]  # fmt: skip


@settings(max_examples=150)
@given(
    at=moments,
    phone=st.sampled_from(PHONES),
    offsets=st.lists(st.integers(min_value=-30 * 3600, max_value=0), max_size=6),
)
def test_a_deferred_send_satisfies_quiet_hours_and_the_cap_together(
    at: datetime, phone: str, offsets: list[int]
) -> None:
    sent = [at + timedelta(seconds=offset) for offset in offsets]
    who = BuyerContactInfo(contact_id="c", phone=phone, tags=("sms_opt_in",))
    decision = decide(at=at, buyer=who, already_sent_property=False, sent_times=sent,
                      rules=RULES, location_timezone=None)  # fmt: skip
    assert decision.send_at is not None and decision.zone is not None
    assert decision.send_at >= at
    window = window_for(state=decision.states, rules=RULES)
    assert not is_quiet(at=decision.send_at, zone=decision.zone, window=window)
    assert cap_decision(sent_times=sent, at=decision.send_at, cap=3).allowed
    assert (decision.send_at == at) is (decision.code == "send")
