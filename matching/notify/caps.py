"""The rolling message cap: at most N texts to one buyer in any 24 hours.

Rolling, not per calendar day, because Florida's and Oklahoma's acts count "3 in a 24-hour
period" and a calendar day would allow 3 at 23:00 and 3 more at 00:01. A send stops counting
exactly 24 h after it went out, so with a cap of 3 the 4th message may go at first + 24 h.

    cap_decision(sent_times=sent, at=now, cap=3)   # CapDecision(allowed, count, frees_at)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

ROLLING_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class CapDecision:
    """Whether one more text fits under the cap at a moment, and when a slot frees if not."""

    allowed: bool
    count: int
    frees_at: datetime | None = None


def cap_decision(
    *,
    sent_times: Sequence[datetime],
    at: datetime,
    cap: int,
    window: timedelta = ROLLING_WINDOW,
) -> CapDecision:
    """Count the sends in the `window` ending at `at` and say whether one more is allowed.

    A send counts while `at - window < sent`. Sends stamped after `at` (clock skew between
    workers) count too: they happened, and undercounting is the unsafe direction.
    """
    if at.tzinfo is None or any(sent.tzinfo is None for sent in sent_times):
        raise ValueError("`at` and every sent time must be timezone-aware")
    if cap < 0 or window <= timedelta(0):
        raise ValueError("cap must be >= 0 and window positive")
    since = at - window
    recent = sorted(sent.astimezone(UTC) for sent in sent_times if sent > since)
    if len(recent) < cap:
        return CapDecision(allowed=True, count=len(recent))
    if cap == 0:
        return CapDecision(allowed=False, count=len(recent))
    # A slot opens when enough of the oldest sends have aged out to leave cap - 1 in the
    # window; with exactly `cap` sends that is the oldest one's expiry.
    return CapDecision(
        allowed=False, count=len(recent), frees_at=recent[len(recent) - cap] + window
    )
