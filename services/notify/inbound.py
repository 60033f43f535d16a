"""The store side of a contact's reply: cancel their waiting texts, find the deal they are
answering, and read what became of a reply we queued."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, or_
from sqlmodel import Session, col, select

from services.notify.common import KIND_FOLLOWUP, KIND_SMS
from store import outbox
from store.db import session_scope
from store.models import OutboxItem, OutboxStatus


def cancel_waiting_texts(*, session: Session, contact_id: str, now: datetime, why: str) -> int:
    """Cancel the contact's waiting texts and follow-up workflows (which may text them)."""
    count = outbox.cancel_pending_for(
        session=session,
        contact_id=contact_id,
        reason=f"opted_out: {why}",
        now=now,
        kinds=[KIND_SMS],
    )
    waiting = session.exec(
        select(OutboxItem).where(
            OutboxItem.contact_id == contact_id,
            OutboxItem.kind == KIND_FOLLOWUP,
            col(OutboxItem.status).in_([OutboxStatus.PENDING, OutboxStatus.DEFERRED]),
        )
    ).all()
    for item in waiting:
        if item.payload.get("action") != "workflow" or item.id is None:
            continue
        if outbox.cancel(session=session, item_id=item.id, reason=f"opted_out: {why}", now=now):
            count += 1
    return count


def reply_state(*, engine: Engine, item_id: int | None, created: bool) -> str:
    """What became of a reply we queued: "sent" (by this call) or "already_sent", "queued"
    (GHL busy; the worker retries), or the outbox status it ended in (e.g. "excluded")."""
    with session_scope(engine, readonly=True) as session:
        item = outbox.get_item(session=session, item_id=item_id) if item_id else None
    if item is None:
        return "queued"
    if item.status == OutboxStatus.SENT:
        return "sent" if created else "already_sent"
    if item.status in (OutboxStatus.PENDING, OutboxStatus.DEFERRED, OutboxStatus.IN_FLIGHT):
        return "queued"
    return str(item.status)


def last_deal(session: Session, contact_id: str) -> str | None:
    """Which deal a reply from this contact is about: the one rule (opt-outs, reviews, HELP and
    the webhook's Slack post all ask here).

    The property of the newest text about a deal sent to this contact (a deal text to a buyer,
    or a hot-deal alert to a broker); else of the newest one that was *tried* (its GHL answer
    lost, or refused after an attempt): the reply shows they got something, and a reply must
    reach people. None when the contact was never texted about a deal.
    """
    items = session.exec(
        select(OutboxItem)
        .where(
            col(OutboxItem.contact_id) == contact_id,
            col(OutboxItem.kind) == KIND_SMS,
            or_(col(OutboxItem.status) == OutboxStatus.SENT, col(OutboxItem.attempts) > 0),
        )
        .order_by(col(OutboxItem.updated_at).desc(), col(OutboxItem.id).desc())
        .limit(20)
    ).all()
    deals = [item for item in items if item.payload.get("mls_id")]
    sent = [item for item in deals if item.status == OutboxStatus.SENT]
    chosen = next(iter(sent or deals), None)
    return chosen.payload.get("mls_id") if chosen is not None else None
