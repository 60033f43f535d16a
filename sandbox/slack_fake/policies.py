"""Slack's platform rules as pure functions of their inputs (time is always passed in).

The fake's handlers call these; tests check them with parameter tables.

    bucket, retry_after = take_token(None, now=100.0, per_second=1.0, burst=4)
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class TokenBucket:
    """Remaining chat.postMessage allowance of one channel at `updated_at`."""

    tokens: float
    updated_at: float


def take_token(
    bucket: TokenBucket | None, *, now: float, per_second: float, burst: int
) -> tuple[TokenBucket, int | None]:
    """Spend one message from a channel's allowance.

    Returns the new bucket and None when the post may go ahead, or the unchanged bucket and the
    whole seconds to wait (Slack's `Retry-After` is an integer, at least 1) when it may not.
    """
    if bucket is None:
        bucket = TokenBucket(tokens=float(burst), updated_at=now)
    elapsed = max(0.0, now - bucket.updated_at)
    tokens = min(float(burst), bucket.tokens + elapsed * per_second)
    if tokens >= 1.0:
        return TokenBucket(tokens=tokens - 1.0, updated_at=now), None
    wait = (1.0 - tokens) / per_second
    return TokenBucket(tokens=tokens, updated_at=now), max(1, math.ceil(wait))


def next_ts_micros(*, last_micros: int, now: float) -> int:
    """The next message timestamp in microseconds: the clock, but always after the last one.

    Slack's `ts` identifies a message within its channel, so two posts in the same microsecond
    (or a frozen test clock) must still get distinct, increasing values.
    """
    return max(round(now * 1_000_000), last_micros + 1)


def format_ts(micros: int) -> str:
    """Slack's wire form of a timestamp: seconds, a dot, six digits ("1700000000.000100")."""
    seconds, fraction = divmod(micros, 1_000_000)
    return f"{seconds}.{fraction:06d}"


def trigger_problem(
    *, issued_at: float | None, exchanged: bool, now: float, ttl: float
) -> str | None:
    """Why a trigger_id cannot open a view, as Slack's error code, or None if it can.

    Unknown ids answer `expired_trigger_id` too: Slack cannot tell a forged id from an old one.
    """
    if issued_at is None or now - issued_at > ttl:
        return "expired_trigger_id"
    if exchanged:
        return "exchanged_trigger_id"
    return None


def response_url_problem(
    *, issued_at: float, uses: int, now: float, max_uses: int, ttl: float
) -> str | None:
    """Why a response_url refuses a message ("expired_url", "used_up"), or None if it accepts."""
    if now - issued_at > ttl:
        return "expired_url"
    if uses >= max_uses:
        return "used_up"
    return None
