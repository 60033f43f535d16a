"""The figures of bench/agency.py, as plain functions of the emulator's per-location counts.

    samples = [Sample.of(stats, at=time.monotonic()), ...]   # GET /_emulator/stats, every ~1 s
    start, end = busy_window(samples, ["loc_a", "loc_b"])     # every location working
    rates = window_rates(samples, start=start, end=end)       # req/s per location
    aggregate_percent(rates), share_spread_percent(rates)

GHL's burst limit is a sliding 10 s window, so any whole number of 10 s spans holds at most
100 requests per 10 s per location: windows are cut to whole 10 s spans and the burst a fresh
window allows is never counted as throughput.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

LIMIT_PER_SECOND = 10.0  # GHL: 100 requests per 10 s per app per location
BURST_SECONDS = 10.0


@dataclass(frozen=True)
class Sample:
    """Requests answered (any status) and 429s from the limits, per location, at `at`."""

    at: float
    requests: Mapping[str, int]
    rate_limited: Mapping[str, int]

    @classmethod
    def of(cls, stats: Mapping[str, Any], *, at: float) -> Sample:
        """From a `GET /_emulator/stats` answer."""
        found = stats.get("locations", {})
        return cls(
            at=at,
            requests={loc: int(v["requests"]) for loc, v in found.items()},
            rate_limited={loc: int(v["rate_limited"]) for loc, v in found.items()},
        )


def busy_window(
    samples: list[Sample], locations: Iterable[str], *, span: float = BURST_SECONDS
) -> tuple[float, float]:
    """From the first sample at which every location has called GHL to the last one at which
    none has finished yet, shortened to whole `span`s. ValueError when there is none."""
    wanted = list(locations)
    starts = [s.at for s in samples if all(s.requests.get(loc, 0) > 0 for loc in wanted)]
    if not starts:
        raise ValueError("no moment at which every location was calling GHL")
    start = starts[0]
    ends = [_last_growth(samples, loc) for loc in wanted]
    end = min(ends)
    whole = int((end - start) // span) * span
    if whole <= 0:
        raise ValueError(f"the locations worked side by side for less than {span:.0f} s")
    return start, start + whole


def _last_growth(samples: list[Sample], location_id: str) -> float:
    """When a location's count last went up (its queue ran dry just after)."""
    last = samples[0].at
    for before, after in itertools.pairwise(samples):
        if after.requests.get(location_id, 0) > before.requests.get(location_id, 0):
            last = after.at
    return last


def count_at(samples: list[Sample], at: float, location_id: str) -> float:
    """A location's request count at `at`, read linearly between the samples around it."""
    before = max((s for s in samples if s.at <= at), key=lambda s: s.at, default=samples[0])
    after = min((s for s in samples if s.at >= at), key=lambda s: s.at, default=samples[-1])
    low, high = before.requests.get(location_id, 0), after.requests.get(location_id, 0)
    if after.at == before.at:
        return float(low)
    return low + (high - low) * (at - before.at) / (after.at - before.at)


def window_rates(
    samples: list[Sample], *, start: float, end: float, locations: Iterable[str] | None = None
) -> dict[str, float]:
    """Requests per second of each location between `start` and `end`."""
    if end <= start:
        raise ValueError("the window must end after it starts")
    wanted = list(locations) if locations is not None else sorted(samples[-1].requests)
    return {
        loc: (count_at(samples, end, loc) - count_at(samples, start, loc)) / (end - start)
        for loc in wanted
    }


def aggregate_percent(
    rates: Mapping[str, float], *, limit_per_location: float = LIMIT_PER_SECOND
) -> float:
    """All locations' GHL throughput as a percentage of their summed limits (N x 10 req/s)."""
    if not rates:
        raise ValueError("no locations")
    return 100.0 * sum(rates.values()) / (limit_per_location * len(rates))


def share_spread_percent(rates: Mapping[str, float]) -> float:
    """How far apart the locations' shares are: the busiest over the least busy, minus 1, in
    percent (0: all equal; 20: the busiest got 1.2 times what the least busy got)."""
    if not rates:
        raise ValueError("no locations")
    low, high = min(rates.values()), max(rates.values())
    if low <= 0:
        return float("inf")
    return 100.0 * (high / low - 1)


def cpu_percent(*, ticks: int, seconds: float, ticks_per_second: int = 100) -> float:
    """A process's CPU use over `seconds` from its user + system clock ticks (/proc/PID/stat)."""
    if seconds <= 0:
        raise ValueError("seconds must be positive")
    return 100.0 * ticks / ticks_per_second / seconds
