"""Properties of zones that cannot lie, for every moment: a fixed-offset contact zone never lets
a text out in the phone's quiet hours, and a window start in a DST gap opens at the earliest
valid moment."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from matching.notify import (
    Action,
    AllowedWindow,
    BuyerContactInfo,
    NotifyRules,
    decide,
    is_quiet,
    next_allowed,
)
from matching.notify.timezones import fixed_zone_or_none, zone_or_none, zones_for_phone

UNTRUSTED = ["EST", "PST", "CST", "MST", "HST", "AKST", "Etc/GMT+5", "Etc/GMT-10", "UTC-05:00",
             "GMT-5", "UTC", "GMT+3", "EST5EDT", "ChST"]  # fmt: skip
PHONES = ["+1 212 555 0101", "+1 312 555 0101", "+1 310 555 0101", "+1 602 555 0101",
          "+1 208 555 1234", "+1 787 555 1234", "+1 671 472 1234", "+1 340 774 1234"]  # fmt: skip
DST_ZONES = ["America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles",
             "America/Anchorage", "America/Havana", "America/Santiago", "Europe/London",
             "Australia/Lord_Howe"]  # fmt: skip
ONE_SECOND = timedelta(seconds=1)

moments = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(UTC)
)
windows = st.builds(
    AllowedWindow,
    start=st.times(min_value=time(5), max_value=time(11)),
    end=st.times(min_value=time(17), max_value=time(23)),
)
# Starts from midnight to 04:00: every DST gap of the zones above lies in that range.
early_windows = st.builds(
    AllowedWindow,
    start=st.times(min_value=time(0), max_value=time(4)),
    end=st.times(min_value=time(17), max_value=time(23)),
)


def _spring_gaps() -> list[tuple[str, datetime, timedelta]]:
    """(zone, the instant its clocks jump forward, the jump) for 2020-2035, found by scanning
    UTC offsets (independently of the code under test)."""
    found = []
    for name in DST_ZONES:
        zone = ZoneInfo(name)
        moment = datetime(2020, 1, 1, tzinfo=UTC)
        step = timedelta(hours=6)
        while moment.year < 2036:
            following = moment + step
            before, after = (
                moment.astimezone(zone).utcoffset(),
                following.astimezone(zone).utcoffset(),
            )
            if after > before:  # type: ignore[operator]
                low, high = int(moment.timestamp()), int(following.timestamp())
                while high - low > 1:  # the jump is in (low, high]: narrow to the second
                    middle = (low + high) // 2
                    if datetime.fromtimestamp(middle, zone).utcoffset() == after:
                        high = middle
                    else:
                        low = middle
                jump = datetime.fromtimestamp(high, UTC)
                found.append((name, jump, after - before))  # type: ignore[operator]
            moment = following
    return found


SPRING_GAPS = _spring_gaps()


@st.composite
def starts_in_a_gap(draw: st.DrawFn) -> tuple[str, datetime, AllowedWindow, datetime]:
    """A zone, a moment in the quiet night before its jump, a window whose start is a wall
    time the jump skips, and the jump's instant: the only right answer."""
    name, jump, length = draw(st.sampled_from(SPRING_GAPS))
    zone = ZoneInfo(name)
    skipped_from = (jump - ONE_SECOND).astimezone(zone).replace(tzinfo=None) + ONE_SECOND
    into = draw(st.integers(min_value=0, max_value=int(length.total_seconds()) - 1))
    start = (skipped_from + timedelta(seconds=into)).time()
    window = AllowedWindow(start, time(17))
    at = jump - timedelta(hours=draw(st.integers(min_value=1, max_value=5)))
    return name, at, window, jump


def declared(name: str) -> ZoneInfo:
    zone = zone_or_none(name) or fixed_zone_or_none(name)
    assert zone is not None
    return zone


@given(at=moments, contact=st.sampled_from(UNTRUSTED), phone=st.sampled_from(PHONES),
       window=windows)  # fmt: skip
def test_a_fixed_offset_never_lets_a_text_out_in_the_phones_quiet_hours(
    at: datetime, contact: str, phone: str, window: AllowedWindow
) -> None:
    buyer = BuyerContactInfo(contact_id="c", phone=phone, tags=("sms_opt_in",), timezone=contact)
    decision = decide(
        at=at, buyer=buyer, already_sent_property=False, sent_times=[],
        rules=NotifyRules(window=window), location_timezone=None,
    )  # fmt: skip
    clocks = (*zones_for_phone(phone), declared(contact))
    if decision.action is Action.EXCLUDE:
        assert decision.code == "no_common_window", decision.reason
        return
    assert decision.send_at is not None
    assert not is_quiet(at=decision.send_at, zone=clocks, window=window), decision.reason
    if decision.action is Action.DEFER:
        # The earliest such moment: a second earlier, some clock is still quiet.
        assert is_quiet(at=decision.send_at - ONE_SECOND, zone=clocks, window=window)
    else:
        assert decision.send_at == at


@given(case=starts_in_a_gap())
def test_a_window_start_the_clocks_skip_opens_when_they_land(
    case: tuple[str, datetime, AllowedWindow, datetime],
) -> None:
    zone, at, window, jump = case
    assert next_allowed(at=at, zone=ZoneInfo(zone), window=window) == jump


@given(at=moments, zone=st.sampled_from(DST_ZONES), window=early_windows)
def test_a_window_opening_early_opens_at_the_first_valid_moment(
    at: datetime, zone: str, window: AllowedWindow
) -> None:
    tz = ZoneInfo(zone)
    result = next_allowed(at=at, zone=tz, window=window)
    assert result >= at and not is_quiet(at=result, zone=tz, window=window)
    if result != at:
        assert is_quiet(at=result - ONE_SECOND, zone=tz, window=window)
        # Never later on the wall clock than the start plus the gap it may fall in.
        wall = result.astimezone(tz)
        opened = datetime.combine(wall.date(), window.start)
        assert wall.replace(tzinfo=None) - opened <= timedelta(hours=1)
