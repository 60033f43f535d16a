"""One leased GHL location's work in an agency worker: a thread of its own (issue 14, item 2).

The thread drains the location's intake queue through the deal pipeline with the location's
own GHL client. Locations never wait on each other: each has its thread, its client (its own
rate-limit window) and its own backoff, so a slow, failing or rate-limited location delays
only itself. A location whose day of GHL requests ran out is parked until GHL's daily reset
(midnight UTC) instead of failing item after item; `location_status` reports it.

    runner = LocationRunner(engine=engine, location_id="loc_a", pipeline=build, holder="w1",
                            jobs=[LocationJob("health", timedelta(minutes=5), monitor.run)])
    runner.start(); runner.wake(); runner.stop()

Each location's scheduled jobs (`LocationJob`: its health check, its hot-deal workflow
enrolments) run in the same thread after each pass, each on its own interval and each failure
its own: a failing job is logged and tried at its next turn, and the intake carries on.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlmodel import col, select

from ghl.errors import GHLDailyLimitError
from services.intake.worker import POLL_SECONDS, IntakeWorker
from store.db import session_scope
from store.models import SyncState
from store.state import set_sync_state
from store.types import utcnow

log = logging.getLogger("dealfinder.agency")

STATUS_PREFIX = "location_work:"


@dataclass(frozen=True)
class LocationJob:
    """A scheduled job of one location: `run(now)` every `every` while its lease is held."""

    id: str
    every: timedelta
    run: Callable[[datetime], object]
    when_parked: bool = True  # False: skipped while the location's GHL day is used up


class DailyLimitReached(RuntimeError):
    """The location's GHL requests for today are used up: stop its pass."""


def daily_reset_after(now: datetime) -> datetime:
    """When GHL's daily count restarts after `now`: the next midnight UTC (GHL help centre,
    "HighLevel API": 200,000 requests per day per app per location)."""
    day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day + timedelta(days=1)


def status_key(location_id: str) -> str:
    return f"{STATUS_PREFIX}{location_id}"


def location_status(engine: Engine) -> dict[str, dict[str, Any]]:
    """Each worked location's last report: holder, state (working | idle | parked | failing),
    parked_until, last_error, worked (items since the holder took it)."""
    with session_scope(engine, readonly=True) as session:
        rows = session.exec(
            select(SyncState).where(col(SyncState.key).startswith(STATUS_PREFIX))
        ).all()
        return {row.key.removeprefix(STATUS_PREFIX): dict(row.value) for row in rows}


class LocationRunner:
    """The thread that works one location for as long as this process holds its lease."""

    def __init__(
        self,
        *,
        engine: Engine,
        location_id: str,
        pipeline: Callable[[], Any],
        holder: str,
        clock: Callable[[], datetime] = utcnow,
        poll_seconds: float = POLL_SECONDS,
        jobs: Sequence[LocationJob] = (),
    ) -> None:
        self.engine, self.location_id, self.holder = engine, location_id, holder
        self.jobs, self._job_due = list(jobs), {job.id: clock() for job in jobs}
        self.clock, self.poll_seconds = clock, poll_seconds
        self.worker_id = f"{holder}:{location_id}"[:128]
        self.intake = IntakeWorker(
            engine=engine, location_id=location_id, pipeline=pipeline, clock=clock,
            worker_id=self.worker_id, batch=1, own_location_only=True,
            on_error=self._on_error,
        )  # fmt: skip
        self.parked_until: datetime | None = None
        self.worked = 0
        self._last_state: str | None = None
        self._stop, self._wake = threading.Event(), threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> LocationRunner:
        self._thread = threading.Thread(
            target=self._run, name=f"location-{self.location_id}", daemon=True
        )
        self._thread.start()
        return self

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 0.0) -> None:
        """Stop after the property in hand (its item is finished, or claimed again later)."""
        self._stop.set()
        self.intake.stop(timeout=0)
        self._wake.set()
        if self._thread is not None and timeout:
            self._thread.join(timeout=timeout)

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def pass_once(self) -> None:
        """One pass: drain what is due unless parked, record the outcome, run due jobs."""
        self._drain()
        self.run_due_jobs()

    def run_due_jobs(self) -> list[str]:
        """Run each job whose time has come; returns their ids. A failure is the job's own."""
        ran = []
        for job in self.jobs:
            now = self.clock()
            parked = self.parked_until is not None and now < self.parked_until
            if now < self._job_due[job.id] or (parked and not job.when_parked):
                continue
            self._job_due[job.id] = now + job.every
            ran.append(job.id)
            try:
                job.run(now)
            except Exception:
                log.exception("location %s: job %s failed", self.location_id, job.id)
        return ran

    def _drain(self) -> None:
        now = self.clock()
        if self.parked_until is not None and now < self.parked_until:
            return
        self.parked_until = None
        try:
            worked = self.intake.drain()
        except DailyLimitReached as exc:
            self.parked_until = daily_reset_after(self.clock())
            log.warning("location %s parked until %s: %s", self.location_id,
                        self.parked_until.isoformat(), exc)  # fmt: skip
            self._record("parked", error=str(exc))
            return
        except Exception as exc:  # the thread outlives a bad pass (database away, a bug)
            log.exception("location %s: pass failed", self.location_id)
            self._record("failing", error=f"{type(exc).__name__}: {exc}"[:300])
            return
        self.worked += worked
        if worked or self._last_state != "idle":  # an idle location writes nothing
            self._record("working" if worked else "idle")

    def _run(self) -> None:
        while not self._stop.is_set():
            self.pass_once()
            self._wake.wait(self.poll_seconds)
            self._wake.clear()

    def _on_error(self, exc: BaseException) -> None:
        if isinstance(exc, GHLDailyLimitError):
            raise DailyLimitReached(f"GHL's daily limit reached: {exc}")

    def _record(self, state: str, *, error: str | None = None) -> None:
        self._last_state = state
        value = {
            "holder": self.holder,
            "state": state,
            "parked_until": self.parked_until.isoformat() if self.parked_until else None,
            "last_error": error,
            "worked": self.worked,
        }
        try:
            with session_scope(self.engine) as session:
                set_sync_state(
                    session=session, key=status_key(self.location_id), value=value,
                    now=self.clock(),
                )  # fmt: skip
        except Exception:
            log.exception("location %s: could not record its status", self.location_id)
