"""The rolling 24-hour cap: who counts, the exact second a slot frees, odd histories."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from matching.notify import CapDecision, cap_decision

T0 = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)
S = timedelta(seconds=1)
THREE = [T0, T0 + H, T0 + 2 * H]


@pytest.mark.parametrize(
    ("sent", "at", "cap", "expected"),
    [
        ([], T0, 3, CapDecision(allowed=True, count=0)),
        (THREE[:2], T0 + 3 * H, 3, CapDecision(allowed=True, count=2)),
        (THREE, T0 + 3 * H, 3, CapDecision(allowed=False, count=3, frees_at=T0 + 24 * H)),
        # The 4th message: refused one second before first + 24 h, allowed exactly then.
        (THREE, T0 + 24 * H - S, 3, CapDecision(allowed=False, count=3, frees_at=T0 + 24 * H)),
        (THREE, T0 + 24 * H, 3, CapDecision(allowed=True, count=2)),
        (THREE, T0 + 26 * H, 3, CapDecision(allowed=True, count=0)),
        # Four in the window after the cap was lowered: two must age out, so the second frees.
        ([*THREE, T0 + 3 * H], T0 + 4 * H, 3, CapDecision(False, 4, T0 + H + 24 * H)),
        # A send stamped after `at` (clock skew between workers) still counts.
        ([T0, T0 + H, T0 + 5 * H], T0 + 2 * H, 3, CapDecision(False, 3, T0 + 24 * H)),
        # Old sends never count.
        ([T0 - 30 * H, T0 - 25 * H, T0 - 24 * H], T0, 3, CapDecision(allowed=True, count=0)),
        ([T0], T0 + H, 1, CapDecision(allowed=False, count=1, frees_at=T0 + 24 * H)),
        ([], T0, 0, CapDecision(allowed=False, count=0)),
    ],
)
def test_rolling_cap(sent: list[datetime], at: datetime, cap: int, expected: CapDecision) -> None:
    assert cap_decision(sent_times=sent, at=at, cap=cap) == expected


def test_unsorted_history_in_mixed_zones_is_the_same_history() -> None:
    chicago = ZoneInfo("America/Chicago")
    sent = [(T0 + 2 * H).astimezone(chicago), T0, (T0 + H).astimezone(ZoneInfo("Asia/Tokyo"))]
    decision = cap_decision(sent_times=sent, at=T0 + 3 * H, cap=3)
    assert decision == CapDecision(allowed=False, count=3, frees_at=T0 + 24 * H)
    assert decision.frees_at is not None and decision.frees_at.tzinfo is UTC


def test_a_custom_window_length() -> None:
    decision = cap_decision(sent_times=[T0, T0 + H], at=T0 + 90 * timedelta(minutes=1), cap=2,
                            window=2 * H)  # fmt: skip
    assert decision == CapDecision(allowed=False, count=2, frees_at=T0 + 2 * H)


@pytest.mark.parametrize(
    ("sent", "at", "cap"),
    [
        ([datetime(2026, 6, 15, 12)], T0, 3),
        ([T0], datetime(2026, 6, 15, 12), 3),
        ([T0], T0, -1),
    ],
)
def test_bad_input_is_refused(sent: list[datetime], at: datetime, cap: int) -> None:
    with pytest.raises(ValueError):
        cap_decision(sent_times=sent, at=at, cap=cap)
