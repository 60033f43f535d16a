"""Benchmark: buyer sync of 100,000 GHL contacts at GHL's real limits, full and incremental.

Run: `.venv/bin/python bench/sync.py [--buyers 100000] [--changed 1000] [--no-baseline]`.
The GHL emulator (GHL's real limits: 100 requests per 10 s; every request checked against the
OpenAPI files) runs in a child process with `--buyers` demo buyers, so it does not
share this process's memory or interpreter lock. Each sync runs in a process of its own on a
fresh SQLite store (the default deployment), so its peak resident memory is its own:
1. full sync with pageLimit 500 (GHL's maximum): target <= 30 s;
2. incremental sync after `--changed` buyers changed in GHL: target <= 3 s;
3. the baseline: the same full sync with pageLimit 100 (what DealFinder sent before).
Prints the figures side by side and PASS/FAIL; exit status 0 pass, 1 a target missed.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ghl.client import GHLClient
from sandbox.ghl_emulator import DEFAULT_TOKEN, DEMO_LOCATION_ID, Emulator, EmulatorConfig
from services.buyer_sync import sync_buyers
from services.config import load_deal_config
from store.db import make_engine, migrate

TARGET_FULL_SECONDS = 30.0
TARGET_INCREMENTAL_SECONDS = 3.0


def _serve_emulator(buyers: int, conn: Any) -> None:
    """Child process: seed, serve, and answer `touch` / `stats` / `stop` over the pipe."""
    # GHL's real limits and search lag. Requests are checked against the OpenAPI files; the
    # answers are not (checking 500 contacts costs the emulator ~0.25 s a page, 50 s a sync:
    # its own cost, not GHL's, and tests/test_emulator_contacts.py checks the same answers).
    config = EmulatorConfig(search_cache=True, validate_responses=False)
    emulator = Emulator(config)
    emulator.seed_demo(buyers=buyers, seed=1)
    server = emulator.serve()
    seeded = resource.getrusage(resource.RUSAGE_SELF)
    seeded_cpu = seeded.ru_utime + seeded.ru_stime
    conn.send(server.url)
    while True:
        command, arg = conn.recv()
        if command == "touch":  # `arg` buyers change in GHL (a budget edited by a person)
            state = emulator.state
            with state.lock:
                ids = [c.id for c in state.contacts.values() if "active_buyer" in c.tags]
                now_ms = int(time.time() * 1000)
                for contact_id in random.Random(7).sample(ids, arg):
                    contact = state.contacts[contact_id]
                    contact.date_updated = now_ms
                    contact.extra["source"] = "edited"
                state.generation += 1
            conn.send(arg)
        elif command == "stats":
            stats = emulator.stats
            conn.send(
                {
                    "rate_limited": stats["rate_limited"]["limit"],
                    "violations": len(stats["violations"]["items"]),
                    "cpu": _cpu() - seeded_cpu,  # the emulator's share of this machine
                }
            )
        else:
            server.stop()
            conn.send("stopped")
            return


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _sync(url: str, db: str, page_limit: int, full: bool, conn: Any) -> None:
    """Child process: one sync into the store at `db`; sends its figures back."""
    engine = make_engine(f"sqlite:///{db}")
    migrate(engine)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    rss_before, cpu_before = usage.ru_maxrss, usage.ru_utime + usage.ru_stime
    client = GHLClient(token=DEFAULT_TOKEN, location_id=DEMO_LOCATION_ID, base_url=url)
    started = time.perf_counter()
    report = sync_buyers(
        client=client,
        engine=engine,
        config=load_deal_config(),
        full=full,
        now=datetime.now(UTC),
        page_limit=page_limit,
    )
    elapsed = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    peak = usage.ru_maxrss  # KiB on Linux
    conn.send(
        {
            "seconds": elapsed,
            "cpu": usage.ru_utime + usage.ru_stime - cpu_before,
            "seen": report.seen,
            "mode": report.mode,
            "calls": report.ghl_calls,
            "requests": client.stats.requests,
            "peak_mb": peak / 1024,
            "growth_mb": (peak - rss_before) / 1024,
        }
    )
    client.close()
    engine.dispose()


def _run(url: str, db: str, *, page_limit: int, full: bool) -> dict[str, Any]:
    parent, child = mp.Pipe()
    process = mp.Process(target=_sync, args=(url, db, page_limit, full, child))
    process.start()
    result = parent.recv()
    process.join()
    return result


def _line(name: str, r: dict[str, Any]) -> str:
    return (
        f"  {name:<32} {r['seconds']:6.1f} s (CPU {r['cpu']:5.1f} s)  {r['seen']:>7,} buyers"
        f"  {r['calls']:>5} GHL calls  peak RSS {r['peak_mb']:6.1f} MB (+{r['growth_mb']:.1f} MB)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--buyers", type=int, default=100_000)
    parser.add_argument("--changed", type=int, default=1_000)
    parser.add_argument("--baseline-page-limit", type=int, default=100)
    parser.add_argument("--no-baseline", action="store_true", help="skip the slow baseline")
    args = parser.parse_args()
    mp.set_start_method("fork")
    to_emulator, emulator_end = mp.Pipe()
    emulator = mp.Process(target=_serve_emulator, args=(args.buyers, emulator_end), daemon=True)
    started = time.perf_counter()
    emulator.start()
    url = to_emulator.recv()
    print(f"emulator with {args.buyers:,} buyers ready in {time.perf_counter() - started:.1f} s")
    with tempfile.TemporaryDirectory() as folder:
        db = str(Path(folder) / "sync.db")
        full = _run(url, db, page_limit=500, full=True)
        to_emulator.send(("touch", args.changed))
        to_emulator.recv()
        incremental = _run(url, db, page_limit=500, full=False)
        baseline = None
        if not args.no_baseline:
            time.sleep(10)  # a fresh burst window, as the first run had
            base_db = str(Path(folder) / "baseline.db")
            baseline = _run(url, base_db, page_limit=args.baseline_page_limit, full=True)
    to_emulator.send(("stats", None))
    stats = to_emulator.recv()
    to_emulator.send(("stop", None))
    to_emulator.recv()
    print(f"Buyer sync, one location, emulator at 100 req / 10 s, {args.buyers:,} buyers")
    print(f"  (machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end)")
    print(_line("full sync, pageLimit 500", full))
    print(_line(f"incremental, {args.changed:,} changed", incremental))
    if baseline:
        print(_line(f"baseline: full, pageLimit {args.baseline_page_limit}", baseline))
        print(f"  full sync {baseline['seconds'] / full['seconds']:.1f}x faster than the baseline")
    print(f"  429s from the limits: {stats['rate_limited']}; violations: {stats['violations']}")
    print(
        f"  the emulator (GHL's side) used {stats['cpu']:.1f} s of CPU on this machine for all runs"
    )
    ok = (
        full["seconds"] <= TARGET_FULL_SECONDS
        and full["seen"] == args.buyers
        and incremental["seconds"] <= TARGET_INCREMENTAL_SECONDS
        and incremental["mode"] == "incremental"
        and incremental["seen"] >= args.changed
        and stats["rate_limited"] == 0
        and stats["violations"] == 0
    )
    print(
        "PASS" if ok else "FAIL",
        f"(targets: full <= {TARGET_FULL_SECONDS:.0f} s, incremental <= "
        f"{TARGET_INCREMENTAL_SECONDS:.0f} s, zero 429s)",
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
