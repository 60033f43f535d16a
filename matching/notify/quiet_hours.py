"""Quiet hours: whether a moment is inside a buyer's allowed texting window, and when it opens.

The window is local wall-clock time (the TCPA's 8 a.m.-9 p.m. and the state acts' 8 a.m.-8 p.m.
are "local time at the called party's location"), start inclusive, end exclusive: with
08:00-21:00, 20:59:59 may send and 21:00:00 may not. Every instant is compared in UTC, so a
DST change neither skips nor repeats a send.

    window = window_for(state="FL", rules=rules)          # 08:00-20:00
    is_quiet(at=now, zone=ZoneInfo("America/New_York"), window=window)
    next_allowed(at=now, zone=resolved, window=window)         # aware UTC datetime
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from matching.notify.rules import AllowedWindow, NotifyRules
from matching.notify.timezones import ZoneSpec, zones_of

# Days looked ahead for a window start; two suffice even on a DST day, four leave margin.
_DAYS_AHEAD = 4
# Rounds of "push past the zone that is still quiet"; zones an hour or two apart settle in two.
_MAX_ROUNDS = 8


class NoCommonWindowError(ValueError):
    """The zones are so far apart that no moment is inside the window in all of them."""


def window_for(*, state: Iterable[str] | str | None, rules: NotifyRules) -> AllowedWindow:
    """The allowed window for a buyer in `state` (a code or several): the default narrowed.

    Narrowing, not replacing: the default quiet hours are the business's own policy and a
    state rule is a legal minimum, so the latest start and the earliest end win.
    """
    start, end = rules.window
    for code in _codes(state):
        rule = rules.states.get(code)
        if rule is not None and rule.window is not None:
            start, end = max(start, rule.window.start), min(end, rule.window.end)
    if not start < end:
        raise NoCommonWindowError(f"the rules for {sorted(_codes(state))} leave no window")
    return AllowedWindow(start, end)


def cap_for(*, state: Iterable[str] | str | None, rules: NotifyRules) -> int:
    """The rolling-window message cap for a buyer in `state`: the lowest that applies."""
    caps = [rules.daily_cap]
    for code in _codes(state):
        rule = rules.states.get(code)
        if rule is not None and rule.daily_cap is not None:
            caps.append(rule.daily_cap)
    return min(caps)


def is_quiet(*, at: datetime, zone: ZoneSpec, window: AllowedWindow) -> bool:
    """True if `at` falls outside the allowed window in any of the buyer's zones."""
    _require_aware(at)
    return any(_quiet_in(at, one, window) for one in zones_of(zone))


def next_allowed(*, at: datetime, zone: ZoneSpec, window: AllowedWindow) -> datetime:
    """The earliest moment at or after `at` that is allowed in every zone, as an aware UTC time.

    `at` itself when it is already allowed; otherwise the next window start. With several
    zones, each still-quiet zone pushes the answer to its own next start until none is quiet.
    """
    _require_aware(at)
    zones = zones_of(zone)
    moment = at.astimezone(UTC)
    for _ in range(_MAX_ROUNDS):
        quiet = [one for one in zones if _quiet_in(moment, one, window)]
        if not quiet:
            return moment
        for one in quiet:
            moment = max(moment, _next_start(moment, one, window))
    names = ", ".join(one.key for one in zones)
    raise NoCommonWindowError(f"no moment is inside {window.start}-{window.end} in all of {names}")


def _quiet_in(at: datetime, zone: ZoneInfo, window: AllowedWindow) -> bool:
    wall = at.astimezone(zone).time()
    return not window.start <= wall < window.end


def _next_start(at: datetime, zone: ZoneInfo, window: AllowedWindow) -> datetime:
    """The first window start in `zone` that is at or after `at` and really inside the window."""
    local_day = at.astimezone(zone).date()
    for offset in range(_DAYS_AHEAD):
        day = local_day + timedelta(days=offset)
        start = local_moment(day=day, wall=window.start, zone=zone)
        if start >= at and not _quiet_in(start, zone, window):
            return start
    raise NoCommonWindowError(f"no window start found in {zone.key} after {at.isoformat()}")


def local_moment(*, day: date, wall: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of a local wall time: the first of a repeated one (fall-back hour, so
    no window opens twice), and for one inside a spring-forward gap the first valid moment at
    or after it (02:30 on a day that jumps 02:00 -> 03:00 is 03:00, not 03:30).

        >>> local_moment(day=date(2026, 3, 8), wall=time(2, 30), zone=ZoneInfo("America/New_York"))
        datetime.datetime(2026, 3, 8, 7, 0, tzinfo=datetime.timezone.utc)

    That is 03:00 EDT.
    """
    naive = datetime.combine(day, wall)
    early = naive.replace(tzinfo=zone).astimezone(UTC)
    if early.astimezone(zone).replace(tzinfo=None) == naive:
        return early
    # In a gap zoneinfo reads fold=0 with the offset before the change (past the gap by its
    # length) and fold=1 with the offset after (before the gap); the change lies between.
    before = int(naive.replace(tzinfo=zone, fold=1).astimezone(UTC).timestamp())
    after = int(early.timestamp())
    offset_after = early.astimezone(zone).utcoffset()
    while after - before > 1:
        middle = (before + after) // 2
        if datetime.fromtimestamp(middle, zone).utcoffset() == offset_after:
            after = middle
        else:
            before = middle
    return datetime.fromtimestamp(after, UTC)


def _codes(states: Iterable[str] | str | None) -> set[str]:
    if states is None:
        return set()
    if isinstance(states, str):
        return {states.upper()}
    return {code.upper() for code in states}


def _require_aware(at: datetime) -> None:
    # A naive datetime would be read in the server's zone, which is never the buyer's.
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("`at` must be timezone-aware, e.g. datetime.now(UTC)")
