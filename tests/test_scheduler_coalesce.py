"""APScheduler with the database job store: a missed run after downtime runs once, the stored
schedule survives restarts, and jobs are registered with coalesce and max_instances=1.

Time is frozen with freezegun; APScheduler's own threads see the same frozen clock, so a job
fires only when the test moves time, and never by waiting.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED
from freezegun import freeze_time

from bot.ops.scheduler import JobSpec, OpsScheduler


def utc(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp).replace(tzinfo=UTC)


class Recorder:
    """A job that notes each run and lets the test wait for the n-th one."""

    def __init__(self) -> None:
        self.runs: list[datetime] = []
        self._changed = threading.Condition()

    def __call__(self, now: datetime) -> None:
        with self._changed:
            self.runs.append(now)
            self._changed.notify_all()

    def wait_for(self, count: int, timeout: float = 10) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: len(self.runs) >= count, timeout=timeout)


@pytest.mark.slow  # over 0.5 s: the full run only (README, 'fast lane')
def test_ticks_missed_during_downtime_are_made_up_once(sqlite_engine):
    job = Recorder()
    spec = JobSpec(id="every_minute", run=job, every=timedelta(minutes=1))
    with freeze_time("2027-01-15 15:00:30") as frozen:
        first = OpsScheduler(engine=sqlite_engine, specs=[spec], owner="a")
        first.start()
        assert first.scheduler.get_job("every_minute").next_run_time == utc("2027-01-15 15:01")
        first.shutdown()

        frozen.move_to("2027-01-15 15:10:30")  # nine ticks passed with nobody running
        second = OpsScheduler(engine=sqlite_engine, specs=[spec], owner="b")
        second.start()
        try:
            assert job.wait_for(1)
            stored = second.scheduler.get_job("every_minute")
            assert stored.next_run_time == utc("2027-01-15 15:11")
            assert not job.wait_for(2, timeout=0.5)  # and nothing else is due
        finally:
            second.shutdown()
    assert job.runs == [utc("2027-01-15 15:10:30")]


@pytest.mark.slow  # over 0.5 s: the full run only (README, 'fast lane')
def test_a_run_later_than_its_grace_is_skipped_but_the_schedule_goes_on(sqlite_engine):
    job = Recorder()
    spec = JobSpec(
        id="daily", run=job, daily_at=datetime(2027, 1, 1, 8).time(), timezone="America/New_York"
    )
    with freeze_time("2027-01-15 12:00") as frozen:  # 07:00 in New York
        first = OpsScheduler(engine=sqlite_engine, specs=[spec], owner="a")
        first.start()
        first.shutdown()
        frozen.move_to("2027-01-15 19:00")  # 14:00: six hours late, beyond the 2 h grace
        second = OpsScheduler(engine=sqlite_engine, specs=[spec], owner="b")
        second.start()
        try:
            assert not job.wait_for(1, timeout=0.5)
            tomorrow = second.scheduler.get_job("daily").next_run_time
        finally:
            second.shutdown()
    assert tomorrow == utc("2027-01-16 13:00")  # 08:00 New York the next day
    assert job.runs == []


def test_jobs_are_stored_with_coalesce_one_instance_and_a_grace(sqlite_engine):
    spec = JobSpec(id="health", run=Recorder(), every=timedelta(minutes=5))
    with freeze_time("2027-01-15 15:00:30"):
        scheduler = OpsScheduler(engine=sqlite_engine, specs=[spec], owner="a")
        scheduler.start()
        try:
            stored = scheduler.scheduler.get_job("health")
        finally:
            scheduler.shutdown()
    assert stored.coalesce is True
    assert stored.max_instances == 1
    assert stored.misfire_grace_time == 300
    assert stored.next_run_time == utc("2027-01-15 15:05")  # on the grid, not start + 5 min


def test_a_changed_interval_replaces_the_stored_schedule(sqlite_engine):
    with freeze_time("2027-01-15 15:00:30"):
        old = JobSpec(id="refresh", run=Recorder(), every=timedelta(hours=1))
        scheduler = OpsScheduler(engine=sqlite_engine, specs=[old], owner="a")
        scheduler.start()
        scheduler.shutdown()
        new = JobSpec(id="refresh", run=Recorder(), every=timedelta(minutes=10))
        scheduler = OpsScheduler(engine=sqlite_engine, specs=[new], owner="a")
        scheduler.start()
        try:
            stored = scheduler.scheduler.get_job("refresh")
        finally:
            scheduler.shutdown()
    assert stored.next_run_time == utc("2027-01-15 15:10")


def test_a_job_that_raises_is_logged_and_the_scheduler_keeps_going(sqlite_engine, caplog):
    calls = Recorder()
    finished = Recorder()  # APScheduler's own "executed" events: the run is fully over

    def flaky(now: datetime) -> None:
        calls(now)
        raise ValueError("bad row")

    spec = JobSpec(id="flaky", run=flaky, every=timedelta(minutes=1))
    with freeze_time("2027-01-15 15:00:59") as frozen:
        scheduler = OpsScheduler(engine=sqlite_engine, specs=[spec], owner="a")
        scheduler.scheduler.add_listener(
            lambda event: finished(event.scheduled_run_time), EVENT_JOB_EXECUTED | EVENT_JOB_ERROR
        )
        scheduler.start()
        try:
            for count, minute in enumerate(("15:01", "15:02", "15:03"), start=1):
                frozen.move_to(f"2027-01-15 {minute}:00")
                scheduler.scheduler.wakeup()
                assert finished.wait_for(count)
        finally:
            scheduler.shutdown()
    assert len(calls.runs) == 3
    assert "job flaky failed at tick 2027-01-15T15:01:00+00:00" in caplog.text
    assert "job flaky failed at tick 2027-01-15T15:03:00+00:00" in caplog.text


@pytest.mark.slow  # over 0.5 s: the full run only (README, 'fast lane')
def test_a_job_marked_to_run_when_first_scheduled_runs_at_once_only_the_first_time(
    sqlite_engine,
):
    job = Recorder()
    spec = JobSpec(id="buyers", run=job, every=timedelta(hours=1), run_when_first_scheduled=True)
    with freeze_time("2027-01-15 15:20:00") as frozen:
        first = OpsScheduler(engine=sqlite_engine, specs=[spec], owner="a")
        first.start()
        try:
            assert job.wait_for(1)  # a new install: the buyer cache is filled now
        finally:
            first.shutdown()
        frozen.move_to("2027-01-15 15:30:00")
        restarted = OpsScheduler(engine=sqlite_engine, specs=[spec], owner="b")
        restarted.start()
        try:
            assert not job.wait_for(2, timeout=0.5)  # a restart keeps the hourly schedule
            # An hour after the first run (off the grid, which is fine: a tick is the grid
            # slot a run falls in, so every instance still agrees on it).
            assert restarted.scheduler.get_job("buyers").next_run_time == utc("2027-01-15 16:20")
        finally:
            restarted.shutdown()
    assert job.runs == [utc("2027-01-15 15:20")]


def test_a_job_no_longer_configured_leaves_the_job_store(sqlite_engine):
    keep = JobSpec(id="keep", run=Recorder(), every=timedelta(minutes=5))
    dropped = JobSpec(id="digest", run=Recorder(), every=timedelta(hours=24))
    with freeze_time("2027-01-15 15:00:30"):
        before = OpsScheduler(engine=sqlite_engine, specs=[keep, dropped], owner="a")
        before.start()
        before.shutdown()
        after = OpsScheduler(engine=sqlite_engine, specs=[keep], owner="a")
        after.start()
        try:
            ids = [job.id for job in after.scheduler.get_jobs()]
        finally:
            after.shutdown()
    assert ids == ["keep"]
