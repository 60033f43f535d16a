"""A real `dealfinder import` process, SIGKILLed mid-batch (twice), then run to the end: every
property ends up done exactly once. The emulator is watched over its HTTP control API."""

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import requests

from tests.fixtures.pipeline import property_rows, write_batch

pytestmark = pytest.mark.slow  # imports killed and restarted in subprocesses

ROOT = Path(__file__).resolve().parents[1]


def _env(emulator, db_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GHL_", "DEALFINDER_"))}
    return env | {
        "PYTHONPATH": str(ROOT),
        "GHL_API_KEY": "emu-token",
        "GHL_LOCATION_ID": "loc_demo",
        "GHL_BASE_URL": emulator.url,
        "GHL_RATE_BACKEND": "memory",
        "DATABASE_URL": db_url,
        "DEALFINDER_LOG_LEVEL": "WARNING",
    }


def _import(path: Path, env: dict[str, str], log: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "bot.cli.deals", "import", str(path), "--json"]
    with log.open("ab") as out:
        return subprocess.Popen(command, env=env, cwd=path.parent, stdout=out, stderr=out)


def _opportunities(url: str) -> list[dict]:
    return requests.get(f"{url}/_emulator/state", timeout=10).json()["opportunities"]


def _kill_after(process: subprocess.Popen, url: str, count: int) -> int:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if len(_opportunities(url)) >= count:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
            return len(_opportunities(url))
        time.sleep(0.01)
    raise AssertionError(f"import ended or stalled before {count} opportunities existed")


def test_killed_imports_finish_with_every_property_done_once(
    make_emulator, engine, db_url, tmp_path
):
    # GHL's real window (100 per 10 s) would make this slow; the client learns the window
    # from the emulator's headers, so a wide one lets the subprocess run at full speed.
    emulator = make_emulator(burst_max=100_000, burst_interval_ms=1_000)
    emulator.seed_demo(buyers=5, seed=1)
    rows = property_rows(80)
    path = write_batch(tmp_path / "batch.jsonl", rows)
    env, log = _env(emulator, db_url), tmp_path / "import.log"

    killed_at = [_kill_after(_import(path, env, log), emulator.url, 20)]
    killed_at.append(_kill_after(_import(path, env, log), emulator.url, 50))
    final = _import(path, env, log)
    assert final.wait(timeout=120) == 0, log.read_text()[-3000:]

    state = requests.get(f"{emulator.url}/_emulator/state", timeout=10).json()
    names = Counter(o["name"].split(" — ")[0] for o in state["opportunities"])
    assert names == Counter({r["mls_id"]: 1 for r in rows}), killed_at
    notes = Counter(n["body"].splitlines()[0] for n in state["notes"])
    assert len(notes) == 80 and set(notes.values()) == {1}
    tasks = Counter((t["contact_id"], t["title"]) for t in state["tasks"])
    assert set(tasks.values()) == {1}
    assert len(tasks) == sum(3 if r["deal_score"] >= 90 else 1 if r["deal_score"] >= 75 else 0
                             for r in rows)  # fmt: skip
    enrolled = Counter(e["contact_id"] for e in state["enrolments"])
    assert set(enrolled.values()) <= {1}
    assert 20 <= killed_at[0] < killed_at[1] < 80
