"""Where the rate limiter's window lives: one process (memory), or shared (database, Redis).

Every backend does the same two steps under its own lock — `acquire_step` and `observe_step`,
pure functions of (state, now) — so the arithmetic is written once and the backends differ
only in how they lock, load and save one small record per location.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from ghl.ratelimit import HeaderLimits


@dataclass
class WindowState:
    """Everything a limiter shares: the limits learnt from GHL and the recent request times."""

    burst_max: int
    interval: float
    daily_max: int
    daily_remaining: int
    daily_day: str
    stamps: list[float] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str | bytes) -> WindowState:
        return cls(**json.loads(text))


@dataclass(frozen=True)
class AcquireResult:
    acquired: bool
    wait: float
    daily_exhausted: bool
    state: WindowState
    slot: float | None = None  # the stamp taken, to settle when the answer comes


def _prune(state: WindowState, now: float) -> None:
    horizon = now - state.interval
    state.stamps = [s for s in state.stamps if s > horizon]
    state.stamps.sort()


def _roll_day(state: WindowState, day: str) -> None:
    if state.daily_day != day:
        state.daily_day = day
        state.daily_remaining = state.daily_max


def acquire_step(
    state: WindowState,
    *,
    now: float,
    capacity: Callable[[WindowState], int],
    daily_floor: Callable[[WindowState], int],
    day: str,
) -> AcquireResult:
    """Take a slot in `state` if one is free (mutating it), else say how long to wait."""
    _roll_day(state, day)
    _prune(state, now)
    if state.daily_remaining <= daily_floor(state):
        return AcquireResult(False, 0.0, True, state)
    cap = capacity(state)
    if len(state.stamps) < cap:
        state.stamps.append(now)
        state.daily_remaining -= 1
        return AcquireResult(True, 0.0, False, state, slot=now)
    # The slot frees when the oldest request that keeps us at capacity leaves the window.
    oldest = state.stamps[len(state.stamps) - cap]
    return AcquireResult(False, oldest + state.interval - now, False, state)


def settle_step(state: WindowState, *, now: float, slot: float) -> None:
    """Move a finished request's stamp from when it was sent to when its answer came.

    GHL counts a request when it arrives, somewhere between our send and its answer. Holding
    the slot until a window after the answer means it frees only once GHL's copy has left
    GHL's window too, however the latencies of concurrent requests vary.
    """
    # A slot already slid out of the window (a very slow answer) is simply counted from now.
    with contextlib.suppress(ValueError):
        state.stamps.remove(slot)
    state.stamps.append(now)


def observe_step(
    state: WindowState,
    *,
    now: float,
    limits: HeaderLimits | None,
    day: str,
    slot: float | None = None,
) -> None:
    """Fold one response's headers into `state` (GHL's figures are the truth), settle `slot`."""
    _roll_day(state, day)
    if slot is not None:
        settle_step(state, now=now, slot=slot)
    if limits is None:
        _prune(state, now)
        return
    if limits.interval_seconds:
        state.interval = limits.interval_seconds
    if limits.burst_max:
        state.burst_max = limits.burst_max
    _prune(state, now)
    if limits.burst_max is not None and limits.burst_remaining is not None:
        server_used = limits.burst_max - limits.burst_remaining
        missing = server_used - len(state.stamps)
        if missing > 0:
            # GHL counted requests we did not (another client, skew): stand them in as now.
            state.stamps.extend([now] * missing)
    if limits.daily_max:
        state.daily_max = limits.daily_max
    # Requests still in flight were already counted here; GHL's lower figure wins, and a much
    # higher one means GHL reset the day.
    if limits.daily_remaining is not None and (
        limits.daily_remaining < state.daily_remaining
        or limits.daily_remaining > state.daily_remaining + state.burst_max
    ):
        state.daily_remaining = limits.daily_remaining


_T = TypeVar("_T")


class Backend:
    """Where a limiter's window lives. Every backend runs the same steps on the loaded state
    inside its own `_locked` (a lock, a transaction, a Redis WATCH), the one thing it defines."""

    def _locked(self, key: str, defaults: WindowState, step: Callable[[WindowState], _T]) -> _T:
        raise NotImplementedError

    def try_acquire(
        self,
        key: str,
        *,
        now: float,
        defaults: WindowState,
        capacity: Callable[[WindowState], int],
        daily_floor: Callable[[WindowState], int],
        day: str,
    ) -> AcquireResult:
        return self._locked(
            key,
            defaults,
            lambda st: acquire_step(
                st, now=now, capacity=capacity, daily_floor=daily_floor, day=day
            ),
        )

    def observe(
        self,
        key: str,
        *,
        now: float,
        defaults: WindowState,
        limits: HeaderLimits | None,
        day: str,
        slot: float | None = None,
    ) -> None:
        self._locked(
            key,
            defaults,
            lambda st: observe_step(st, now=now, limits=limits, day=day, slot=slot),
        )

    def snapshot(self, key: str, *, now: float, defaults: WindowState) -> tuple[WindowState, int]:
        def read(st: WindowState) -> tuple[WindowState, int]:
            _prune(st, now)
            return replace(st, stamps=list(st.stamps)), len(st.stamps)

        return self._locked(key, defaults, read)


class MemoryBackend(Backend):
    """One process: threads share the window through a lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._states: dict[str, WindowState] = {}

    def _locked(self, key: str, defaults: WindowState, step: Callable[[WindowState], _T]) -> _T:
        with self._lock:
            state = self._states.setdefault(key, replace(defaults, stamps=[]))
            return step(state)


class RedisBackend(Backend):
    """Processes on any machine: the state is one Redis key, updated optimistically (WATCH)."""

    def __init__(self, url: str, *, prefix: str = "dealfinder:ghl-rate:") -> None:
        import redis

        # Bounded waits: a Redis that accepts and never answers must not hang every GHL call.
        self._redis = redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5)
        self._prefix = prefix

    def _locked(self, key: str, defaults: WindowState, step: Callable[[WindowState], _T]) -> _T:
        import redis

        name = self._prefix + key
        while True:
            with self._redis.pipeline() as pipe:
                try:
                    pipe.watch(name)  # type: ignore[no-untyped-call]  # redis-py: unannotated
                    raw = pipe.get(name)
                    state = WindowState.from_json(raw) if raw else replace(defaults, stamps=[])
                    result = step(state)
                    pipe.multi()
                    # Expire idle state after a day so a removed location leaves nothing behind.
                    pipe.set(name, state.to_json(), ex=86_400 * 2)
                    pipe.execute()
                    return result
                except redis.WatchError:
                    continue
