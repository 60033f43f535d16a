"""The atomic primitives hold under real concurrency, on SQLite and PostgreSQL: threads in this
process and separate Python processes sharing the database.

Every race starts from a barrier (threads) or a "go" line on stdin (processes), so the
contenders really overlap; none of these tests sleeps.
"""

import json
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select

from store import deals, outbox, sms, state, webhooks
from store.db import make_engine, session_scope
from store.models import OpportunityLink, OutboxItem, OutboxStatus, SmsLog

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2024, 8, 1, 12, 0, tzinfo=UTC)

# Runs in a fresh interpreter: argv = url, mode, worker name, now (ISO). Prints "ready",
# waits for a line on stdin, does its part, prints a JSON list of what it got.
WORKER = r"""
import json, sys
from datetime import datetime
from store import outbox, sms
from store.db import make_engine, migrate, session_scope

url, mode, name, now = sys.argv[1], sys.argv[2], sys.argv[3], datetime.fromisoformat(sys.argv[4])
engine = make_engine(url)
print("ready", flush=True)
sys.stdin.readline()
got = []
if mode == "claim":
    while True:
        with session_scope(engine) as s:
            items = outbox.claim_due(session=s, now=now, worker_id=name, lease_seconds=600, limit=2)
        if not items:
            break
        for item in items:
            with session_scope(engine) as s:
                assert outbox.mark_sent(session=s, item_id=item.id, worker_id=name, now=now)
            got.append(item.id)
elif mode == "sms":
    for _ in range(10):
        with session_scope(engine) as s:
            slot = sms.reserve_sms_slot(session=s, contact_id="c1", now=now, cap=3)
        if slot is not None:
            got.append(slot.id)
elif mode == "migrate":
    migrate(engine)
    got.append("ok")
engine.dispose()
print(json.dumps(got), flush=True)
"""


def run_processes(url, mode, count):
    """Start `count` workers, release them together, return each one's JSON result."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, url, mode, f"p{i}", NOW.isoformat()],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(count)
    ]
    try:
        for proc in procs:
            if proc.stdout.readline().strip() != "ready":
                raise AssertionError(f"worker failed to start:\n{proc.communicate()[1]}")
        for proc in procs:
            proc.stdin.write("go\n")
            proc.stdin.flush()
        results = []
        for proc in procs:
            out, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err
            results.append(json.loads(out))
        return results
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def run_threads(count, work):
    """Call `work(i)` from `count` threads released at the same moment; return the results."""
    barrier = threading.Barrier(count)

    def start(i):
        barrier.wait(timeout=30)
        return work(i)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(start, range(count)))


def fill_outbox(engine, count):
    with session_scope(engine) as session:
        for i in range(count):
            outbox.enqueue(
                session=session, kind="sms", dedupe_key=f"k{i}", payload={"i": i}, now=NOW
            )
        ids = session.scalars(select(OutboxItem.id)).all()
    return sorted(ids)


def assert_each_claimed_once(engine, ids, claimed):
    flat = [item_id for per_worker in claimed for item_id in per_worker]
    assert sorted(flat) == ids  # nothing lost, nothing twice
    with session_scope(engine) as session:
        rows = session.scalars(select(OutboxItem)).all()
    assert {(r.status, r.attempts) for r in rows} == {(OutboxStatus.SENT, 1)}


def test_claim_due_from_threads(engine):
    ids = fill_outbox(engine, 60)

    def worker(i):
        got = []
        while True:
            with session_scope(engine) as session:
                items = outbox.claim_due(
                    session=session, now=NOW, worker_id=f"t{i}", lease_seconds=600, limit=3
                )
            if not items:
                return got
            for item in items:
                with session_scope(engine) as session:
                    outbox.mark_sent(session=session, item_id=item.id, worker_id=f"t{i}")
            got.extend(item.id for item in items)

    assert_each_claimed_once(engine, ids, run_threads(4, worker))


@pytest.mark.slow  # starts processes
def test_claim_due_from_processes(engine, db_url):
    ids = fill_outbox(engine, 60)
    assert_each_claimed_once(engine, ids, run_processes(db_url, "claim", 2))


def sms_rows(engine):
    with session_scope(engine) as session:
        return session.scalar(select(func.count()).select_from(SmsLog))


def test_sms_cap_holds_for_20_threads(engine):
    def worker(_):
        with session_scope(engine) as session:
            slot = sms.reserve_sms_slot(session=session, contact_id="c1", now=NOW, cap=3)
            return slot is not None

    assert sum(run_threads(20, worker)) == 3
    assert sms_rows(engine) == 3


@pytest.mark.slow  # starts processes
def test_sms_cap_holds_across_processes(engine, db_url):
    got = run_processes(db_url, "sms", 2)  # 20 attempts in all
    assert sum(len(slots) for slots in got) == 3
    assert sms_rows(engine) == 3


@pytest.mark.slow  # starts processes
def test_concurrent_migrations_take_turns(db_url):
    assert run_processes(db_url, "migrate", 2) == [["ok"], ["ok"]]
    engine = make_engine(db_url)
    try:
        assert "outbox" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_opportunity_link_race_leaves_one_row(engine):
    def worker(i):
        link = deals.OpportunityLinkIn(mls_id="M1", location_id="L1", opportunity_id=f"opp{i}")
        with session_scope(engine) as session:
            return deals.record_opportunity_link(session=session, link_in=link).id

    assert len(set(run_threads(8, worker))) == 1
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(OpportunityLink)) == 1


def test_enqueue_race_creates_one_item(engine):
    def worker(i):
        with session_scope(engine) as session:
            item, created = outbox.enqueue(
                session=session, kind="sms", dedupe_key="sms:c1:M1", payload={"by": i}
            )
            return item.id, created

    results = run_threads(8, worker)
    assert len({item_id for item_id, _ in results}) == 1
    assert sum(created for _, created in results) == 1


def test_webhook_replay_race_accepts_one_delivery(engine):
    def worker(_):
        with session_scope(engine) as session:
            return webhooks.remember_webhook_id(session=session, webhook_id="wh1", now=NOW)

    assert sum(run_threads(8, worker)) == 1


def test_slack_message_race_stores_one(engine):
    def worker(i):
        with session_scope(engine) as session:
            row, stored = state.record_slack_message(
                session=session, key="deal:M1", channel="C1", ts=f"{i}.0"
            )
            return row.ts, stored

    results = run_threads(8, worker)
    assert sum(stored for _, stored in results) == 1
    assert len({ts for ts, _ in results}) == 1  # every caller sees the winner's message


def test_sqlite_read_then_write_transactions_wait_instead_of_failing(sqlite_engine):
    # Each transaction reads a counter and writes it back + 1. Under BEGIN IMMEDIATE they
    # queue on the write lock: none fails with "database is locked" and no increment is lost.
    def worker(_):
        for _ in range(5):
            with session_scope(sqlite_engine) as session:
                current = state.get_sync_state(session=session, key="n")
                n = current.value["n"] if current else 0
                state.set_sync_state(session=session, key="n", value={"n": n + 1})

    run_threads(8, worker)
    with session_scope(sqlite_engine) as session:
        assert state.get_sync_state(session=session, key="n").value == {"n": 40}
