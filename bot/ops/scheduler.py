"""The one scheduler of DealFinder's background jobs, safe to run on several instances at once.

APScheduler 3 keeps the jobs in the database (`SQLAlchemyJobStore`), so a missed run after
downtime is known and, with ``coalesce=True``, made up once rather than once per missed tick.
Each run goes through `JobRunner`, which claims the tick first (`bot.ops.lease`): however many
instances fire, each tick of each job runs once, and a job never overlaps itself.

    specs = [JobSpec(id="health", run=monitor.run, every=timedelta(minutes=5))]
    scheduler = OpsScheduler(engine=engine, specs=specs, metrics=metrics)
    scheduler.start()            # background threads; scheduler.shutdown() to stop

Jobs are plain callables taking the tick's time (`now`); tests call them, or
`JobRunner.run(spec, now=...)`, directly.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from typing import Any, Literal
from zoneinfo import ZoneInfo

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from bot.ops.lease import PG_LOCK_JOBS, Claim, Skipped, TickLease
from bot.web.metrics import Metrics
from ghl.auth import GHLReinstallNeeded
from ghl.errors import GHLError
from ghl.redact import redact
from store.types import utcnow

log = logging.getLogger("dealfinder.scheduler")

# Interval ticks are counted from this instant, so every instance computes the same grid.
ANCHOR = datetime(2024, 1, 1, tzinfo=UTC)
JOBS_TABLE = "dealfinder_scheduler_jobs"
Outcome = Literal["ok", "failed", "skipped"]


@dataclass(frozen=True, kw_only=True)
class JobSpec:
    """One scheduled job: what to run, how often, and how long its lease lasts.

    Give `every` (an interval on a grid anchored at `ANCHOR`) or `daily_at` with `timezone`.
    `misfire_grace` is how late a run may still start after downtime (default: one interval,
    so the last missed tick is made up once; two hours for a daily job). `unleased_when_store_down`
    lets a job run without its tick claim when the database is unreachable (the health check,
    which must be able to report exactly that). `run_when_first_scheduled` runs it at once the
    first time it enters the job store (a new install fills the buyer cache now, not at the
    next hourly tick).
    """

    id: str
    run: Callable[[datetime], object]
    every: timedelta | None = None
    daily_at: clock_time | None = None
    timezone: str = "UTC"
    misfire_grace: timedelta | None = None
    lease: timedelta = timedelta(minutes=15)
    unleased_when_store_down: bool = False
    run_when_first_scheduled: bool = False

    def __post_init__(self) -> None:
        if (self.every is None) == (self.daily_at is None):
            raise ValueError(f"job {self.id!r}: give exactly one of every= or daily_at=")
        if self.every is not None and self.every.total_seconds() < 1:
            raise ValueError(f"job {self.id!r}: the interval must be at least one second")

    def trigger(self) -> BaseTrigger:
        if self.every is not None:
            return IntervalTrigger(
                seconds=self.every.total_seconds(), start_date=ANCHOR, timezone=UTC
            )
        assert self.daily_at is not None
        return CronTrigger(
            hour=self.daily_at.hour, minute=self.daily_at.minute, timezone=ZoneInfo(self.timezone)
        )

    def grace_seconds(self) -> int:
        if self.misfire_grace is not None:
            return max(1, int(self.misfire_grace.total_seconds()))
        if self.every is not None:
            return max(1, int(self.every.total_seconds()))
        return 2 * 3600

    def tick_of(self, now: datetime) -> str:
        """The tick `now` belongs to: the same string on every instance that fires it."""
        if self.every is not None:
            step = self.every.total_seconds()
            count = int((now - ANCHOR).total_seconds() // step)
            return (ANCHOR + timedelta(seconds=count * step)).isoformat()
        return now.astimezone(ZoneInfo(self.timezone)).date().isoformat()


class _Executor(ThreadPoolExecutor):
    """APScheduler's thread pool, told when shutdown begins.

    APScheduler stops its pool while its own loop may be submitting a job that just came due,
    which then fails with "cannot schedule new futures after shutdown" and a traceback. A job
    that comes due during shutdown is simply not started: that tick is skipped here (another
    instance may run it) and the next one comes as usual.
    """

    closing = False

    def _do_submit_job(self, job: Any, run_times: list[datetime]) -> None:
        if self.closing:
            log.info("job %s came due during shutdown; not started", job.id)
            return
        super()._do_submit_job(job, run_times)


def instance_id() -> str:
    """This process's name in job records and logs: host and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


