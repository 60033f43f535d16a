"""GHL's rate limits per app per location: a sliding burst window and a daily count.

HighLevel help centre, "HighLevel API": 100 requests per 10 s burst, 200,000 per day, and five
headers on every response. The daily count restarts at midnight UTC. A refused request does not
count against either limit.

    limiter = RateLimiter(Limits(burst_max=20, burst_interval_ms=1_000), clock=time.time)
    decision = limiter.take("token")
    decision.allowed, decision.headers["X-RateLimit-Remaining"], decision.retry_after
    limiter.take("token", Limits(burst_max=5))    # a location with limits of its own
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


@dataclass(frozen=True)
class Limits:
    burst_max: int = 100
    burst_interval_ms: int = 10_000
    daily_max: int = 200_000


@dataclass(frozen=True)
class RateDecision:
    """Whether a request may proceed, the headers to send, and when to retry if not."""

    allowed: bool
    headers: dict[str, str]
    retry_after: int | None = None
    reason: str | None = None  # "burst" or "daily" when refused


@dataclass
class _Bucket:
    window: deque[float]
    day: str
    daily_used: int


def seconds_to_utc_midnight(now: float) -> float:
    moment = datetime.fromtimestamp(now, tz=UTC)
    midnight = (moment + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return (midnight - moment).total_seconds()


def _utc_day(now: float) -> str:
    return datetime.fromtimestamp(now, tz=UTC).strftime("%Y-%m-%d")


class RateLimiter:
    """Burst and daily counters per key; thread-safe; time comes from `clock` (epoch seconds)."""

    def __init__(self, limits: Limits, *, clock: Callable[[], float]) -> None:
        self.limits = limits
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()

    def take(self, key: str, limits: Limits | None = None) -> RateDecision:
        """Count one request for `key` if both limits (`limits`, else the default) allow it."""
        return self._decide(key, consume=True, limits=limits)

    def refund(self, key: str) -> None:
        """Uncount the latest request of `key` (answered 429 after all, by an injected fault)."""
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket and bucket.window:
                bucket.window.pop()
                bucket.daily_used = max(0, bucket.daily_used - 1)

    def peek(self, key: str, limits: Limits | None = None) -> RateDecision:
        """The headers `key` would see now, counting nothing (for answers before auth)."""
        return self._decide(key, consume=False, limits=limits)

    def _decide(self, key: str, *, consume: bool, limits: Limits | None) -> RateDecision:
        now = self._clock()
        limits = limits or self.limits
        with self._lock:
            bucket = self._buckets.setdefault(key, _Bucket(deque(), _utc_day(now), 0))
            if bucket.day != _utc_day(now):
                bucket.day, bucket.daily_used = _utc_day(now), 0
            horizon = now - limits.burst_interval_ms / 1000
            while bucket.window and bucket.window[0] <= horizon:
                bucket.window.popleft()
            reason = None
            retry_after = None
            if len(bucket.window) >= limits.burst_max:
                reason = "burst"
                wait = bucket.window[0] + limits.burst_interval_ms / 1000 - now
                retry_after = max(1, math.ceil(wait))
            elif bucket.daily_used >= limits.daily_max:
                reason = "daily"
                retry_after = max(1, math.ceil(seconds_to_utc_midnight(now)))
            elif consume:
                bucket.window.append(now)
                bucket.daily_used += 1
            headers = {
                "X-RateLimit-Max": str(limits.burst_max),
                "X-RateLimit-Remaining": str(max(0, limits.burst_max - len(bucket.window))),
                "X-RateLimit-Interval-Milliseconds": str(limits.burst_interval_ms),
                "X-RateLimit-Limit-Daily": str(limits.daily_max),
                "X-RateLimit-Daily-Remaining": str(max(0, limits.daily_max - bucket.daily_used)),
            }
            return RateDecision(reason is None, headers, retry_after, reason)
