"""Worker processes share GHL locations through leases in the store (issue 14, scale out).

Every `dealfinder worker --agency` process runs `LocationLeases.cycle` every few seconds. One
transaction:

1. says "I am alive" (its `lease_workers` row), and counts the live workers (seen within one
   lease) to know its fair share: at most ceil(active locations / live workers);
2. lets go of locations that are no longer active (uninstalled or disabled) or above its share
   (a worker just joined: it takes them on its next cycle);
3. renews the leases it keeps;
4. takes free or expired leases up to its share with ``SELECT ... FOR UPDATE SKIP LOCKED``, so
   two workers never take the same location: on PostgreSQL the row locks decide, on SQLite the
   database write lock (`session_scope` takes it up front) orders the claimers.

A worker that dies stops renewing: its leases expire after `lease_seconds` (30 s by default,
DEALFINDER_LEASE_SECONDS) and the others take them on their next cycle, within a minute.
SQLite is for one machine: there one process usually takes every location.

    leases = LocationLeases(engine, holder="host:4242:ab12", lease_seconds=30)
    cycle = leases.cycle(active=["loc_a", "loc_b"], now=utcnow())
    cycle.held           # ["loc_a", "loc_b"] when this is the only live worker
    leases.release_all(now=utcnow())   # at a clean stop, so others need not wait
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, func, or_
from sqlmodel import Session, col, select

from store.db import dialect_insert, session_scope
from store.models_leases import LeaseWorker, LocationLease

LEASE_SECONDS = 30.0
# A worker row unseen for this many leases is gone for good: its row is deleted.
_FORGET_AFTER = 10


@dataclass(frozen=True)
class LeaseCycle:
    """What one cycle left this worker with, and what changed."""

    held: list[str]
    taken: list[str] = field(default_factory=list)
    taken_over: dict[str, str] = field(default_factory=dict)  # location -> its expired holder
    released: list[str] = field(default_factory=list)
    live_workers: int = 1
    share: int = 0


class LocationLeases:
    """One worker process's leases on one store."""

    def __init__(self, engine: Engine, *, holder: str, lease_seconds: float = LEASE_SECONDS):
        if lease_seconds <= 0:
            raise ValueError("lease_seconds must be positive")
        self.engine = engine
        self.holder = holder
        self.lease = timedelta(seconds=lease_seconds)

    def cycle(self, *, active: Sequence[str], now: datetime) -> LeaseCycle:
        """Heartbeat, let go, renew and take leases in one transaction (see the module doc)."""
        wanted = sorted(set(active))
        with session_scope(self.engine) as session:
            live = self._heartbeat(session, now=now)
            self._ensure_rows(session, wanted)
            share = math.ceil(len(wanted) / live) if wanted else 0
            mine = session.exec(
                select(LocationLease)
                .where(LocationLease.holder == self.holder)
                .order_by(col(LocationLease.location_id))
            ).all()
            keep = [row for row in mine if row.location_id in wanted][:share]
            released = [row.location_id for row in mine if row not in keep]
            for row in mine:
                if row in keep:
                    row.expires_at, row.heartbeat_at = now + self.lease, now
                else:
                    row.holder, row.expires_at = None, None
                session.add(row)
            taken, taken_over = self._take(session, wanted, share - len(keep), now=now)
        held = sorted([row.location_id for row in keep] + taken)
        return LeaseCycle(held, taken, taken_over, released, live, share)

    def release_all(self, *, now: datetime) -> None:
        """Let go of every lease and say goodbye (a clean stop: others take over at once)."""
        with session_scope(self.engine) as session:
            for row in session.exec(
                select(LocationLease).where(LocationLease.holder == self.holder)
            ).all():
                row.holder, row.expires_at = None, None
                session.add(row)
            found = session.get(LeaseWorker, self.holder)
            if found is not None:
                session.delete(found)

    # -- internals -------------------------------------------------------------------------

    def _heartbeat(self, session: Session, *, now: datetime) -> int:
        row = session.get(LeaseWorker, self.holder) or LeaseWorker(holder=self.holder)
        row.seen_at = now
        session.add(row)
        session.flush()
        session.execute(
            delete(LeaseWorker).where(col(LeaseWorker.seen_at) < now - self.lease * _FORGET_AFTER)
        )
        live = session.exec(
            select(func.count()).where(col(LeaseWorker.seen_at) > now - self.lease)
        ).one()
        return max(1, int(live))

    def _ensure_rows(self, session: Session, wanted: list[str]) -> None:
        if not wanted:
            return
        stmt = dialect_insert(session, LocationLease).values(
            [{"location_id": loc} for loc in wanted]
        )
        session.execute(stmt.on_conflict_do_nothing(index_elements=["location_id"]))

    def _take(
        self, session: Session, wanted: list[str], room: int, *, now: datetime
    ) -> tuple[list[str], dict[str, str]]:
        if room <= 0 or not wanted:
            return [], {}
        free = (
            select(LocationLease)
            .where(
                col(LocationLease.location_id).in_(wanted),
                or_(
                    col(LocationLease.holder).is_(None),
                    col(LocationLease.expires_at).is_(None),
                    col(LocationLease.expires_at) <= now,
                ),
            )
            .order_by(col(LocationLease.location_id))
            .limit(room)
            .with_for_update(skip_locked=True)
        )
        taken: list[str] = []
        taken_over: dict[str, str] = {}
        for row in session.exec(free).all():
            if row.holder and row.holder != self.holder:
                taken_over[row.location_id] = row.holder
            row.holder, row.taken_at = self.holder, now
            row.expires_at, row.heartbeat_at = now + self.lease, now
            session.add(row)
            taken.append(row.location_id)
        return taken, taken_over


def lease_holders(engine: Engine, *, now: datetime) -> dict[str, str | None]:
    """Each known location's live holder (None: free or expired), for health and tests."""
    with session_scope(engine, readonly=True) as session:
        rows = session.exec(select(LocationLease)).all()
        return {
            row.location_id: row.holder if row.expires_at and row.expires_at > now else None
            for row in rows
        }
