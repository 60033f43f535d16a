"""A cheap, real check of a GHL connection: token valid, location reachable, headroom left."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

from ghl.client import GHLClient
from ghl.errors import GHLAuthError, GHLError, GHLPermissionError

DAILY_HEADROOM_ALERT = 0.10  # alert when less than 10 % of the day's quota is left
# The probe's own budget (connect, read), no retries: `dealfinder health` and `/readyz` answer
# within 10 s even when GHL accepts connections and never answers (the calls' own 30 s read
# timeout and 3 retries made that 128 s). The read budget leaves room for a GHL that is slow
# but answering (5 s in tests/test_bot_ack.py is still "healthy").
PROBE_TIMEOUT = (3.0, 7.0)


@dataclass
class GHLHealth:
    ok: bool
    state: str  # "healthy" | "degraded" | "down"
    location_name: str | None = None
    latency_ms: float | None = None
    burst_remaining: int | None = None
    burst_max: int | None = None
    daily_remaining: int | None = None
    daily_max: int | None = None
    problems: list[str] = field(default_factory=list)
    # What stopped the probe, for callers that explain it (the CLI's one line and exit code).
    error: Exception | None = field(default=None, repr=False, compare=False)

    def as_dict(self) -> dict[str, object]:
        return {k: v for k, v in asdict(self).items() if k != "error"}

    def render(self) -> str:
        lines = [f"GHL: {self.state.upper()}"]
        if self.location_name:
            lines.append(f"  location: {self.location_name} ({self.latency_ms:.0f} ms)")
        if self.burst_max:
            lines.append(f"  burst headroom: {self.burst_remaining}/{self.burst_max}")
        if self.daily_max:
            lines.append(f"  daily headroom: {self.daily_remaining:,}/{self.daily_max:,}")
        lines += [f"  problem: {p}" for p in self.problems]
        return "\n".join(lines)


def check_ghl(client: GHLClient, *, timeout: tuple[float, float] = PROBE_TIMEOUT) -> GHLHealth:
    """One `GET /locations/{id}`: proves the token, the location and the network in one call,
    within `timeout` (connect, read) and without retries."""
    started = time.perf_counter()
    try:
        location = client.with_budget(timeout=timeout).locations.get()
    except (GHLAuthError, GHLPermissionError) as exc:
        return GHLHealth(ok=False, state="down", problems=[str(exc)], error=exc)
    except GHLError as exc:
        return GHLHealth(
            ok=False, state="down", problems=[f"GHL unreachable or failing: {exc}"], error=exc
        )
    except Exception as exc:  # the rate limiter's shared window (Redis, the database) failed
        return GHLHealth(
            ok=False,
            state="down",
            problems=[f"the rate limiter's store failed ({type(exc).__name__})"],
            error=exc,
        )
    latency = (time.perf_counter() - started) * 1000
    room = client.remaining()
    health = GHLHealth(
        ok=True,
        state="healthy",
        location_name=location.name or location.id,
        latency_ms=latency,
        burst_remaining=room.burst_remaining,
        burst_max=room.burst_max,
        daily_remaining=room.daily_remaining,
        daily_max=room.daily_max,
    )
    if room.daily_share_left < DAILY_HEADROOM_ALERT:
        health.state = "degraded"
        health.problems.append(
            f"only {room.daily_share_left:.0%} of today's GHL quota left "
            f"({room.daily_remaining:,} of {room.daily_max:,}); bulk imports will stop first"
        )
    return health
