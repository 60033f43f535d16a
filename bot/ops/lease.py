"""Once per tick across every instance: the lease a scheduled job takes before it runs.

Every DealFinder instance runs the same APScheduler jobs on one shared database, so two
instances can fire the same tick of a job. Before running, the runner claims the tick:

* PostgreSQL: a session-level advisory lock on a dedicated connection, held for the whole run
  (a twin instance firing now sees the lock taken and skips; if this process dies, its
  connection closes and the lock goes with it), plus the ``job:{id}`` row in `SyncState`
  whose ``last_tick`` tells a twin that fires a moment *after* the run that this tick is done.
* SQLite (one machine): the claim is one ``BEGIN IMMEDIATE`` transaction (the database write
  lock orders claimers) and ``running_until`` in the row keeps a second process off the job
  while a run is under way; a crashed run frees it when that lease ends.

The claim is committed before the job starts, so a run that fails is not repeated for the same
tick by a late twin: the next tick retries.

    lease = TickLease(engine, owner="host-4242")
    claim = lease.claim(job_id="health", tick="2027-01-15T15:00:00+00:00", now=now,
                        hold_for=timedelta(minutes=15))
    if isinstance(claim, Claim):
        try: ...  # run the job
        finally: lease.finish(claim, now=later, error=None)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.engine import Connection

from store.db import pg_lock_key, session_scope
from store.state import get_sync_state, set_sync_state

# pg_advisory locks share one key space per database (store.db keeps 0x44460001-2 apart).
PG_LOCK_JOBS = 0x44460003
# The longest error text kept in a job's record (a description, never a payload).
_ERROR_LIMIT = 500


def job_key(job_id: str) -> str:
    """The `SyncState` key holding a job's last tick and run record."""
    return f"job:{job_id}"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


@dataclass
class JobRecord:
    """What the store knows of a job's runs (the JSON value of its `SyncState` row)."""

    last_tick: str | None = None
    owner: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    running_until: str | None = None
    ok: bool | None = None
    runs: int = 0
    consecutive_failures: int = 0
    last_error: str | None = None

    @classmethod
    def from_value(cls, value: dict[str, Any] | None) -> JobRecord:
        known = {k: v for k, v in (value or {}).items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def busy_at(self, now: datetime) -> bool:
        """True while another run's lease is live (SQLite's guard against overlap)."""
        until = _time(self.running_until)
        return until is not None and until > now


@dataclass(frozen=True)
class Claim:
    """This instance holds `tick` of `job_id`; pass it back to `TickLease.finish`."""

    job_id: str
    tick: str
    owner: str
    started_at: datetime
    connection: Connection | None = None  # PostgreSQL: the one holding the advisory lock


@dataclass(frozen=True)
class Skipped:
    """Why this instance does not run the tick: "locked", "done" or "busy"."""

    reason: str


def read_job_record(*, engine: Engine, job_id: str) -> JobRecord:
    """A job's stored run record (empty before its first run)."""
    with session_scope(engine, readonly=True) as session:
        row = get_sync_state(session=session, key=job_key(job_id))
        return JobRecord.from_value(row.value if row else None)


class TickLease:
    """Claims ticks of jobs for one instance (`owner`) on one database."""

    def __init__(self, engine: Engine, *, owner: str) -> None:
        self.engine = engine
        self.owner = owner
        self.postgres = engine.dialect.name == "postgresql"

    def claim(
        self, *, job_id: str, tick: str, now: datetime, hold_for: timedelta
    ) -> Claim | Skipped:
        """Take `tick` of `job_id` for this instance, or say why another instance has it.

        Raises the database's error when the store is unreachable (the caller decides).
        """
        connection = self._advisory_lock(job_id) if self.postgres else None
        if self.postgres and connection is None:
            return Skipped("locked")
        try:
            verdict = self._claim_row(job_id=job_id, tick=tick, now=now, hold_for=hold_for)
        except BaseException:
            self._unlock(connection, job_id)
            raise
        if verdict is not None:
            self._unlock(connection, job_id)
            return verdict
        return Claim(
            job_id=job_id, tick=tick, owner=self.owner, started_at=now, connection=connection
        )

    def finish(self, claim: Claim, *, now: datetime, error: str | None) -> JobRecord | None:
        """Record how the run ended and let go of the job. None if the row was taken over."""
        try:
            with session_scope(self.engine) as session:
                key = job_key(claim.job_id)
                row = get_sync_state(session=session, key=key)
                record = JobRecord.from_value(row.value if row else None)
                if record.owner != self.owner or record.last_tick != claim.tick:
                    return None  # a SQLite lease that ran out: the new holder owns the row
                record.finished_at = _iso(now)
                record.running_until = None
                record.ok = error is None
                record.last_error = error[:_ERROR_LIMIT] if error else None
                record.consecutive_failures = (
                    0 if error is None else record.consecutive_failures + 1
                )
                set_sync_state(
                    session=session,
                    key=key,
                    value=asdict(record),
                    now=now,
                    last_synced_at=now if error is None else None,
                )
                return record
        finally:
            self._unlock(claim.connection, claim.job_id)

    # -- internals -------------------------------------------------------------------------

    def _claim_row(
        self, *, job_id: str, tick: str, now: datetime, hold_for: timedelta
    ) -> Skipped | None:
        with session_scope(self.engine) as session:
            key = job_key(job_id)
            row = get_sync_state(session=session, key=key)
            record = JobRecord.from_value(row.value if row else None)
            # Ticks are ISO strings of one format per job, so they sort as times do; a twin
            # that fires an older tick after a newer one ran must not run it either.
            if record.last_tick is not None and record.last_tick >= tick:
                return Skipped("done")
            if not self.postgres and record.busy_at(now):
                return Skipped("busy")
            record.last_tick = tick
            record.owner = self.owner
            record.started_at = _iso(now)
            record.finished_at = None
            record.running_until = _iso(now + hold_for)
            record.runs += 1
            set_sync_state(session=session, key=key, value=asdict(record), now=now)
        return None

    def _advisory_lock(self, job_id: str) -> Connection | None:
        connection = self.engine.connect()
        try:
            # Autocommit: the lock is the session's, and no transaction idles while the job runs.
            connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            # pg_lock_key: the schema keeps deployments (and test schemas) in one database apart.
            got = connection.execute(
                text(f"SELECT pg_try_advisory_lock(:ns, {pg_lock_key('job')})"),
                {"ns": PG_LOCK_JOBS, "job": job_id},
            ).scalar()
        except BaseException:
            connection.close()
            raise
        if not got:
            connection.close()
            return None
        return connection

    def _unlock(self, connection: Connection | None, job_id: str) -> None:
        if connection is None:
            return
        try:
            connection.execute(
                text(f"SELECT pg_advisory_unlock(:ns, {pg_lock_key('job')})"),
                {"ns": PG_LOCK_JOBS, "job": job_id},
            )
        except Exception:
            # The lock dies with the session: drop this connection instead of pooling it.
            connection.invalidate()
        finally:
            connection.close()
