"""Slack's platform rules as pure functions: rate allowance, ts, trigger_ids, response_urls."""

from __future__ import annotations

import pytest

from sandbox.slack_fake.policies import (
    TokenBucket,
    format_ts,
    next_ts_micros,
    response_url_problem,
    take_token,
    trigger_problem,
)


def _spend(times: int, *, at: float, bucket: TokenBucket | None = None) -> list[int | None]:
    waits = []
    for _ in range(times):
        bucket, wait = take_token(bucket, now=at, per_second=1.0, burst=3)
        waits.append(wait)
    return waits


def test_burst_then_one_per_second() -> None:
    assert _spend(4, at=100.0) == [None, None, None, 1]


@pytest.mark.parametrize(
    ("bucket", "now", "allowed", "retry_after"),
    [
        (TokenBucket(tokens=0.0, updated_at=100.0), 100.0, False, 1),
        (TokenBucket(tokens=0.0, updated_at=100.0), 100.99, False, 1),
        (TokenBucket(tokens=0.0, updated_at=100.0), 101.0, True, None),
        (TokenBucket(tokens=0.5, updated_at=100.0), 100.5, True, None),
        (TokenBucket(tokens=3.0, updated_at=100.0), 500.0, True, None),
    ],
)
def test_take_token_table(
    bucket: TokenBucket, now: float, allowed: bool, retry_after: int | None
) -> None:
    _, wait = take_token(bucket, now=now, per_second=1.0, burst=3)
    assert (wait is None) is allowed and wait == retry_after


def test_refill_never_exceeds_burst() -> None:
    bucket, _ = take_token(
        TokenBucket(tokens=0.0, updated_at=0.0), now=10_000.0, per_second=1.0, burst=3
    )
    assert bucket.tokens == 2.0


def test_slow_rate_asks_for_whole_seconds() -> None:
    _, wait = take_token(TokenBucket(0.0, 100.0), now=100.0, per_second=0.25, burst=1)
    assert wait == 4


@pytest.mark.parametrize(
    ("last", "now", "expected"),
    [
        (0, 1_700_000_000.0001, "1700000000.000100"),
        (1_700_000_000_000_100, 1_700_000_000.0001, "1700000000.000101"),  # same instant
        (1_700_000_005_000_000, 1_700_000_000.0, "1700000005.000001"),  # clock went back
    ],
)
def test_ts_always_moves_forward(last: int, now: float, expected: str) -> None:
    assert format_ts(next_ts_micros(last_micros=last, now=now)) == expected


@pytest.mark.parametrize(
    ("issued_at", "exchanged", "now", "problem"),
    [
        (100.0, False, 102.9, None),
        (100.0, False, 103.0, None),
        (100.0, False, 103.1, "expired_trigger_id"),
        (100.0, True, 101.0, "exchanged_trigger_id"),
        (None, False, 100.0, "expired_trigger_id"),
    ],
)
def test_trigger_ids_live_three_seconds_and_open_one_view(
    issued_at: float | None, exchanged: bool, now: float, problem: str | None
) -> None:
    assert trigger_problem(issued_at=issued_at, exchanged=exchanged, now=now, ttl=3.0) == problem


@pytest.mark.parametrize(
    ("uses", "age", "problem"),
    [
        (0, 0.0, None),
        (4, 1799.0, None),
        (5, 10.0, "used_up"),
        (0, 1801.0, "expired_url"),
    ],
)
def test_response_url_five_uses_thirty_minutes(uses: int, age: float, problem: str | None) -> None:
    assert (
        response_url_problem(issued_at=1000.0, uses=uses, now=1000.0 + age, max_uses=5, ttl=1800)
        == problem
    )