class JobRunner:
    """Runs a job for one tick: claim, run, record, count. Never raises."""

    def __init__(
        self,
        *,
        lease: TickLease,
        metrics: Metrics | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.lease = lease
        self.metrics = metrics
        self.clock = clock

    def run(self, spec: JobSpec, *, now: datetime | None = None) -> Outcome:
        now = now or self.clock()
        tick = spec.tick_of(now)
        claim: Claim | Skipped | None
        try:
            claim = self.lease.claim(job_id=spec.id, tick=tick, now=now, hold_for=spec.lease)
        except SQLAlchemyError as exc:
            if not spec.unleased_when_store_down:
                log.error(
                    "job %s: cannot claim tick %s, database unreachable (%s)",
                    spec.id,
                    tick,
                    type(exc).__name__,
                )
                self._count(spec.id, "failed")
                return "failed"
            log.warning(
                "job %s: database unreachable; running tick %s without a lease", spec.id, tick
            )
            claim = None
        if isinstance(claim, Skipped):
            log.debug("job %s: tick %s skipped (%s)", spec.id, tick, claim.reason)
            self._count(spec.id, "skipped")
            return "skipped"
        started = time.perf_counter()
        error: str | None = None
        skipped = False
        try:
            spec.run(now)
        except GHLReinstallNeeded as exc:
            # The app was uninstalled (or its tokens died) at this location: nothing to do
            # there until it is installed again; the ops channel was told once already.
            log.warning("job %s skipped at tick %s: %s", spec.id, tick, exc)
            skipped = True
        except GHLError as exc:
            # GHL down or refusing: expected, explained in one line (the health job alerts on
            # it); a traceback here would only hide the reason in a wall of frames.
            error = redact(f"{type(exc).__name__}: {exc}")
            log.error("job %s failed at tick %s: %s", spec.id, tick, error)
        except Exception as exc:
            error = redact(f"{type(exc).__name__}: {exc}")
            log.exception("job %s failed at tick %s", spec.id, tick)
        seconds = time.perf_counter() - started
        if claim is not None:
            self._finish(claim, error=error)
        outcome: Outcome = "skipped" if skipped else "ok" if error is None else "failed"
        self._count(spec.id, outcome, seconds)
        return outcome

    def _finish(self, claim: Claim, *, error: str | None) -> None:
        try:
            self.lease.finish(claim, now=self.clock(), error=error)
        except SQLAlchemyError as exc:
            log.error(
                "job %s: could not record the end of tick %s (%s)",
                claim.job_id,
                claim.tick,
                type(exc).__name__,
            )

    def _count(self, job_id: str, outcome: Outcome, seconds: float | None = None) -> None:
        if self.metrics is not None:
            self.metrics.count_job(job_id, outcome, seconds)


# APScheduler stores a job as a reference to an importable function plus its arguments, so the
# stored job names a spec by id and each process looks the id up in its own registry.
_registry: dict[str, tuple[JobRunner, JobSpec]] = {}
_registry_lock = threading.Lock()


def run_registered_job(job_id: str) -> None:
    """What APScheduler calls: run the spec this process registered under `job_id`."""
    with _registry_lock:
        entry = _registry.get(job_id)
    if entry is None:
        log.warning("job %s is in the job store but not known to this instance; skipped", job_id)
        return
    runner, spec = entry
    runner.run(spec)


class OpsScheduler:
    """APScheduler with DealFinder's jobs, a database job store and the tick lease."""

    def __init__(
        self,
        *,
        engine: Engine,
        specs: Sequence[JobSpec],
        metrics: Metrics | None = None,
        owner: str | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        ids = [spec.id for spec in specs]
        if len(set(ids)) != len(ids):
            raise ValueError(f"job ids must be unique: {ids}")
        self.engine = engine
        self.specs = {spec.id: spec for spec in specs}
        self.owner = owner or instance_id()
        self.clock = clock
        self.runner = JobRunner(
            lease=TickLease(engine, owner=self.owner), metrics=metrics, clock=clock
        )
        self.jobstore = SQLAlchemyJobStore(engine=engine, tablename=JOBS_TABLE)
        self.executor = _Executor(max_workers=max(2, len(specs)))
        self.scheduler = BackgroundScheduler(
            jobstores={"default": self.jobstore},
            executors={"default": self.executor},
            job_defaults={"coalesce": True, "max_instances": 1},
            timezone=UTC,
        )

    def start(self) -> None:
        """Register the jobs (keeping a stored job's schedule if unchanged) and start."""
        with _registry_lock:
            for spec in self.specs.values():
                _registry[spec.id] = (self.runner, spec)
        self._create_table()
        self.scheduler.start(paused=True)
        for job in self.scheduler.get_jobs():
            if job.id not in self.specs:
                # A job this configuration no longer has (e.g. the digest switched off).
                log.info("job %s is no longer configured; removed from the job store", job.id)
                job.remove()
        for spec in self.specs.values():
            self._schedule(spec)
        self.scheduler.resume()
        log.info("scheduler %s started: %s", self.owner, ", ".join(self.specs))

    def _create_table(self) -> None:
        """Create the job store's table once, however many instances start together.

        APScheduler creates it on start with a plain "create if missing", which two instances
        starting at the same moment both attempt (PostgreSQL then refuses the second).
        """
        with self.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:ns, hashtext(current_schema()))"),
                    {"ns": PG_LOCK_JOBS},
                )
            self.jobstore.jobs_t.create(connection, checkfirst=True)

    def _schedule(self, spec: JobSpec) -> None:
        trigger = spec.trigger()
        stored = self.scheduler.get_job(spec.id)
        if stored is not None and repr(stored.trigger) == repr(trigger):
            # Keep the stored next run time: if it passed while every instance was down, the
            # scheduler makes it up once now (coalesce) instead of forgetting it.
            stored.modify(misfire_grace_time=spec.grace_seconds(), coalesce=True, max_instances=1)
            return
        first_run = {"next_run_time": self.clock()} if stored is None else {}
        self.scheduler.add_job(
            run_registered_job,
            trigger=trigger,
            args=[spec.id],
            id=spec.id,
            name=spec.id,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=spec.grace_seconds(),
            **(first_run if spec.run_when_first_scheduled else {}),
        )

    def run_now(self, job_id: str, *, now: datetime | None = None) -> Outcome:
        """Run one job's current tick in this thread (the CLI's --once, and tests)."""
        return self.runner.run(self.specs[job_id], now=now)

    def shutdown(self, *, wait: bool = True) -> None:
        """Stop firing jobs; with `wait`, let running ones finish first."""
        if self.scheduler.running:
            self.executor.closing = True
            self.scheduler.shutdown(wait=wait)
        with _registry_lock:
            for job_id, (runner, _spec) in list(_registry.items()):
                if runner is self.runner:
                    del _registry[job_id]
        log.info("scheduler %s stopped", self.owner)
