"""The intake API's pure parts, as parameter tables: reading DEALFINDER_API_TOKEN, the
per-token bucket, and when a worked-but-failed queue item is tried again."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.web.api_tokens import bucket_wait, parse_api_tokens, retry_after_header
from ghl.errors import GHLAuthError, GHLDailyLimitError, GHLServerError
from services.intake.worker import (
    BUSY_RETRY,
    MAX_ATTEMPTS,
    RETRY_LATER,
    RETRY_SOON,
    DealBusy,
    retry_delay,
)

A = "a" * 24
B = "b" * 32


@pytest.mark.parametrize(
    ("text", "names"),
    [
        (A, ["default"]),
        (f"analysis:{A}", ["analysis"]),
        (f" analysis : {A} , backfill:{B} ", ["analysis", "backfill"]),
        (f'{{"analysis": "{A}", "backfill": "{B}"}}', ["analysis", "backfill"]),
        (f"ci.bot-1:{A}", ["ci.bot-1"]),
    ],
)
def test_token_formats(text: str, names: list[str]) -> None:
    assert parse_api_tokens(text).names == names


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("short", "at least 24 characters"),
        (f"analysis:{A},{B}", "entry 2 is not name:token"),
        (f"analysis:{A},analysis:{B}", "given twice"),
        (f"one:{A},two:{A}", "share one token"),
        (f"bad name:{A}", "is not a token name"),
        (f"analysis:{A[:-1]} x", "at least 24 characters"),
        ('{"analysis": 5}', "must map names to tokens"),
        ("{broken", "not valid JSON"),
    ],
)
def test_token_refusals_name_the_problem_not_the_token(text: str, problem: str) -> None:
    with pytest.raises(ValueError) as refused:
        parse_api_tokens(text)
    assert problem in str(refused.value)
    assert A not in str(refused.value) and B not in str(refused.value)


def test_a_token_is_found_by_its_value_and_only_by_it() -> None:
    tokens = parse_api_tokens(f"analysis:{A},backfill:{B}")
    assert tokens.name_for(B) == "backfill"
    assert tokens.name_for(A) == "analysis"
    assert tokens.name_for(A[:-1]) is None and tokens.name_for("") is None
    assert A not in repr(tokens)


@pytest.mark.parametrize(
    ("tokens", "capacity", "refill", "wait"),
    [
        (5.0, 60, 1.0, 0.0),
        (1.0, 60, 1.0, 0.0),
        (0.5, 60, 1.0, 0.5),
        (0.0, 2, 2 / 60, 30.0),
        (0.0, 60, 1.0, 1.0),
    ],
)
def test_bucket_wait(tokens: float, capacity: float, refill: float, wait: float) -> None:
    assert bucket_wait(tokens=tokens, capacity=capacity, refill_per_second=refill) == (
        pytest.approx(wait)
    )


@pytest.mark.parametrize(("wait", "header"), [(0.01, "1"), (1.0, "1"), (29.2, "30")])
def test_retry_after_is_whole_seconds_never_zero(wait: float, header: str) -> None:
    assert retry_after_header(wait) == header


@pytest.mark.parametrize(
    ("error", "attempts", "delay"),
    [
        (GHLServerError("boom", status=500), 1, RETRY_SOON),
        (GHLServerError("boom", status=500), 3, RETRY_SOON * 3),
        (GHLDailyLimitError("daily", status=429), 1, RETRY_LATER),
        (GHLAuthError("refused", status=401), 2, RETRY_LATER),
        (DealBusy("busy"), 2, BUSY_RETRY),
        (OSError("disk"), MAX_ATTEMPTS - 1, RETRY_SOON * (MAX_ATTEMPTS - 1)),
        (GHLServerError("boom", status=500), MAX_ATTEMPTS, None),
    ],
)
def test_retry_delay(error: BaseException, attempts: int, delay: timedelta | None) -> None:
    assert retry_delay(error=error, attempts=attempts) == delay
