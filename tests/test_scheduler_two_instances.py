"""Two scheduler processes on one PostgreSQL database: every tick of a job runs exactly once.

Each process is a full `OpsScheduler` (its own APScheduler, the shared job store, the tick
lease) running a one-second job that writes a row per execution; the job takes 0.3 s, so the
two instances' firings overlap. After a few seconds each tick has exactly one row.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.fixtures.ops import TICK_TABLE

ROOT = Path(__file__).resolve().parents[1]
RUN_SECONDS = 5


def _start(name: str, url: str) -> subprocess.Popen:
    args = json.dumps({"db_url": url, "name": name, "seconds": RUN_SECONDS})
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fixtures.ops", args],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    return process


@pytest.mark.postgres
@pytest.mark.slow
def test_two_instances_run_each_tick_exactly_once(pg_engine, pg_url):
    with pg_engine.begin() as connection:
        connection.execute(text(f"CREATE TABLE {TICK_TABLE} (tick text, instance text)"))
    processes = [_start(name, pg_url) for name in ("alpha", "beta")]
    for process in processes:  # both start their schedulers together
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
    results = []
    for process in processes:
        out, _ = process.communicate(timeout=60)
        assert process.returncode == 0, out
        results.append(json.loads(out.strip().splitlines()[-1]))

    with pg_engine.connect() as connection:
        rows = connection.execute(text(f"SELECT tick, instance FROM {TICK_TABLE}")).all()  # noqa: S608
    per_tick = Counter(tick for tick, _ in rows)
    assert len(per_tick) >= RUN_SECONDS - 2, f"too few ticks ran: {sorted(per_tick)}"
    assert set(per_tick.values()) == {1}, f"ticks that ran more than once: {per_tick}"
    executed = sum(result["ok"] for result in results)
    assert executed == len(rows)  # every execution was recorded, none was lost
    assert not any(result["failed"] for result in results)
    # Both instances did fire ticks: the other one found them taken (the lease at work).
    assert sum(result["skipped"] for result in results) >= 1, results
