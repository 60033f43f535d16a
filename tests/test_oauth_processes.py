"""Four worker processes (real subprocesses) share one store and a token about to expire:
GHL sees exactly one refresh, and every call of every process succeeds without a 401."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sandbox.ghl_emulator.oauth_state import InstallChoice
from tests.oauth_world import OAuthWorld

ROOT = Path(__file__).resolve().parents[1]
WORKERS, THREADS, CALLS = 4, 3, 12


@pytest.mark.slow
def test_four_processes_with_an_expiring_token_refresh_exactly_once(seeded_emulator, db_url):
    oauth = seeded_emulator.state.oauth
    oauth.choice = InstallChoice(location_id="loc_demo")
    oauth.access_seconds = 120  # inside the 5-minute renewal margin: every process wants one
    world = OAuthWorld.build(emulator=seeded_emulator, db_url=db_url)
    try:
        assert world.install().status_code == 200
        oauth.access_seconds = 86_399
        args = {
            "emulator_url": seeded_emulator.url,
            "db_url": db_url,
            "key": world.key,
            "location_id": "loc_demo",
            "threads": THREADS,
            "calls": CALLS,
        }
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "tests.oauth_worker", json.dumps(args)],
                cwd=ROOT,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(WORKERS)
        ]
        for proc in procs:  # every process built and waiting before any calls GHL
            assert proc.stdout.readline().strip() == "ready"
        for proc in procs:
            proc.stdin.write("go\n")
            proc.stdin.flush()
        results = [
            json.loads(proc.communicate(timeout=90)[0].strip().splitlines()[-1]) for proc in procs
        ]
        assert [proc.returncode for proc in procs] == [0] * WORKERS
    finally:
        world.close()

    assert [r["ok"] for r in results] == [CALLS] * WORKERS
    assert oauth.count("refresh_token") == 1 and oauth.count("refresh_token", "200") == 1
    assert seeded_emulator.count("GET", "/locations/{locationId}", 401) == 0
    assert seeded_emulator.count("GET", "/locations/{locationId}", 200) == WORKERS * CALLS
