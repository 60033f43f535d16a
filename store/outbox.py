"""The outbox: side effects (SMS, GHL calls, Slack posts) recorded first, performed once.

An intent is enqueued under a dedupe key; a worker claims due items (taking a lease), performs
them outside any transaction, and reports back. Nothing here commits: each call runs in the
caller's `session_scope`, and a claim must be committed before the side effect starts.

    with session_scope(engine) as session:
        enqueue(session=session, kind="sms", dedupe_key=f"sms:{cid}:{mls}", payload={...})
    with session_scope(engine) as session:
        items = claim_due(session=session, now=now, worker_id=me, lease_seconds=120, limit=10)
    for item in items:
        ...  # perform it, then in a new session: mark_sent / mark_failed / defer / exclude

Transitions: pending|deferred -> in_flight (claim) -> sent | failed | pending (retry) |
deferred | cancelled | excluded. A worker reports on items it holds (pass its ``worker_id``);
without a ``worker_id`` only items nobody holds (pending, deferred) can be changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, NotRequired, TypedDict, Unpack

from sqlalchemy import and_, case, func, null, or_, update
from sqlmodel import Session, col, select

from store.db import dialect_insert, rows_affected
from store.models import OutboxItem, OutboxStatus
from store.types import as_utc, utcnow

ERROR_LIMIT = 2000  # characters of an error kept with an item
_WAITING = (OutboxStatus.PENDING, OutboxStatus.DEFERRED)


def enqueue(
    *,
    session: Session,
    kind: str,
    dedupe_key: str,
    payload: dict[str, Any],
    not_before: datetime | None = None,
    contact_id: str | None = None,
    now: datetime | None = None,
) -> tuple[OutboxItem, bool]:
    """Record an intent once: returns the item and whether this call created it.

    Idempotent by ``dedupe_key`` (``INSERT ... ON CONFLICT DO NOTHING``, then a read), so the
    same intent enqueued twice, or by two processes at once, exists once; the second caller
    gets the first one's item, whatever its status. ``contact_id`` lets an opt-out cancel it.
    """
    now = now or utcnow()
    stmt = (
        dialect_insert(session, OutboxItem)
        .values(
            kind=kind,
            dedupe_key=dedupe_key,
            contact_id=contact_id,
            payload=payload,
            status=OutboxStatus.PENDING,
            not_before=not_before,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(col(OutboxItem.id))
    )
    created = session.execute(stmt).scalar_one_or_none() is not None
    item = get_by_dedupe_key(session=session, dedupe_key=dedupe_key)
    if item is None:  # only if the row was deleted between the two statements
        raise LookupError(f"outbox item {dedupe_key!r} vanished while being enqueued")
    return item, created


def get_item(*, session: Session, item_id: int) -> OutboxItem | None:
    """An outbox item by id, freshly read."""
    return session.get(OutboxItem, item_id, populate_existing=True)


def get_by_dedupe_key(*, session: Session, dedupe_key: str) -> OutboxItem | None:
    """An outbox item by its dedupe key, freshly read."""
    stmt = select(OutboxItem).where(OutboxItem.dedupe_key == dedupe_key)
    return session.exec(stmt.execution_options(populate_existing=True)).first()


def _due(now: datetime) -> Any:
    waiting_and_due = and_(
        col(OutboxItem.status).in_(_WAITING),
        or_(col(OutboxItem.not_before).is_(None), col(OutboxItem.not_before) <= now),
    )
    lease_expired = and_(
        col(OutboxItem.status) == OutboxStatus.IN_FLIGHT, col(OutboxItem.lease_until) <= now
    )
    return or_(waiting_and_due, lease_expired)


def claim_due(
    *,
    session: Session,
    now: datetime,
    worker_id: str,
    lease_seconds: float,
    limit: int,
    kinds: Sequence[str] | None = None,
    key_prefix: str | None = None,
) -> list[OutboxItem]:
    """Take up to ``limit`` due items for ``worker_id``, oldest first, each under a lease.

    ``key_prefix`` keeps to items whose dedupe key starts with it (one location's intake).

    Due means pending or deferred with ``not_before`` passed, or in flight under an expired
    lease. One ``UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED)`` moves them to
    in_flight, so two claimers never get the same item: on PostgreSQL the row locks decide, on
    SQLite the database write lock does. Commit before performing the side effects.

    An item whose lease expired is handed back, never silently re-sent: it comes with
    ``attempts > 1`` and ``reclaimed_from`` set to the worker that lost it
    (``item.outcome_unknown``). That worker may have performed the side effect before dying,
    so check first (e.g. look for the message in GHL's conversation) and call `mark_sent`
    instead of repeating it if it happened.
    """
    due = select(OutboxItem.id).where(_due(now))
    if kinds is not None:
        due = due.where(col(OutboxItem.kind).in_(list(kinds)))
    if key_prefix is not None:
        due = due.where(col(OutboxItem.dedupe_key).startswith(key_prefix, autoescape=True))
    due = due.order_by(col(OutboxItem.id)).limit(limit).with_for_update(skip_locked=True)
    lost_by = case(
        (col(OutboxItem.status) == OutboxStatus.IN_FLIGHT, col(OutboxItem.claimed_by)), else_=null()
    )
    stmt = (
        update(OutboxItem)
        .where(col(OutboxItem.id).in_(due.scalar_subquery()))
        .values(
            status=OutboxStatus.IN_FLIGHT,
            reclaimed_from=lost_by,
            claimed_by=worker_id,
            lease_until=now + timedelta(seconds=lease_seconds),
            attempts=OutboxItem.attempts + 1,
            updated_at=now,
        )
        .returning(OutboxItem)
    )
    options = {"synchronize_session": False, "populate_existing": True}
    items = session.scalars(stmt, execution_options=options).all()
    return sorted(items, key=lambda item: item.id or 0)


def _transition(
    *, session: Session, item_id: int, worker_id: str | None, values: dict[str, Any]
) -> OutboxItem | None:
    """Apply ``values`` if the caller may change the item: the updated item, else None."""
    stmt = update(OutboxItem).where(col(OutboxItem.id) == item_id)
    if worker_id is None:
        stmt = stmt.where(col(OutboxItem.status).in_(_WAITING))
    else:
        # A worker whose lease was taken over must not overwrite the new holder's outcome.
        stmt = stmt.where(
            col(OutboxItem.status) == OutboxStatus.IN_FLIGHT,
            col(OutboxItem.claimed_by) == worker_id,
        )
    stmt = stmt.values(**values).returning(OutboxItem)
    options = {"synchronize_session": False, "populate_existing": True}
    return session.scalars(stmt, execution_options=options).one_or_none()


def expire_leases(
    *, session: Session, key_prefix: str, kinds: Sequence[str], except_worker: str, now: datetime
) -> int:
    """End the leases of in-flight items under ``key_prefix`` held by anyone but
    ``except_worker`` (a location taken over from a worker that died): `claim_due` hands them
    back at once, with ``reclaimed_from`` set, instead of after their own lease."""
    stmt = (
        update(OutboxItem)
        .where(
            col(OutboxItem.status) == OutboxStatus.IN_FLIGHT,
            col(OutboxItem.kind).in_(list(kinds)),
            col(OutboxItem.dedupe_key).startswith(key_prefix, autoescape=True),
            col(OutboxItem.claimed_by) != except_worker,
            col(OutboxItem.lease_until) > now,
        )
        .values(lease_until=now)
    )
    return rows_affected(session.execute(stmt, execution_options={"synchronize_session": False}))


def mark_sent(
    *,
    session: Session,
    item_id: int,
    worker_id: str,
    result: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> OutboxItem | None:
    """Record that the side effect happened. None if this worker no longer holds the item."""
    values = {
        "status": OutboxStatus.SENT,
        "result": result,
        "lease_until": None,
        "updated_at": now or utcnow(),
    }
    return _transition(session=session, item_id=item_id, worker_id=worker_id, values=values)


def mark_failed(
    *,
    session: Session,
    item_id: int,
    worker_id: str,
    error: str,
    retry_at: datetime | None = None,
    now: datetime | None = None,
) -> OutboxItem | None:
    """Record a failed attempt: back to pending from ``retry_at`` if given, else failed for good.

    ``error`` is stored as given (truncated): pass a description, never a token or a payload.
    None if this worker no longer holds the item.
    """
    values: dict[str, Any] = {
        "status": OutboxStatus.PENDING if retry_at else OutboxStatus.FAILED,
        "last_error": error[:ERROR_LIMIT],
        "lease_until": None,
        "updated_at": now or utcnow(),
    }
    if retry_at is not None:
        values["not_before"] = retry_at
    return _transition(session=session, item_id=item_id, worker_id=worker_id, values=values)


def defer(
    *,
    session: Session,
    item_id: int,
    until: datetime,
    reason: str,
    worker_id: str | None = None,
    now: datetime | None = None,
) -> OutboxItem | None:
    """Postpone an item until ``until`` (quiet hours, SMS cap); ``reason`` goes in last_error.

    The item did not run, so a deferral by the holding worker gives back the attempt its
    claim counted. None if the caller may not change the item.
    """
    values: dict[str, Any] = {
        "status": OutboxStatus.DEFERRED,
        "not_before": until,
        "last_error": reason[:ERROR_LIMIT],
        "lease_until": None,
        "updated_at": now or utcnow(),
    }
    if worker_id is not None:
        values["attempts"] = OutboxItem.attempts - 1
    return _transition(session=session, item_id=item_id, worker_id=worker_id, values=values)


class CloseArgs(TypedDict):
    """The arguments of `cancel` and `exclude`: which item, why, and who asks when."""

    session: Session
    item_id: int
    reason: str
    worker_id: NotRequired[str | None]
    now: NotRequired[datetime | None]


def _close(status: OutboxStatus, args: CloseArgs) -> OutboxItem | None:
    values = {
        "status": status,
        "last_error": args["reason"][:ERROR_LIMIT],
        "lease_until": None,
        "updated_at": args.get("now") or utcnow(),
    }
    return _transition(
        session=args["session"],
        item_id=args["item_id"],
        worker_id=args.get("worker_id"),
        values=values,
    )


def cancel(**args: Unpack[CloseArgs]) -> OutboxItem | None:
    """Drop an item that should no longer happen (e.g. the buyer opted out)."""
    return _close(OutboxStatus.CANCELLED, args)


def exclude(**args: Unpack[CloseArgs]) -> OutboxItem | None:
    """Drop an item a policy rules out (e.g. no valid phone, DND set in GHL)."""
    return _close(OutboxStatus.EXCLUDED, args)


def extend_lease(
    *, session: Session, item_id: int, worker_id: str, until: datetime
) -> OutboxItem | None:
    """Keep holding an item whose work takes longer than planned. None if already lost."""
    values = {"lease_until": until}
    return _transition(session=session, item_id=item_id, worker_id=worker_id, values=values)


def cancel_pending_for(
    *,
    session: Session,
    contact_id: str,
    reason: str,
    now: datetime | None = None,
    kinds: Sequence[str] | None = None,
) -> int:
    """Cancel every pending or deferred item for a contact; returns how many.

    Items already in flight are left to their worker, which must re-check the buyer's
    opt-out after claiming: the opt-out and the claim are then ordered by the database.
    """
    stmt = update(OutboxItem).where(
        col(OutboxItem.contact_id) == contact_id, col(OutboxItem.status).in_(_WAITING)
    )
    if kinds is not None:
        stmt = stmt.where(col(OutboxItem.kind).in_(list(kinds)))
    stmt = stmt.values(
        status=OutboxStatus.CANCELLED,
        last_error=reason[:ERROR_LIMIT],
        updated_at=now or utcnow(),
    ).execution_options(synchronize_session="fetch")
    return rows_affected(session.execute(stmt))


def pending_stats(*, session: Session, now: datetime) -> tuple[int, float]:
    """How many items are due but not done, and how long the oldest has been due (seconds).

    Deferred items still waiting for their time do not count: a quiet-hours backlog is not
    a stuck queue. Returns ``(0, 0.0)`` when nothing is due.
    """
    due_since = func.coalesce(col(OutboxItem.not_before), col(OutboxItem.created_at))
    stmt = select(func.count(), func.min(due_since)).where(_due(now))
    count, oldest = session.execute(stmt).one()
    if not count or oldest is None:
        return 0, 0.0
    # min() over a coalesce loses the column type, so SQLite hands back text here.
    oldest_at = as_utc(datetime.fromisoformat(oldest) if isinstance(oldest, str) else oldest)
    return int(count), max(0.0, (now - oldest_at).total_seconds())
