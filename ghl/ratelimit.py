"""Keep every DealFinder process sharing a GHL location under GHL's burst and daily limits.

GHL allows 100 requests per 10 s and 200,000 a day per app per location, and reports the truth
on every response (`X-RateLimit-Max`, `-Remaining`, `-Interval-Milliseconds`, `-Limit-Daily`,
`-Daily-Remaining`). The limiter keeps a sliding log of request start times in a backend shared
by all processes (memory for one process, the database or Redis for several), takes a slot
before each request, and after each response adopts the headers: the window and maximum become
GHL's, and when GHL has counted more requests than the log holds (another client, clock skew)
the log is topped up so we slow down instead of meeting a 429.

    limiter = RateLimiter(MemoryBackend(), key="loc_123")
    slot = limiter.acquire()                       # blocks until a slot is free
    limiter.observe(response.headers, slot=slot)   # or observe(None, slot=slot) on no answer
    limiter.remaining()               # Headroom(burst_remaining=..., daily_remaining=...)
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from ghl.errors import GHLDailyLimitError
from ghl.ratelimit_backends import Backend, MemoryBackend, WindowState

__all__ = ["Backend", "Headroom", "MemoryBackend", "RateLimiter", "parse_headers"]

GHL_BURST_MAX = 100
GHL_BURST_INTERVAL = 10.0
GHL_DAILY_MAX = 200_000


@dataclass(frozen=True)
class HeaderLimits:
    """The five X-RateLimit-* headers of one response (None where absent or malformed)."""

    burst_max: int | None
    burst_remaining: int | None
    interval_seconds: float | None
    daily_max: int | None
    daily_remaining: int | None


@dataclass(frozen=True)
class Headroom:
    """What is left, for the health check and the import summary."""

    burst_remaining: int
    burst_max: int
    interval_seconds: float
    daily_remaining: int
    daily_max: int

    @property
    def daily_share_left(self) -> float:
        return self.daily_remaining / self.daily_max if self.daily_max else 0.0


def _int(headers: Mapping[str, str], name: str) -> int | None:
    try:
        return int(float(headers[name]))
    except (KeyError, TypeError, ValueError):
        return None


def parse_headers(headers: Mapping[str, str]) -> HeaderLimits:
    """Read GHL's rate-limit headers (case-insensitive mapping, e.g. requests' headers)."""
    interval_ms = _int(headers, "X-RateLimit-Interval-Milliseconds")
    return HeaderLimits(
        burst_max=_int(headers, "X-RateLimit-Max"),
        burst_remaining=_int(headers, "X-RateLimit-Remaining"),
        interval_seconds=interval_ms / 1000 if interval_ms else None,
        daily_max=_int(headers, "X-RateLimit-Limit-Daily"),
        daily_remaining=_int(headers, "X-RateLimit-Daily-Remaining"),
    )


def _day(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d")


class RateLimiter:
    """A sliding-window limiter for one GHL location, shared through its backend."""

    def __init__(
        self,
        backend: Backend | None = None,
        *,
        key: str,
        burst_max: int = GHL_BURST_MAX,
        interval_seconds: float = GHL_BURST_INTERVAL,
        daily_max: int = GHL_DAILY_MAX,
        margin: float = 0.03,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if not 0 <= margin < 0.5:
            raise ValueError("margin must be in [0, 0.5)")
        self.backend = backend or MemoryBackend()
        self.key = key
        self.margin = margin
        self._clock = clock
        self._sleep = sleep
        # Defaults until GHL's headers say otherwise; the backend keeps what was learnt so
        # every process uses the same figures.
        self._defaults = WindowState(
            burst_max=burst_max,
            interval=interval_seconds,
            daily_max=daily_max,
            daily_remaining=daily_max,
            daily_day=_day(clock()),
        )
        self.waited_seconds = 0.0  # total time spent waiting for a slot (for reports)

    # -- capacity ---------------------------------------------------------------------------

    def _capacity(self, state: WindowState) -> int:
        return max(1, math.floor(state.burst_max * (1 - self.margin)))

    def _daily_floor(self, state: WindowState) -> int:
        return math.ceil(state.daily_max * self.margin)

    # -- the two calls around every request ---------------------------------------------------

    def acquire(self, *, max_wait: float | None = None) -> float:
        """Take a slot, sleeping as long as needed; return the slot, to pass to `observe`.

        Raises GHLDailyLimitError when the day's quota (less the margin) is used: waiting
        seconds would not help, so the caller should defer its work to tomorrow.
        """
        waited = 0.0
        while True:
            now = self._clock()
            result = self.backend.try_acquire(
                self.key,
                now=now,
                defaults=self._defaults,
                capacity=self._capacity,
                daily_floor=self._daily_floor,
                day=_day(now),
            )
            if result.acquired:
                self.waited_seconds += waited
                assert result.slot is not None
                return result.slot
            if result.daily_exhausted:
                raise GHLDailyLimitError(
                    "GHL daily request limit nearly used up "
                    f"({result.state.daily_remaining} of {result.state.daily_max} left, "
                    f"{self._daily_floor(result.state)} kept in reserve); try again after "
                    "the daily reset",
                    status=429,
                )
            wait = max(result.wait, 0.005)
            if max_wait is not None and waited + wait > max_wait:
                raise TimeoutError(f"no GHL rate-limit slot within {max_wait:.1f} s")
            self._sleep(wait)
            waited += wait

    def observe(self, headers: Mapping[str, str] | None, *, slot: float | None = None) -> None:
        """Adopt the limits and counts GHL reported on a response, and settle its `slot`.

        Call it for every request `acquire` let through, with `headers=None` when no answer
        came (GHL may still have counted it).
        """
        limits = parse_headers(headers) if headers is not None else None
        if limits is not None and limits.burst_max is None and limits.daily_remaining is None:
            limits = None
        if limits is None and slot is None:
            return
        now = self._clock()
        self.backend.observe(
            self.key, now=now, defaults=self._defaults, limits=limits, day=_day(now), slot=slot
        )

    def remaining(self) -> Headroom:
        """Burst and daily headroom as this limiter (and so every process sharing it) sees it."""
        now = self._clock()
        state, used = self.backend.snapshot(self.key, now=now, defaults=self._defaults)
        return Headroom(
            burst_remaining=max(0, state.burst_max - used),
            burst_max=state.burst_max,
            interval_seconds=state.interval,
            daily_remaining=state.daily_remaining,
            daily_max=state.daily_max,
        )
