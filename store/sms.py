"""The per-contact SMS cap, enforced by the database so it holds across processes.

Every SMS takes a slot before it is sent: a row in `SmsLog` stamped with the reservation time.
The cap counts the rows in the rolling window, so a slot frees exactly ``window`` after it was
taken. Reserve and commit, send, then confirm (or release if the send definitely failed):

    with session_scope(engine) as session:
        slot = reserve_sms_slot(session=session, contact_id=cid, now=now, cap=3, mls_id=mls)
    if slot is None:
        ...  # over the cap: defer until next_slot_free_at(...)
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Integer, String, delete, func, insert, literal, text, update
from sqlmodel import Session, col, select

from store.db import PG_LOCK_SMS, dialect_name, pg_lock_key, rows_affected
from store.models import SmsLog
from store.types import UTCDateTime

DEFAULT_WINDOW = timedelta(hours=24)


def _in_window(contact_id: str, now: datetime, window: timedelta) -> list[ColumnElement[bool]]:
    # Rows stamped after `now` count too: with several instances one clock may run a little
    # ahead, and ignoring its fresh reservations would let the pair exceed the cap.
    return [col(SmsLog.contact_id) == contact_id, col(SmsLog.sent_at) > now - window]


def reserve_sms_slot(
    *,
    session: Session,
    contact_id: str,
    now: datetime,
    cap: int,
    window: timedelta = DEFAULT_WINDOW,
    mls_id: str | None = None,
    outbox_id: int | None = None,
) -> SmsLog | None:
    """Take one of the contact's ``cap`` slots in the window ending at ``now``; None if full.

    Atomic across threads and processes. The count and the insert are one
    ``INSERT ... SELECT ... WHERE (count) < cap`` statement; on SQLite it runs under the
    database write lock (the session began with ``BEGIN IMMEDIATE``), on PostgreSQL under a
    per-contact advisory lock held until the transaction ends, because READ COMMITTED alone
    would let two inserts each see the other's row missing. Commit promptly: others wait.
    """
    if dialect_name(session) == "postgresql":
        session.execute(
            text(f"SELECT pg_advisory_xact_lock(:ns, {pg_lock_key('contact_id')})"),
            {"ns": PG_LOCK_SMS, "contact_id": contact_id},
        )
    taken = (
        select(func.count())
        .select_from(SmsLog)
        .where(*_in_window(contact_id, now, window))
        .scalar_subquery()
    )
    row = select(
        literal(contact_id, String()),
        literal(mls_id, String()),
        literal(outbox_id, Integer()),
        literal(now, UTCDateTime()),
    ).where(taken < cap)
    stmt = (
        insert(SmsLog)
        .from_select(["contact_id", "mls_id", "outbox_id", "sent_at"], row)
        .returning(col(SmsLog.id))
    )
    slot_id = session.execute(stmt).scalar_one_or_none()
    if slot_id is None:
        return None
    return session.get(SmsLog, slot_id)


def confirm_sms_slot(*, session: Session, slot_id: int, message_id: str) -> bool:
    """Attach GHL's message id to a reserved slot once the send succeeded."""
    stmt = (
        update(SmsLog)
        .where(col(SmsLog.id) == slot_id)
        .values(message_id=message_id)
        .execution_options(synchronize_session="fetch")
    )
    return rows_affected(session.execute(stmt)) == 1


def release_sms_slot(*, session: Session, slot_id: int) -> bool:
    """Give back a slot whose send definitely failed (GHL rejected it; nothing went out).

    Only unconfirmed slots are released: a message GHL accepted counts against the cap.
    When unsure whether the message went out, keep the slot.
    """
    stmt = (
        delete(SmsLog)
        .where(col(SmsLog.id) == slot_id, col(SmsLog.message_id).is_(None))
        .execution_options(synchronize_session="fetch")
    )
    return rows_affected(session.execute(stmt)) == 1


def sms_count(
    *, session: Session, contact_id: str, now: datetime, window: timedelta = DEFAULT_WINDOW
) -> int:
    """How many slots the contact has used in the window ending at ``now``."""
    stmt = select(func.count()).select_from(SmsLog).where(*_in_window(contact_id, now, window))
    return session.exec(stmt).one()


def next_slot_free_at(
    *,
    session: Session,
    contact_id: str,
    now: datetime,
    cap: int,
    window: timedelta = DEFAULT_WINDOW,
) -> datetime | None:
    """When the contact can next take a slot: None if one is free now.

    With ``n >= cap`` slots in the window, ``n - cap + 1`` of them must age out; the oldest go
    first, so the answer is the ``(n - cap + 1)``-th oldest slot's time plus the window.
    """
    stmt = (
        select(SmsLog.sent_at)
        .where(*_in_window(contact_id, now, window))
        .order_by(col(SmsLog.sent_at))
    )
    taken = list(session.exec(stmt).all())
    if len(taken) < cap:
        return None
    return taken[len(taken) - cap] + window
