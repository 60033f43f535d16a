"""Rate limits: burst window and daily count per token, their headers, and Retry-After."""

from __future__ import annotations

from datetime import UTC, datetime

from freezegun import freeze_time

from sandbox.ghl_emulator.config import system_clock
from sandbox.ghl_emulator.limits import Limits, RateLimiter
from tests.fixtures.emulator import GHLHttp

RATE_HEADERS = (
    "X-RateLimit-Max",
    "X-RateLimit-Remaining",
    "X-RateLimit-Interval-Milliseconds",
    "X-RateLimit-Limit-Daily",
    "X-RateLimit-Daily-Remaining",
)


class FakeClock:
    """Epoch seconds that move only when a test says so."""

    def __init__(self, at: datetime) -> None:
        self.now = at.timestamp()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def test_burst_limit_counts_down_then_refuses(make_emulator):
    clock = FakeClock(datetime(2025, 3, 1, 12, 0, tzinfo=UTC))
    emulator = make_emulator(burst_max=20, burst_interval_ms=1_000, clock=clock)
    http = GHLHttp(emulator.url)
    remaining = []
    for _ in range(20):
        response = http.get("/locations/loc_demo")
        assert response.status_code == 200
        remaining.append(int(response.headers["X-RateLimit-Remaining"]))
    assert remaining == list(range(19, -1, -1))

    refused = http.get("/locations/loc_demo")
    assert refused.status_code == 429
    assert refused.json()["message"] == "Too Many Requests"
    assert refused.headers["Retry-After"] == "1"
    assert {h: refused.headers[h] for h in RATE_HEADERS} == {
        "X-RateLimit-Max": "20",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Interval-Milliseconds": "1000",
        "X-RateLimit-Limit-Daily": "200000",
        "X-RateLimit-Daily-Remaining": "199980",  # the refused call did not count
    }
    assert emulator.stats["rate_limited"] == {"limit": 1, "injected": 0}

    clock.advance(1.0)
    again = http.get("/locations/loc_demo")
    assert again.status_code == 200 and again.headers["X-RateLimit-Remaining"] == "19"


def test_window_slides_rather_than_resets(make_emulator):
    clock = FakeClock(datetime(2025, 3, 1, 12, 0, tzinfo=UTC))
    emulator = make_emulator(burst_max=2, burst_interval_ms=1_000, clock=clock)
    http = GHLHttp(emulator.url)
    assert http.get("/locations/loc_demo").status_code == 200
    clock.advance(0.6)
    assert http.get("/locations/loc_demo").status_code == 200
    clock.advance(0.5)  # the first call left the window, the second has 0.5 s to go
    assert http.get("/locations/loc_demo").status_code == 200
    refused = http.get("/locations/loc_demo")
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"


def test_daily_limit_resets_at_utc_midnight(make_emulator):
    clock = FakeClock(datetime(2025, 3, 1, 23, 59, 58, tzinfo=UTC))
    emulator = make_emulator(daily_max=3, clock=clock)
    http = GHLHttp(emulator.url)
    daily = [http.get("/locations/loc_demo").headers["X-RateLimit-Daily-Remaining"] for _ in "abc"]
    assert daily == ["2", "1", "0"]
    refused = http.get("/locations/loc_demo")
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "2"
    clock.advance(2.5)  # 00:00:00.5 UTC on 2 March
    fresh = http.get("/locations/loc_demo")
    assert fresh.status_code == 200 and fresh.headers["X-RateLimit-Daily-Remaining"] == "2"


def test_limits_are_per_token(make_emulator):
    emulator = make_emulator(tokens={"a": "loc_demo", "b": "loc_demo"}, burst_max=1)
    assert GHLHttp(emulator.url, "a").get("/locations/loc_demo").status_code == 200
    assert GHLHttp(emulator.url, "a").get("/locations/loc_demo").status_code == 429
    assert GHLHttp(emulator.url, "b").get("/locations/loc_demo").status_code == 200


def test_retry_after_can_be_left_out(make_emulator):
    emulator = make_emulator(burst_max=1, send_retry_after=False)
    http = GHLHttp(emulator.url)
    http.get("/locations/loc_demo")
    refused = http.get("/locations/loc_demo")
    assert refused.status_code == 429 and "Retry-After" not in refused.headers
    assert all(h in refused.headers for h in RATE_HEADERS)


def test_every_answer_carries_the_headers(emulator, ghl_http):
    emulator.expect_request_violations(1)
    answers = [
        ghl_http.get("/locations/loc_demo"),  # 200
        ghl_http.get("/contacts/nope"),  # 404 from the handler
        ghl_http.get("/nowhere"),  # 404 route
        ghl_http.get("/contacts/nope", token="bad"),  # 401
        ghl_http.get("/contacts/nope", version=None),  # 400
    ]
    assert [a.status_code for a in answers] == [200, 404, 404, 401, 400]
    for answer in answers:
        assert all(h in answer.headers for h in RATE_HEADERS)


def test_daily_reset_under_freezegun():
    limiter = RateLimiter(Limits(daily_max=2), clock=system_clock)
    with freeze_time("2025-06-30 23:59:59.5") as frozen:
        assert limiter.take("t").allowed and limiter.take("t").allowed
        refused = limiter.take("t")
        assert (refused.allowed, refused.reason, refused.retry_after) == (False, "daily", 1)
        frozen.tick(1.0)
        fresh = limiter.take("t")
        assert fresh.allowed and fresh.headers["X-RateLimit-Daily-Remaining"] == "1"
