"""The tick lease on SQLite and PostgreSQL: one run per tick, no overlap, failures recorded.

Time is passed in (`now=`); the race between instances is real (threads on one database).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from bot.ops.lease import Claim, Skipped, TickLease, read_job_record
from bot.ops.scheduler import JobRunner, JobSpec
from bot.web.metrics import Metrics
from tests.fixtures.bot import wait_for

T0 = datetime(2027, 1, 15, 15, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def spec(run, **kw) -> JobSpec:
    kw.setdefault("every", MINUTE)
    return JobSpec(id=kw.pop("id", "sample"), run=run, **kw)


def test_a_tick_runs_once_and_the_next_tick_runs_again(engine):
    runs = []
    runner = JobRunner(lease=TickLease(engine, owner="a"))
    job = spec(runs.append)
    assert runner.run(job, now=T0) == "ok"
    assert runner.run(job, now=T0 + timedelta(seconds=30)) == "skipped"  # same tick
    other = JobRunner(lease=TickLease(engine, owner="b"))
    assert other.run(job, now=T0 + timedelta(seconds=59)) == "skipped"  # another instance
    assert other.run(job, now=T0 + MINUTE) == "ok"
    assert runs == [T0, T0 + MINUTE]
    record = read_job_record(engine=engine, job_id="sample")
    assert record.last_tick == (T0 + MINUTE).isoformat()
    assert record.owner == "b" and record.ok is True and record.runs == 2


def test_an_older_tick_fired_late_by_a_twin_does_not_run(engine):
    runs = []
    job = spec(runs.append)
    JobRunner(lease=TickLease(engine, owner="a")).run(job, now=T0 + MINUTE)
    assert JobRunner(lease=TickLease(engine, owner="b")).run(job, now=T0) == "skipped"
    assert runs == [T0 + MINUTE]


def test_a_failing_job_is_recorded_counted_and_does_not_raise(engine):
    metrics = Metrics()
    runner = JobRunner(lease=TickLease(engine, owner="a"), metrics=metrics)

    def boom(now):
        raise RuntimeError("GHL said no to token pit-0123456789abcdef0123")

    for minute in range(3):
        assert runner.run(spec(boom), now=T0 + minute * MINUTE) == "failed"
    record = read_job_record(engine=engine, job_id="sample")
    assert record.consecutive_failures == 3 and record.ok is False
    assert "RuntimeError" in record.last_error and "pit-0123" not in record.last_error
    failed = {"job": "sample", "outcome": "failed"}
    assert metrics.registry.get_sample_value("dealfinder_job_runs_total", failed) == 3
    assert runner.run(spec(lambda now: None), now=T0 + 3 * MINUTE) == "ok"
    assert read_job_record(engine=engine, job_id="sample").consecutive_failures == 0


def test_a_daily_job_ticks_once_per_local_day(engine):
    runs = []
    job = JobSpec(
        id="digest",
        run=runs.append,
        daily_at=datetime(2027, 1, 1, 8).time(),
        timezone="America/New_York",
    )
    runner = JobRunner(lease=TickLease(engine, owner="a"))
    morning = datetime(2027, 1, 15, 13, 0, tzinfo=UTC)  # 08:00 in New York
    assert job.tick_of(morning) == "2027-01-15"
    assert runner.run(job, now=morning) == "ok"
    assert runner.run(job, now=morning + timedelta(hours=2)) == "skipped"
    assert runner.run(job, now=morning + timedelta(days=1)) == "ok"
    assert len(runs) == 2


def test_threads_racing_for_one_tick_run_it_once(engine):
    """Eight instances fire the same tick at once; the winner stays inside the job until all
    the others have given up, so they truly overlap."""
    ran, outcomes = [], []
    gate = threading.Barrier(8)
    settled = threading.Condition()

    def slow(now):
        ran.append(now)
        with settled:
            settled.wait_for(lambda: len(outcomes) == 7, timeout=10)

    def fire(name):
        runner = JobRunner(lease=TickLease(engine, owner=name))
        gate.wait()
        outcome = runner.run(spec(slow), now=T0)
        with settled:
            outcomes.append(outcome)
            settled.notify_all()

    threads = [threading.Thread(target=fire, args=(f"i{n}",)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(15)
    assert len(ran) == 1
    assert sorted(outcomes) == ["ok"] + ["skipped"] * 7


def test_on_sqlite_a_running_job_keeps_a_second_process_off_until_its_lease_ends(sqlite_engine):
    first = TickLease(sqlite_engine, owner="a")
    second = TickLease(sqlite_engine, owner="b")
    claim = first.claim(job_id="j", tick="t1", now=T0, hold_for=timedelta(minutes=5))
    assert isinstance(claim, Claim)
    # The next tick fires while the first run is still going: no overlap.
    busy = second.claim(job_id="j", tick="t2", now=T0 + MINUTE, hold_for=timedelta(minutes=5))
    assert busy == Skipped("busy")
    # The first process died without finishing: its lease runs out and the job is free again.
    later = second.claim(job_id="j", tick="t3", now=T0 + 6 * MINUTE, hold_for=timedelta(minutes=5))
    assert isinstance(later, Claim)
    assert first.finish(claim, now=T0 + 7 * MINUTE, error=None) is None  # taken over: no write
    assert second.finish(later, now=T0 + 7 * MINUTE, error=None).ok is True


@pytest.mark.postgres
def test_on_postgresql_the_advisory_lock_is_held_for_the_run_and_freed_on_finish(pg_engine):
    first = TickLease(pg_engine, owner="a")
    second = TickLease(pg_engine, owner="b")
    claim = first.claim(job_id="j", tick="t1", now=T0, hold_for=timedelta(seconds=1))
    assert isinstance(claim, Claim)
    # Even past the row's lease, the lock says the run is alive.
    locked = second.claim(job_id="j", tick="t2", now=T0 + MINUTE, hold_for=timedelta(seconds=1))
    assert locked == Skipped("locked")
    first.finish(claim, now=T0 + MINUTE, error=None)
    assert isinstance(second.claim(job_id="j", tick="t2", now=T0 + MINUTE, hold_for=MINUTE), Claim)


@pytest.mark.postgres
def test_on_postgresql_a_dead_holder_frees_the_job_with_its_connection(pg_engine):
    first = TickLease(pg_engine, owner="a")
    claim = first.claim(job_id="j", tick="t1", now=T0, hold_for=timedelta(hours=1))
    assert isinstance(claim, Claim) and claim.connection is not None
    claim.connection.invalidate()  # the process holding it dies: its session ends
    second = TickLease(pg_engine, owner="b")

    def claimed() -> Claim | None:
        got = second.claim(job_id="j", tick="t2", now=T0 + MINUTE, hold_for=MINUTE)
        return got if isinstance(got, Claim) else None

    # The server ends the dead session (and its lock) when it sees the connection close: on
    # a loaded machine a moment after the client closed it.
    assert wait_for(claimed, timeout=10, what="the dead holder's lock to go") is not None
