"""Retry decisions are a pure function: a parameter table says which errors retry, and when."""

import pytest

from ghl.errors import (
    GHLAuthError,
    GHLBadRequestError,
    GHLConnectionError,
    GHLDailyLimitError,
    GHLNotFoundError,
    GHLRateLimitError,
    GHLServerError,
    GHLTimeoutError,
    GHLValidationError,
    error_from_response,
)
from ghl.ratelimit import HeaderLimits
from ghl.retry import RetryPolicy, backoff_delay, retry_delay

POLICY = RetryPolicy(max_retries=3, base_delay=1.0, jitter=0.2)
MID = lambda: 0.5  # noqa: E731 - jitter fixed at its midpoint: no jitter


def limits(remaining, interval=10.0, daily=1000):
    return HeaderLimits(100, remaining, interval, 200_000, daily)


@pytest.mark.parametrize(
    ("error", "idempotent", "attempt", "expected"),
    [
        (GHLServerError("x", status=500), True, 1, 1.0),
        (GHLServerError("x", status=503), True, 2, 2.0),
        (GHLServerError("x", status=502), True, 3, 4.0),
        (GHLServerError("x", status=500), True, 4, None),  # attempts exhausted
        (GHLServerError("x", status=500), False, 1, None),  # create may have happened
        (GHLConnectionError("x"), True, 1, 1.0),
        (GHLConnectionError("x"), False, 1, None),  # request sent: outcome unknown
        (GHLConnectionError("x", request_sent=False), False, 1, 1.0),  # never left: safe
        (GHLTimeoutError("x"), False, 1, None),
        (GHLAuthError("x", status=401), True, 1, None),
        (GHLNotFoundError("x", status=404), True, 1, None),
        (GHLValidationError("x", status=422), True, 1, None),
        (GHLBadRequestError("x", status=400), True, 1, None),
        (GHLRateLimitError("x", retry_after=7), False, 1, 7.0),  # 429 is never processed
        (GHLRateLimitError("x", limits=limits(0)), True, 1, 10.0),  # empty window: wait it out
        (GHLRateLimitError("x", limits=limits(40)), True, 2, 2.0),  # room left: short backoff
        (GHLRateLimitError("x"), True, 1, 60.0),  # no headers at all: seed's last resort
        (GHLRateLimitError("x", retry_after=500), True, 1, 120.0),  # capped
        (GHLDailyLimitError("x"), True, 1, None),  # waiting seconds will not help
    ],
)
def test_retry_delay_table(error, idempotent, attempt, expected):
    got = retry_delay(error, attempt=attempt, policy=POLICY, idempotent=idempotent, rand=MID)
    assert got == expected


@pytest.mark.parametrize(
    ("rand", "attempt", "low", "high"),
    [(0.0, 1, 0.8, 0.8), (1.0, 1, 1.2, 1.2), (0.0, 3, 3.2, 3.2), (1.0, 3, 4.8, 4.8)],
)
def test_backoff_jitter_bounds(rand, attempt, low, high):
    delay = backoff_delay(attempt, policy=POLICY, rand=lambda: rand)
    assert low - 1e-9 <= delay <= high + 1e-9


def test_backoff_is_capped():
    policy = RetryPolicy(max_delay=5.0, jitter=0)
    assert backoff_delay(10, policy=policy, rand=MID) == 5.0


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, GHLBadRequestError),
        (401, GHLAuthError),
        (404, GHLNotFoundError),
        (422, GHLValidationError),
        (429, GHLRateLimitError),
        (500, GHLServerError),
        (503, GHLServerError),
    ],
)
def test_status_maps_to_class(status, cls):
    err = error_from_response(status=status, body={"message": "m"}, method="GET", path="/x")
    assert type(err) is cls
    assert err.status == status and err.method == "GET" and err.path == "/x"


def test_429_with_daily_quota_gone_is_a_daily_limit_error():
    err = error_from_response(
        status=429, body={}, method="GET", path="/x", limits=limits(50, daily=0)
    )
    assert isinstance(err, GHLDailyLimitError)


def test_401_names_the_setting_to_fix():
    err = error_from_response(status=401, body={"message": "Invalid JWT"}, method="GET", path="/x")
    assert "GHL_API_KEY" in str(err) and "Invalid JWT" in str(err)


def test_validation_error_lists_ghl_messages():
    body = {
        "statusCode": 422,
        "message": ["contactId should not be empty", "name must be a string"],
    }
    err = error_from_response(status=422, body=body, method="POST", path="/opportunities/")
    assert err.messages == ["contactId should not be empty", "name must be a string"]
    assert "contactId should not be empty" in str(err)
