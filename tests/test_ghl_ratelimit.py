"""The limiter's arithmetic, on an injected clock: slots, waits, headers as the truth, daily."""

import pytest

from ghl.errors import GHLDailyLimitError
from ghl.ratelimit import MemoryBackend, RateLimiter, parse_headers


class Clock:
    """A clock that only moves when the limiter sleeps: no real waiting in these tests."""

    def __init__(self, start=1_800_000_000.0):
        self.now = start
        self.slept = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


def headers(*, max_=100, remaining, interval_ms=10_000, daily=200_000, daily_left=199_000):
    return {
        "X-RateLimit-Max": str(max_),
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Interval-Milliseconds": str(interval_ms),
        "X-RateLimit-Limit-Daily": str(daily),
        "X-RateLimit-Daily-Remaining": str(daily_left),
    }


def make(clock, **kw):
    kw.setdefault("margin", 0.0)
    return RateLimiter(MemoryBackend(), key="loc", clock=clock, sleep=clock.sleep, **kw)


def test_burst_capacity_then_waits_for_the_oldest_to_leave_the_window():
    clock = Clock()
    limiter = make(clock, burst_max=10, interval_seconds=1.0)
    start = clock.now
    for _ in range(10):
        assert limiter.acquire() == start  # the slot is the request's stamp
    clock.now += 0.25
    limiter.acquire()
    assert clock.slept == [pytest.approx(0.75)]  # the first request leaves the window at t0 + 1 s


def test_a_slot_is_held_until_a_window_after_the_answer():
    """GHL counts a request on arrival, which can be as late as the answer."""
    clock = Clock()
    limiter = make(clock, burst_max=2, interval_seconds=1.0)
    first = limiter.acquire()
    limiter.acquire()
    clock.now += 0.4  # the first answer comes 0.4 s after sending
    limiter.observe(headers(max_=2, remaining=0, interval_ms=1000), slot=first)
    clock.now += 0.7  # 1.1 s after sending, 0.7 s after the answer
    limiter.acquire()
    # the second slot (sent at t0, never answered) freed at t0 + 1 s: no wait for it
    assert clock.slept == []
    limiter.acquire()
    assert clock.slept == [pytest.approx(0.3)]  # the first frees 1 s after its answer


def test_margin_keeps_a_reserve():
    clock = Clock()
    limiter = make(clock, burst_max=100, interval_seconds=10.0, margin=0.03)
    for _ in range(97):
        limiter.acquire()
    assert clock.slept == []
    limiter.acquire()
    assert clock.slept and sum(clock.slept) == pytest.approx(10.0)


def test_sustained_rate_equals_capacity_per_window():
    clock = Clock()
    limiter = make(clock, burst_max=100, interval_seconds=10.0, margin=0.02)
    start = clock.now
    for _ in range(980):
        limiter.acquire()
    elapsed = clock.now - start
    # 98 per 10 s -> 980 requests take 90 s (the first 98 are free)
    assert elapsed == pytest.approx(90.0)


def test_headers_override_the_defaults():
    clock = Clock()
    limiter = make(clock, burst_max=100, interval_seconds=10.0)
    limiter.observe(headers(max_=20, remaining=19, interval_ms=2000))
    room = limiter.remaining()
    assert (room.burst_max, room.interval_seconds) == (20, 2.0)


def test_server_count_tops_up_the_local_log():
    """Another client used 60 of 100: we must slow down instead of meeting a 429."""
    clock = Clock()
    limiter = make(clock)
    limiter.acquire()
    limiter.observe(headers(remaining=40))
    assert limiter.remaining().burst_remaining == 40
    for _ in range(40):
        limiter.acquire()
    assert clock.slept == []
    limiter.acquire()
    assert clock.slept  # the 101st in the window waits


def test_daily_limit_raises_instead_of_sleeping_for_hours():
    clock = Clock()
    limiter = make(clock, margin=0.01)
    limiter.observe(headers(remaining=99, daily=200_000, daily_left=2_001))
    limiter.acquire()  # 2,000 left, floor is 2,000
    with pytest.raises(GHLDailyLimitError, match="daily"):
        limiter.acquire()


def test_daily_quota_comes_back_on_a_new_utc_day():
    clock = Clock(start=1_800_000_000.0)  # 2027-01-15 08:00 UTC
    limiter = make(clock, margin=0.01)
    limiter.observe(headers(remaining=99, daily_left=100))
    with pytest.raises(GHLDailyLimitError):
        limiter.acquire()
    clock.now += 86_400
    limiter.acquire()
    assert clock.slept == []


def test_lower_daily_header_wins_higher_one_within_a_burst_does_not():
    clock = Clock()
    limiter = make(clock)
    limiter.observe(headers(remaining=99, daily_left=150_000))
    assert limiter.remaining().daily_remaining == 150_000
    limiter.acquire()
    limiter.observe(headers(remaining=99, daily_left=150_000))  # a stale, in-flight figure
    assert limiter.remaining().daily_remaining == 149_999


def test_parse_headers_tolerates_missing_and_garbage():
    parsed = parse_headers({"X-RateLimit-Max": "abc", "X-RateLimit-Remaining": "5"})
    assert parsed.burst_max is None and parsed.burst_remaining == 5 and parsed.daily_max is None


def test_max_wait_bounds_the_wait():
    clock = Clock()
    limiter = make(clock, burst_max=1, interval_seconds=60.0)
    limiter.acquire()
    with pytest.raises(TimeoutError):
        limiter.acquire(max_wait=1.0)
