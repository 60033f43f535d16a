"""Exactly-once under real concurrency and real crashes, counted at the GHL emulator.

- 20 deal texts for ONE buyer (20 properties, so dedupe hides nothing), planned, enqueued and
  delivered at once by threads and by two separate processes on PostgreSQL: exactly 3 go out
  (the rolling cap), the other 17 wait for the first slot to age out.
- A worker process killed with SIGKILL at a checkpoint (after the claim, after taking the SMS
  slot, after GHL accepted the text but before it was recorded): a restarted worker finishes
  and the buyer has exactly one text.

Workers are `python -m tests.fixtures.notify`; every race starts from a barrier and a "go" line,
and a kill lands where the worker says "paused". Nothing sleeps.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from services.notify.notifier import deliver_due, enqueue_notifications, plan_notifications
from store.db import session_scope
from store.models import OutboxStatus
from store.sms import sms_count
from tests.fixtures.notify import build_world, make_client, match_for

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2027, 1, 15, 15, 0, tzinfo=UTC)  # 10:00 in New York

pytestmark = pytest.mark.slow


def start_worker(args: dict) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fixtures.notify", json.dumps(args)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline().strip()
    if line != "ready":
        proc.kill()
        raise AssertionError(f"worker did not start ({line!r}):\n{proc.communicate()[1]}")
    return proc


def worker_args(world, url: str, **extra) -> dict:
    return {
        "db_url": url,
        "emulator_url": world.emulator.url,
        "now": NOW.isoformat(),
        **extra,
    }


@pytest.fixture
def pg_world(pg_url, make_emulator, conversation_reads):
    from store.db import make_engine, migrate

    engine = make_engine(pg_url)
    migrate(engine)
    yield build_world(engine, make_emulator), pg_url
    engine.dispose()


def _thread_worker(*, world, contact_id, mls_id, gate, errors, name):
    """Plan, enqueue and deliver in this thread; held at `gate` once the policy said "send"."""
    held: list[int] = []

    def checkpoint(point, item):
        if point == "checked" and not held:
            held.append(item.id)
            gate.arrived.wait()
            gate.release.wait(timeout=60)

    try:
        client = make_client(world.emulator.url, clock=world.clock)
        prop = world.facts(mls_id)
        plan = plan_notifications(
            engine=world.engine,
            property=prop,
            matches=[match_for(contact_id)],
            rules=world.rules,
            config=world.config,
            location_timezone="America/New_York",
            now=NOW,
        )
        enqueue_notifications(engine=world.engine, plan=plan, property=prop, now=NOW)
        while deliver_due(
            engine=world.engine,
            client=client,
            rules=world.rules,
            config=world.config,
            now=NOW,
            worker_id=name,
            limit=1,
            kinds=("sms",),
            checkpoint=checkpoint,
        ).outcomes:
            pass
    except Exception as exc:  # reported by the test, not lost in the thread
        errors.append(exc)


def test_twenty_texts_for_one_buyer_from_threads_and_processes_send_exactly_the_cap(pg_world):
    """Every worker is held after the policy allowed its first text (0 of 3 sent, as far as
    it knows) and before it takes a slot, then all are let go at once: 12 reservations race
    for 3 slots, and only the database's per-contact cap can stop the other 9."""
    world, url = pg_world
    buyer = world.add_buyer()
    mls_ids = [f"MLS{n:02d}" for n in range(20)]
    procs = [
        start_worker(
            worker_args(
                world,
                url,
                worker_id=f"p{i}",
                contact_id=buyer,
                notify=mls_ids[i * 5 : i * 5 + 5],
                limit=1,
                hold_at="checked",
            )
        )
        for i in range(2)
    ]
    thread_ids = mls_ids[10:]
    gate = SimpleNamespace(
        arrived=threading.Barrier(len(thread_ids) + 1, timeout=60), release=threading.Event()
    )
    errors: list[Exception] = []
    threads = [
        threading.Thread(
            target=_thread_worker,
            kwargs={
                "world": world,
                "contact_id": buyer,
                "mls_id": mls,
                "gate": gate,
                "errors": errors,
                "name": f"t{n}",
            },
        )
        for n, mls in enumerate(thread_ids)
    ]
    for proc in procs:
        proc.stdin.write("go\n")
        proc.stdin.flush()
    for thread in threads:
        thread.start()
    try:
        for proc in procs:
            line = proc.stdout.readline().strip()
            assert line.startswith("held:checked:"), proc.communicate()[1]
        gate.arrived.wait()  # every worker is now between its policy check and its slot
        for proc in procs:
            proc.stdin.write("go\n")
            proc.stdin.flush()
    finally:
        gate.release.set()
        for thread in threads:
            thread.join(timeout=60)
    results = [proc.communicate(timeout=60) for proc in procs]
    assert errors == []
    assert all(proc.returncode == 0 for proc in procs), [err for _, err in results]

    assert world.emulator.count("POST", "/conversations/messages") == 3
    assert len(world.texts(buyer)) == 3
    items = world.items(kind="sms")
    assert len(items) == 20
    sent = [i for i in items if i.status == OutboxStatus.SENT]
    deferred = [i for i in items if i.status == OutboxStatus.DEFERRED]
    assert len(sent) == 3 and len(deferred) == 17
    assert {i.not_before for i in deferred} == {NOW + timedelta(hours=24)}
    with session_scope(world.engine, readonly=True) as session:
        assert sms_count(session=session, contact_id=buyer, now=NOW) == 3


@pytest.mark.parametrize("point", ["claimed", "reserved", "sent"])
def test_a_worker_killed_mid_delivery_leaves_exactly_one_text(notify_world_any, db_url, point):
    world = notify_world_any
    buyer = world.add_buyer()
    world.notify(world.facts("MLS1"), [buyer], now=NOW)
    proc = start_worker(worker_args(world, db_url, worker_id="doomed", pause_at=point))
    proc.stdin.write("go\n")
    proc.stdin.flush()
    paused = proc.stdout.readline().strip()
    assert paused.startswith(f"paused:{point}:"), proc.communicate()[1]
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    sent_before = 1 if point == "sent" else 0
    assert len(world.texts(buyer)) == sent_before
    assert world.item(buyer, "MLS1").status == OutboxStatus.IN_FLIGHT

    # The lease (120 s) has not expired: a new worker leaves the item alone.
    assert world.deliver(NOW + timedelta(seconds=60), worker_id="restarted").outcomes == []
    report = world.deliver(NOW + timedelta(minutes=3), worker_id="restarted")
    (outcome,) = report.of("sent", kind="sms")
    assert outcome.found_in_ghl is (point == "sent")
    assert len(world.texts(buyer)) == 1
    assert world.emulator.count("POST", "/conversations/messages") == 1
    item = world.item(buyer, "MLS1")
    assert item.status == OutboxStatus.SENT and item.reclaimed_from == "doomed"
    with session_scope(world.engine, readonly=True) as session:
        assert sms_count(session=session, contact_id=buyer, now=NOW) == 1
