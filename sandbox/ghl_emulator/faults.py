"""Injected failures: random shares (seeded, so a run can be replayed) and one-shot queues.

    emulator.set_faults(Faults(server_error=0.1, seed=7))        # ~10 % answer 500/502/503
    emulator.queue_fault("POST", "/conversations/messages", "server_error", times=2, status=503)
    emulator.queue_fault("POST", "/conversations/messages", "drop_after_commit")

Kinds: server_error, rate_limit (429 with Retry-After), rate_limit_no_retry_after, slow,
drop (connection closed, nothing handled) and drop_after_commit (handled and stored, then the
connection is closed: the client cannot know its call took effect).
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, fields
from fnmatch import fnmatchcase
from typing import Any

KINDS = (
    "server_error",
    "rate_limit",
    "rate_limit_no_retry_after",
    "slow",
    "drop",
    "drop_after_commit",
)
SERVER_ERROR_STATUSES = (500, 502, 503)


@dataclass(frozen=True)
class Faults:
    """Share (0..1) of requests that get each fault; `slow` adds `slow_seconds` on its own."""

    server_error: float = 0.0
    rate_limit_no_retry_after: float = 0.0
    slow: float = 0.0
    slow_seconds: float = 1.0
    drop: float = 0.0
    drop_after_commit: float = 0.0
    seed: int = 0

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Faults:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault settings: {', '.join(sorted(unknown))}")
        return cls(**data)


@dataclass(frozen=True)
class FaultDecision:
    """What to do to one request: `kind` None means answer normally (maybe after `delay`)."""

    kind: str | None = None
    status: int | None = None
    delay: float = 0.0
    queued: bool = False


@dataclass
class _Queued:
    method: str
    path_pattern: str
    kind: str
    times: int
    status: int | None
    seconds: float | None


class FaultPlan:
    """Decides, per request, which fault (if any) applies. Thread-safe."""

    def __init__(self, faults: Faults | None = None) -> None:
        self._lock = threading.Lock()
        self._queue: list[_Queued] = []
        self.set(faults or Faults())

    @property
    def faults(self) -> Faults:
        return self._faults

    def set(self, faults: Faults) -> None:
        with self._lock:
            self._faults = faults
            self._rng = random.Random(faults.seed)

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()
        self.set(Faults())

    def queue(
        self,
        method: str,
        path_pattern: str,
        kind: str,
        *,
        times: int = 1,
        status: int | None = None,
        seconds: float | None = None,
    ) -> None:
        """Make the next `times` matching requests fail with `kind` (path: template or glob)."""
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {', '.join(KINDS)}")
        if status is not None and (kind != "server_error" or status < 500):
            raise ValueError("status applies to server_error only, and must be 5xx")
        with self._lock:
            self._queue.append(_Queued(method.upper(), path_pattern, kind, times, status, seconds))

    def decide(self, method: str, template: str | None, path: str) -> FaultDecision:
        with self._lock:
            for entry in self._queue:
                if entry.method in ("*", method.upper()) and (
                    fnmatchcase(path, entry.path_pattern)
                    or (template is not None and fnmatchcase(template, entry.path_pattern))
                ):
                    entry.times -= 1
                    if entry.times <= 0:
                        self._queue.remove(entry)
                    return self._queued(entry)
            return self._random()

    def _queued(self, entry: _Queued) -> FaultDecision:
        if entry.kind == "slow":
            delay = entry.seconds if entry.seconds is not None else self._faults.slow_seconds
            return FaultDecision(None, None, delay, queued=True)
        status = entry.status
        if entry.kind == "server_error" and status is None:
            status = 503
        return FaultDecision(entry.kind, status, 0.0, queued=True)

    def _random(self) -> FaultDecision:
        faults = self._faults
        draw = self._rng.random()
        slow = self._rng.random() < faults.slow
        delay = faults.slow_seconds if slow else 0.0
        edge = 0.0
        for kind in ("server_error", "rate_limit_no_retry_after", "drop", "drop_after_commit"):
            edge += getattr(faults, kind)
            if draw < edge:
                status = self._rng.choice(SERVER_ERROR_STATUSES) if kind == "server_error" else None
                return FaultDecision(kind, status, delay)
        return FaultDecision(None, None, delay)
