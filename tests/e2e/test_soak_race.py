"""What the soak found, each pinned down by a small test that fails the same way.

- Two runs working on one property at the same moment (two workers importing one file, or an
  import beside a `/deal add`) must still leave one analysis note and one task set in GHL. The
  first run is held inside GHL while it writes the note (the emulator's `slow` fault, whose
  wait is a gate here, so nothing sleeps); the second run does the whole property meanwhile.
- Processes starting together on a fresh PostgreSQL store (two workers, or the bot and the
  scheduler after a deploy) must all get the shared GHL rate limiter.
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from ghl.client import GHLClient
from ghl.ratelimit_sql import SQLBackend
from sandbox.ghl_emulator import DEFAULT_TOKEN, DEMO_LOCATION_ID
from services.config import load_deal_config
from services.ghl_map import GHLMap
from services.pipeline.core import DealPipeline
from services.pipeline.rules import note_marker
from services.property import PropertyRecord
from tests.fixtures.pipeline import property_row


def test_two_runs_of_one_property_at_once_leave_one_note_and_one_task_set(make_emulator, engine):
    arrived, release = threading.Event(), threading.Event()

    def hold(seconds: float) -> None:  # the emulator's stall: held until the second run is done
        arrived.set()
        release.wait(timeout=30)

    emulator = make_emulator(sleep=hold, burst_max=10_000, burst_interval_ms=1_000)
    emulator.seed_demo(buyers=5, seed=1)
    emulator.queue_fault("POST", "/contacts/*/notes", "slow", times=1)
    config = load_deal_config()
    record = PropertyRecord.parse(property_row(1, deal_score=95))

    def run() -> str:
        with GHLClient(token=DEFAULT_TOKEN, location_id=DEMO_LOCATION_ID,
                       base_url=emulator.url) as client:  # fmt: skip
            pipeline = DealPipeline(client, engine, config, GHLMap.resolve(client, config))
            return pipeline.process(record).action

    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(run)
        assert arrived.wait(timeout=30), "the first run never reached the note"
        try:
            second = run()  # the other worker, while the first one's note is in flight
        finally:
            release.set()
        actions = (first.result(timeout=30), second)

    marker = note_marker(record.mls_id, record.version())
    notes = [n for n in emulator.state.notes.values() if n.body.startswith(marker)]
    tasks = Counter(t.title for t in emulator.state.tasks.values())
    assert len(emulator.state.opportunities) == 1, actions
    assert len(notes) == 1, f"{len(notes)} analysis notes for one property ({actions})"
    assert len(tasks) == 3 and set(tasks.values()) == {1}, tasks


def test_processes_starting_together_on_a_fresh_store_all_get_the_rate_limiter(pg_url):
    starters = 6
    barrier = threading.Barrier(starters, timeout=30)

    def start() -> str:
        barrier.wait()  # all at once, as processes started by one deploy
        try:
            SQLBackend(pg_url)
        except Exception as exc:  # reported below, with its type
            return type(exc).__name__
        return "ok"

    with ThreadPoolExecutor(starters) as pool:
        outcomes = Counter(pool.map(lambda _: start(), range(starters)))
    assert outcomes == Counter(ok=starters)
