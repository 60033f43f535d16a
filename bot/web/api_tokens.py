"""Who may call the intake API, and how often: named bearer tokens and a per-token rate limit.

`DEALFINDER_API_TOKEN` holds one or more named tokens, either as ``name:token`` pairs
separated by commas or as a JSON object ``{"name": "token"}``; a single bare token is named
``default``. Names appear in logs and in the queue (which caller sent what), tokens never.

    tokens = parse_api_tokens("analysis:Xq3...,backfill:9Fk...")
    tokens.name_for("Xq3...")          # "analysis" (constant-time compare), None if unknown
    limiter = RateLimiter(per_minute=60)
    limiter.take("analysis")           # 0.0: allowed; > 0: seconds until the next is
"""

from __future__ import annotations

import hmac
import json
import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import SecretStr

MIN_TOKEN_LENGTH = 24
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_TOKEN = re.compile(r"^[A-Za-z0-9._~+/=-]+$")  # RFC 6750 b64token
MAKE_ONE = "python -c 'import secrets; print(secrets.token_urlsafe(32))'"


@dataclass(frozen=True)
class ApiTokens:
    """Named tokens; compare with `name_for`, which looks at every token in constant time."""

    tokens: tuple[tuple[str, SecretStr], ...]

    def name_for(self, presented: str) -> str | None:
        given = presented.encode()
        found = None
        for name, secret in self.tokens:  # no early exit: the time says nothing about a match
            if hmac.compare_digest(given, secret.get_secret_value().encode()):
                found = name
        return found

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.tokens]


def parse_api_tokens(text: str) -> ApiTokens:
    """The tokens in a `DEALFINDER_API_TOKEN` value; ValueError naming what is wrong (never
    the token itself)."""
    text = text.strip()
    pairs: list[tuple[str, str]]
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            raise ValueError('is not valid JSON (expected {"name": "token", ...})') from None
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise ValueError('must map names to tokens: {"name": "token", ...}')
        pairs = list(data.items())
    elif ":" not in text and "," not in text:
        pairs = [("default", text)]
    else:
        pairs = []
        for number, part in enumerate(text.split(","), start=1):
            name, sep, token = part.strip().partition(":")
            if not sep:
                raise ValueError(f"entry {number} is not name:token")
            pairs.append((name.strip(), token.strip()))
    if not pairs:
        raise ValueError("names no token")
    seen: set[str] = set()
    for name, token in pairs:
        if not _NAME.match(name):
            raise ValueError(f"{name[:70]!r} is not a token name (letters, digits, . _ -)")
        if name in seen:
            raise ValueError(f"the name {name!r} is given twice")
        seen.add(name)
        if len(token) < MIN_TOKEN_LENGTH or not _TOKEN.match(token):
            raise ValueError(
                f"the token named {name!r} must be at least {MIN_TOKEN_LENGTH} characters of "
                f"letters, digits and -._~+/= (make one with {MAKE_ONE})"
            )
    tokens = [token for _, token in pairs]
    if len(set(tokens)) != len(tokens):
        raise ValueError("two names share one token (each caller needs its own)")
    return ApiTokens(tuple((name, SecretStr(token)) for name, token in pairs))


def bucket_wait(*, tokens: float, capacity: float, refill_per_second: float) -> float:
    """Seconds until a bucket holding `tokens` has one to spend (0 when it has one now)."""
    if tokens >= 1:
        return 0.0
    return min(capacity, 1 - tokens) / refill_per_second


class RateLimiter:
    """A token bucket per caller: `per_minute` requests a minute, bursts up to that many.

    Kept in the process: `dealfinder serve` is one process, so one bucket per caller is exact.
    """

    def __init__(self, *, per_minute: int, clock: Callable[[], float] = time.monotonic):
        self.capacity = float(per_minute)
        self.refill = per_minute / 60.0
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # name -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, name: str) -> float:
        """Spend one request for `name`: 0.0 if allowed, else seconds to wait (Retry-After)."""
        with self._lock:
            now = self.clock()
            tokens, at = self._buckets.get(name, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - at) * self.refill)
            wait = bucket_wait(tokens=tokens, capacity=self.capacity, refill_per_second=self.refill)
            if wait == 0:
                tokens -= 1
            self._buckets[name] = (tokens, now)
            return wait


def retry_after_header(wait: float) -> str:
    """`Retry-After` in whole seconds, never 0 for a refused request."""
    return str(max(1, math.ceil(wait)))
