"""Inbound GHL webhooks: replay rejection by id, and events stored for processing later.

The HTTP handler verifies the signature, calls `remember_webhook_id` (a replay gets False and
is acknowledged without work), stores the event and returns at once; a job claims stored
events and processes them, so a slow GHL or Slack never makes the webhook time out.

    with session_scope(engine) as session:
        if remember_webhook_id(session=session, webhook_id=body["webhookId"], now=now):
            record_webhook_event(session=session, event_type=body["type"], payload=body)
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, or_, update
from sqlmodel import Session, col, select

from store.db import dialect_insert, rows_affected
from store.models import SyncState, WebhookEvent, WebhookEventStatus, WebhookSeen
from store.state import get_sync_state, set_sync_state
from store.types import utcnow

_ERROR_LIMIT = 2000
DELIVERIES_KEY = "events:last_delivery"


def remember_webhook_id(*, session: Session, webhook_id: str, now: datetime) -> bool:
    """Note a webhook id as seen: True the first time, False for a replay.

    Race-safe (``INSERT ... ON CONFLICT DO NOTHING``): when two deliveries of one webhook
    arrive at once, exactly one caller gets True.
    """
    stmt = (
        dialect_insert(session, WebhookSeen)
        .values(webhook_id=webhook_id, received_at=now)
        .on_conflict_do_nothing(index_elements=["webhook_id"])
        .returning(col(WebhookSeen.webhook_id))
    )
    return session.execute(stmt).scalar_one_or_none() is not None


def prune_webhook_ids(*, session: Session, older_than: datetime) -> int:
    """Forget ids received before ``older_than``; returns how many.

    Keep them longer than the window in which the signature check still accepts a delivery
    (its timestamp tolerance), or a replay could pass both checks.
    """
    stmt = delete(WebhookSeen).where(col(WebhookSeen.received_at) < older_than)
    return rows_affected(session.execute(stmt.execution_options(synchronize_session=False)))


def record_webhook_event(
    *,
    session: Session,
    event_type: str,
    payload: dict[str, Any],
    webhook_id: str | None = None,
    now: datetime | None = None,
) -> WebhookEvent:
    """Store a verified webhook for processing; it starts as received."""
    event = WebhookEvent(
        webhook_id=webhook_id, type=event_type, payload=payload, received_at=now or utcnow()
    )
    session.add(event)
    session.flush()
    return event


def claim_webhook_events(
    *, session: Session, now: datetime, lease_seconds: float, limit: int
) -> list[WebhookEvent]:
    """Take up to ``limit`` events to process, oldest first, each under a lease.

    Received events, and processing ones whose lease expired (the processor died), move to
    processing with ``attempts + 1``; concurrent claimers never get the same event (as in
    `store.outbox.claim_due`). Commit the claim before processing.
    """
    claimable = or_(
        col(WebhookEvent.status) == WebhookEventStatus.RECEIVED,
        and_(
            col(WebhookEvent.status) == WebhookEventStatus.PROCESSING,
            col(WebhookEvent.lease_until) <= now,
        ),
    )
    due = (
        select(WebhookEvent.id)
        .where(claimable)
        .order_by(col(WebhookEvent.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    stmt = (
        update(WebhookEvent)
        .where(col(WebhookEvent.id).in_(due.scalar_subquery()))
        .values(
            status=WebhookEventStatus.PROCESSING,
            attempts=WebhookEvent.attempts + 1,
            lease_until=now + timedelta(seconds=lease_seconds),
        )
        .returning(WebhookEvent)
    )
    options = {"synchronize_session": False, "populate_existing": True}
    events = session.scalars(stmt, execution_options=options).all()
    return sorted(events, key=lambda event: event.id or 0)


def _finish(*, session: Session, event_id: int, values: dict[str, Any]) -> WebhookEvent | None:
    stmt = (
        update(WebhookEvent)
        .where(
            col(WebhookEvent.id) == event_id,
            col(WebhookEvent.status) == WebhookEventStatus.PROCESSING,
        )
        .values(lease_until=None, **values)
        .returning(WebhookEvent)
    )
    options = {"synchronize_session": False, "populate_existing": True}
    return session.scalars(stmt, execution_options=options).one_or_none()


def mark_webhook_processed(
    *, session: Session, event_id: int, now: datetime | None = None
) -> WebhookEvent | None:
    """Record that an event was handled. None if it was not being processed."""
    values = {"status": WebhookEventStatus.PROCESSED, "processed_at": now or utcnow()}
    return _finish(session=session, event_id=event_id, values=values)


def mark_webhook_failed(
    *, session: Session, event_id: int, error: str, retry: bool
) -> WebhookEvent | None:
    """Record a failed attempt: back to received when ``retry``, else failed for good.

    ``error`` is stored as given (truncated): a description, never a token or the payload.
    """
    status = WebhookEventStatus.RECEIVED if retry else WebhookEventStatus.FAILED
    values = {"status": status, "last_error": error[:_ERROR_LIMIT]}
    return _finish(session=session, event_id=event_id, values=values)


KEY_MAX = 128  # WebhookSeen.webhook_id


def message_key(message_id: str) -> str:
    """The dedupe key of one GHL message, shared by every path that can bring it (signed
    webhook, workflow webhook, polling), so a message is handled once whichever comes first.
    An id too long for the column is keyed by its SHA-256."""
    key = f"msg:{message_id}"
    if len(key) > KEY_MAX:
        key = "msg:sha256:" + hashlib.sha256(message_id.encode()).hexdigest()
    return key


def accept_event(
    *,
    session: Session,
    event_type: str,
    payload: dict[str, Any],
    dedupe_keys: list[str],
    now: datetime,
    handled: bool = True,
) -> tuple[str, WebhookEvent | None]:
    """Store one event from any path unless one of its keys was seen: ("accepted", event),
    ("duplicate", None) or ("ignored", None) for a type nothing handles.

    All keys are claimed in the caller's transaction: if the event cannot be stored, none of
    them stays claimed, so the retry is not mistaken for a replay. The first key is the
    event's own id (a webhookId, a derived workflow id), stored on the event. A reply that a
    workflow brought without a message id and another path brought with one is one reply
    (`reply_from_other_path`).
    """
    first = True
    for key in dedupe_keys:
        first = remember_webhook_id(session=session, webhook_id=key, now=now) and first
    if not first:
        return "duplicate", None
    if not handled:
        return "ignored", None
    if event_type == "InboundMessage" and reply_from_other_path(
        session=session, payload=payload, around=now
    ):
        return "duplicate", None
    event = record_webhook_event(
        session=session, event_type=event_type, payload=payload, webhook_id=dedupe_keys[0], now=now
    )
    return "accepted", event


def note_delivery(*, session: Session, path: str, now: datetime) -> None:
    """Remember that an event path (webhook, workflow) delivered an event at ``now``.

    One small row, rewritten at most once a minute per path (a burst of webhooks does not
    queue on it); polling reads it to know whether it is needed.
    """
    state = get_sync_state(session=session, key=DELIVERIES_KEY)
    value = dict(state.value) if state is not None else {}
    last = value.get(path)
    if isinstance(last, str) and now - datetime.fromisoformat(last) < timedelta(minutes=1):
        return
    value[path] = now.isoformat()
    set_sync_state(session=session, key=DELIVERIES_KEY, value=value, now=now)


def last_deliveries(*, session: Session) -> dict[str, datetime]:
    """When each event path last delivered (paths that never did are absent)."""
    state: SyncState | None = get_sync_state(session=session, key=DELIVERIES_KEY)
    found: dict[str, datetime] = {}
    for path, stamp in (state.value if state is not None else {}).items():
        if isinstance(stamp, str):
            found[path] = datetime.fromisoformat(stamp)
    return found


def _said(text: object) -> str:
    return " ".join(str(text or "").split()).casefold()


def is_unkeyed_workflow_reply(payload: dict[str, Any]) -> bool:
    """A reply from a workflow webhook that carries no GHL message id (most do not)."""
    return payload.get("source") == "workflow" and not payload.get("messageId")


def reply_from_other_path(
    *,
    session: Session,
    payload: dict[str, Any],
    around: datetime,
    window: timedelta = timedelta(minutes=10),
) -> WebhookEvent | None:
    """The stored InboundMessage another path brought for the same text, if any.

    GHL message ids make one text one event across the signed and polling paths; a workflow
    webhook usually has no id, so between it and the others the same contact sending the same
    words within `window` of `around` counts as one reply (the workflow path's own rule, see
    `bot.web.workflow_events.derived_id`). Only across that divide: identical texts both with ids
    stay two.
    """
    contact_id, said = payload.get("contactId"), _said(payload.get("body"))
    if not contact_id or not said:
        return None
    unkeyed = is_unkeyed_workflow_reply(payload)
    stmt = (
        select(WebhookEvent)
        .where(
            WebhookEvent.type == "InboundMessage",
            col(WebhookEvent.received_at) >= around - window,
            col(WebhookEvent.received_at) <= around + window,
        )
        .order_by(col(WebhookEvent.id))
    )
    for event in session.exec(stmt):
        other = event.payload
        if is_unkeyed_workflow_reply(other) == unkeyed:
            continue  # the same side of the divide: ids (or the workflow's own id) decide
        if other.get("contactId") == contact_id and _said(other.get("body")) == said:
            return event
    return None
