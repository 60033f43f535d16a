"""When to retry a GHL call and how long to wait: pure functions of their inputs.

Randomness (jitter) is passed in so tests fix it; the transport owns the loop and the sleeping.

    policy = RetryPolicy(max_retries=3)
    wait = retry_delay(error, attempt=1, policy=policy, idempotent=True, rand=random.random)
    if wait is None: raise error
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ghl.errors import (
    GHLConnectionError,
    GHLDailyLimitError,
    GHLError,
    GHLRateLimitError,
    GHLServerError,
)


@dataclass(frozen=True)
class RetryPolicy:
    """How hard the transport tries. Defaults follow the seed: 3 retries, 1 s, 2 s, 4 s."""

    max_retries: int = 3
    base_delay: float = 1.0
    max_delay: float = 30.0
    jitter: float = 0.2  # +/- this share of each backoff delay
    # The seed's 60 s is the last resort for a 429 that carries neither Retry-After nor
    # rate-limit headers; with headers we wait for the burst window instead.
    rate_limit_fallback: float = 60.0
    max_rate_limit_wait: float = 120.0


def backoff_delay(attempt: int, *, policy: RetryPolicy, rand: Callable[[], float]) -> float:
    """Exponential backoff with jitter: attempt 1 -> ~1 s, 2 -> ~2 s, 3 -> ~4 s (capped)."""
    base = min(policy.base_delay * 2.0 ** (attempt - 1), policy.max_delay)
    spread = base * policy.jitter
    return max(0.0, base - spread + 2 * spread * rand())


def rate_limit_delay(
    error: GHLRateLimitError, *, attempt: int, policy: RetryPolicy, rand: Callable[[], float]
) -> float:
    """How long a 429 asks us to wait.

    `Retry-After` when GHL sends it (it often does not: seed, "GHL API Limitations" 7).
    Else the rate-limit headers decide: an empty burst window is waited out in full; a 429
    while the headers still show room is not about our pace, so a short backoff does.
    With no headers at all, the seed's 60 s is the last resort.
    """
    if error.retry_after is not None and error.retry_after >= 0:
        return min(float(error.retry_after), policy.max_rate_limit_wait)
    limits = error.limits
    if limits is not None and limits.burst_remaining is not None:
        if limits.burst_remaining <= 0 and limits.interval_seconds:
            return min(float(limits.interval_seconds), policy.max_rate_limit_wait)
        return backoff_delay(attempt, policy=policy, rand=rand)
    return policy.rate_limit_fallback


def retry_delay(
    error: GHLError,
    *,
    attempt: int,
    policy: RetryPolicy,
    idempotent: bool,
    rand: Callable[[], float],
) -> float | None:
    """Seconds to wait before retry number `attempt`, or None when the call must not be retried.

    A non-idempotent call (create, send) is retried only when GHL cannot have acted on it:
    a 429 (rejected before processing) or a connection that never carried the request.
    A 5xx or a lost response may hide a success, so those are left to the caller, who looks
    before re-creating.
    """
    if attempt > policy.max_retries or isinstance(error, GHLDailyLimitError):
        return None
    if isinstance(error, GHLRateLimitError):
        return rate_limit_delay(error, attempt=attempt, policy=policy, rand=rand)
    if isinstance(error, GHLConnectionError):
        if idempotent or not error.request_sent:
            return backoff_delay(attempt, policy=policy, rand=rand)
        return None
    if isinstance(error, GHLServerError) and idempotent:
        return backoff_delay(attempt, policy=policy, rand=rand)
    return None
