"""Agency scale (issue 14): many GHL locations importing at once in one deployment.

GHL's limits are per app per location (100 requests per 10 s each), so ten locations give a
deployment ten times the GHL capacity of one -- if it is built for it. Processes: the GHL
emulator (`--locations`, GHL's real limits per location), `--workers` `dealfinder worker`
processes sharing the locations through leases in a PostgreSQL store (a schema of its own on
127.0.0.1:5432/test, dropped at the end), and this one, which installs the app for the agency
(the real `/ghl/install` -> GHL chooser -> `/ghl/oauth/callback`: one company install, a token
pair per location), queues properties with `services.intake.queue.submit_properties` and
watches `GET /_emulator/stats` (per location) once a second.

1. Baseline: one location alone (the others idle): its req/s against its 10 req/s limit.
2. All `--locations` at once: "aggregate N %" of N x 10 req/s over the window in which all
   were working (whole 10 s spans), 429s from the limits, each location's req/s and how far
   apart the shares are. Target: >= 90 %, zero 429s, shares within 20 %.
3. Every queued property worked once: one opportunity per property scoring at least
   `thresholds.min_import`, at its own location; no call refused by GHL as reaching another
   location's record (403).
4. `--idle` installed locations with nothing queued, one worker: its CPU % and memory (RSS)
   per location, against the same worker holding one location.

    .venv/bin/python bench/agency.py [--locations 10] [--properties 150] [--idle 50]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.agency_figures import (
    Sample,
    aggregate_percent,
    busy_window,
    share_spread_percent,
    window_rates,
)
from bench.agency_world import TICKS, AgencyWorld, Worker, idle_figures
from bench.slack_ack import free_port
from sandbox.ghl_emulator.agency import agency_location_ids
from services.config import load_deal_config
from services.pipeline.rules import is_named_for
from tests.fixtures.pipeline import property_row

TARGET_AGGREGATE, MAX_SPREAD = 90.0, 20.0


def rows_for(location_number: int, phase: int, count: int) -> list[dict]:
    """`count` properties of one location in one phase, none shared with another."""
    base = phase * 100_000 + location_number * 1_000
    return [property_row(base + k) for k in range(count)]


def watch(world: AgencyWorld, *, until_done: int, stall_seconds: float = 120.0) -> list[Sample]:
    """Sample the emulator's per-location stats every second until the queue is worked, or
    nothing more was worked for `stall_seconds` (an item waiting for a retry in 15 minutes:
    the opportunity check then names what is missing)."""
    samples: list[Sample] = []
    done, moved = -1, time.monotonic()
    while True:
        samples.append(Sample.of(world.stats(), at=time.monotonic()))
        now_done = world.worked()
        if now_done >= until_done or time.monotonic() - moved > stall_seconds:
            return samples
        if now_done != done:
            done, moved = now_done, time.monotonic()
        time.sleep(1.0)


def delta(samples: list[Sample], first: Sample) -> list[Sample]:
    """Counts since `first` (the phase's own requests only)."""
    return [
        Sample(
            at=s.at,
            requests={k: v - first.requests.get(k, 0) for k, v in s.requests.items()},
            rate_limited={k: v - first.rate_limited.get(k, 0) for k, v in s.rate_limited.items()},
        )
        for s in samples
    ]


def run_phase(
    world: AgencyWorld, locations: list[str], rows: dict[str, list[dict]], workers: list[Worker]
) -> dict:
    before = Sample.of(world.stats(), at=time.monotonic())
    ticks = sum(w.ticks() for w in workers)
    queued = world.worked() + world.queue(rows)
    samples = delta(watch(world, until_done=queued), before)
    start, end = busy_window(samples, locations)
    rates = window_rates(samples, start=start, end=end, locations=locations)
    limited = sum(samples[-1].rate_limited.get(loc, 0) for loc in locations)
    cpu = (sum(w.ticks() for w in workers) - ticks) / TICKS
    calls = sum(samples[-1].requests.get(loc, 0) for loc in locations)
    return {"rates": rates, "seconds": end - start, "limited": limited, "cpu_ms": cpu / calls * 1e3}


def opportunity_check(world: AgencyWorld, rows: dict[str, list[dict]]) -> list[str]:
    """Properties that did not end as exactly one opportunity at their own location."""
    floor = load_deal_config(None).thresholds.min_import
    by_location: dict[str, list[str]] = {}
    for opp in world.emulator_state()["opportunities"]:
        by_location.setdefault(opp["location_id"], []).append(opp.get("name") or "")
    wrong = []
    for location_id, batch in rows.items():
        names = by_location.get(location_id, [])
        for row in batch:
            made = sum(is_named_for(name, row["mls_id"]) for name in names)
            if made != (row["deal_score"] >= floor):
                wrong.append(f"{location_id}:{row['mls_id']} ({made} opportunities)")
    return wrong


def refused_403(world: AgencyWorld) -> int:
    """GHL's 403s: a call with one location's token for another location's record."""
    found = world.stats()["locations"].values()
    return sum(entry["statuses"].get("403", 0) for entry in found)


def report_import(
    baseline: dict, together: dict, locations: list[str], wrong: list[str], refused: int
) -> bool:
    (alone,) = baseline["rates"].values()
    print(f"baseline, one location alone: {alone:.2f} req/s = {alone / 10:.1%} of its 10 req/s")
    rates = together["rates"]
    aggregate = aggregate_percent(rates)
    spread = share_spread_percent(rates)
    total = sum(rates.values())
    print(
        f"{len(locations)} locations at once, {together['seconds']:.0f} s window: "
        f"{total:.1f} req/s of {10 * len(locations):.0f}"
    )
    print(f"aggregate {aggregate:.1f} %")
    print(f"429s from the limits: {together['limited'] + baseline['limited']}")
    cost = together["cpu_ms"]
    print(
        f"workers' CPU: {cost:.1f} ms per GHL call (alone: {baseline['cpu_ms']:.1f} ms) -> "
        f"{len(locations)} x 10 req/s needs {cost * len(locations) / 100:.2f} CPUs"
    )
    print("per location (req/s): " + ", ".join(f"{loc[-2:]} {rates[loc]:.2f}" for loc in locations))
    print(f"shares: busiest / least busy = +{spread:.1f} % (target <= {MAX_SPREAD:.0f} %)")
    print(f"properties not worked exactly once at their own location: {len(wrong)} {wrong[:5]}")
    print(f"calls GHL refused as another location's (403): {refused}")
    return (
        aggregate >= TARGET_AGGREGATE
        and together["limited"] + baseline["limited"] == 0
        and spread <= MAX_SPREAD
        and not wrong
        and not refused
    )


def run(*, locations: int, properties: int, workers: int, idle: int, idle_seconds: float) -> int:
    ids = agency_location_ids(max(locations, idle))
    busy = ids[:locations]
    with (
        tempfile.TemporaryDirectory() as folder,
        AgencyWorld.open(Path(folder), emulator_port=free_port(), locations=len(ids)) as world,
    ):
        world.install(busy)
        print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the start")
        print(
            f"GHL emulator: {len(ids)} locations at 100 req / 10 s each; {locations} installed "
            f"by one company install; {workers} `dealfinder worker` processes on PostgreSQL"
        )
        with world.workers(workers) as running:
            first = {busy[0]: rows_for(1, 0, max(20, properties // 3))}
            baseline = run_phase(world, busy[:1], first, running)
            batch = {loc: rows_for(n, 1, properties) for n, loc in enumerate(busy, start=1)}
            together = run_phase(world, busy, batch, running)
        wrong = opportunity_check(world, first | batch)
        ok = report_import(baseline, together, busy, wrong, refused_403(world))
        if idle:
            one, many = idle_figures(world, ids[:idle], seconds=idle_seconds)
            print_idle(one, many, idle)
    print("machine load average (1, 5, 15 min): " + ", ".join(f"{x:.1f}" for x in os.getloadavg()))
    print("PASS" if ok else "FAIL", f"(target: aggregate >= {TARGET_AGGREGATE:.0f} %, zero 429s, "
          f"shares within {MAX_SPREAD:.0f} %, every property once, no 403)")  # fmt: skip
    return 0 if ok else 1


def print_idle(one: Worker.Usage, many: Worker.Usage, idle: int) -> None:
    per_location = (many.rss_mb - one.rss_mb) / max(1, idle - 1)
    print(
        f"{idle} idle locations, one worker: CPU {many.cpu_percent:.1f} % "
        f"(1 location: {one.cpu_percent:.1f} %), RSS {many.rss_mb:.0f} MB "
        f"(1 location: {one.rss_mb:.0f} MB) -> {per_location:.2f} MB per extra location"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--locations", type=int, default=10)
    parser.add_argument("--properties", type=int, default=150, help="per location")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--idle", type=int, default=50, help="idle locations (0: skip)")
    parser.add_argument("--idle-seconds", type=float, default=30.0)
    options = parser.parse_args()
    if options.locations < 1 or options.properties < 1 or options.workers < 1:
        parser.error("--locations, --properties and --workers must be at least 1")
    os.environ.setdefault("DEALFINDER_LOG_LEVEL", "WARNING")
    sys.exit(run(**vars(options)))  # the options are run()'s keyword arguments


if __name__ == "__main__":
    main()
