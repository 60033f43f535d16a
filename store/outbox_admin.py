"""What a person does with the outbox: see what waits and what failed, and settle failures.

Failed items are side effects DealFinder would not repeat on its own: GHL's answer was lost
mid-call (an SMS or workflow enrolment may or may not have happened), or GHL refused the call
for good. After looking in GHL, an operator either puts the item back (`requeue_failed`: due
now, judged afresh — quiet hours, opt-outs and the SMS cap still apply) or closes it
(`resolve_failed`: it did happen, or it should not). Only failed items can be changed here, and
each change is one conditional UPDATE, so two operators cannot both act on one item.

    with session_scope(engine) as session:
        counts = status_counts(session=session)          # {(kind, status): n}
        for item in failed_items(session=session, limit=20): ...
        requeue_failed(session=session, item_id=42, note="not in GHL's conversation")
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from store.models import OutboxItem, OutboxStatus
from store.outbox import ERROR_LIMIT
from store.types import utcnow


def status_counts(*, session: Session) -> dict[tuple[str, str], int]:
    """How many items of each kind are in each status."""
    rows = session.execute(
        select(OutboxItem.kind, OutboxItem.status, func.count()).group_by(
            col(OutboxItem.kind), col(OutboxItem.status)
        )
    ).all()
    return {(kind, status): int(n) for kind, status, n in rows}


def failed_items(*, session: Session, limit: int = 50) -> list[OutboxItem]:
    """Failed items, the most recent first."""
    stmt = (
        select(OutboxItem)
        .where(OutboxItem.status == OutboxStatus.FAILED)
        .order_by(col(OutboxItem.updated_at).desc(), col(OutboxItem.id).desc())
        .limit(limit)
    )
    return list(session.exec(stmt).all())


def _settle(
    *, session: Session, item_id: int, values: dict[str, Any], what: str, note: str
) -> OutboxItem | None:
    current = session.get(OutboxItem, item_id)
    if current is None or current.status != OutboxStatus.FAILED:
        return None
    previous = current.last_error or "no reason recorded"
    text = f"{what}{': ' + note if note else ''} (was: {previous})"
    stmt = (
        update(OutboxItem)
        .where(col(OutboxItem.id) == item_id, col(OutboxItem.status) == OutboxStatus.FAILED)
        .values(**values, last_error=text[:ERROR_LIMIT])
        .returning(OutboxItem)
    )
    options = {"synchronize_session": False, "populate_existing": True}
    return session.scalars(stmt, execution_options=options).one_or_none()


def requeue_failed(
    *, session: Session, item_id: int, note: str = "", now: datetime | None = None
) -> OutboxItem | None:
    """Put a failed item back, due now, as if new. None if there is no such failed item.

    The worker that takes it judges it afresh: a text still waits for the buyer's allowed
    hours, an opted-out buyer is still skipped, the daily cap still holds.
    """
    at = now or utcnow()
    values = {
        "status": OutboxStatus.PENDING,
        "not_before": at,
        "attempts": 0,
        "reclaimed_from": None,  # the person checked: it did not happen
        "claimed_by": None,
        "lease_until": None,
        "updated_at": at,
    }
    return _settle(session=session, item_id=item_id, values=values, what="requeued by hand",
                   note=note)  # fmt: skip


def resolve_failed(
    *,
    session: Session,
    item_id: int,
    note: str = "",
    happened: bool = False,
    now: datetime | None = None,
) -> OutboxItem | None:
    """Close a failed item for good: `happened` (GHL shows it was done) makes it sent, else it
    is cancelled (it should not happen). None if there is no such failed item."""
    values: dict[str, Any] = {"lease_until": None, "updated_at": now or utcnow()}
    if happened:
        values |= {"status": OutboxStatus.SENT, "result": {"confirmed_by_hand": note or True}}
    else:
        values["status"] = OutboxStatus.CANCELLED
    what = "confirmed done by hand" if happened else "closed by hand"
    return _settle(session=session, item_id=item_id, values=values, what=what, note=note)
