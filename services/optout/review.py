"""Possible opt-outs: pause texting the buyer at once, hold their waiting texts, release them.

"When in doubt, pause and ask": a reply that may be an opt-out ("can we stop at the property
at 3?") opens a review. While it is pending the buyer is excluded from new notifications
(`matching.notify.eligibility`, code "paused"), their waiting deal texts and follow-up
workflows are held until the review's decide-by time, and a text a worker already holds is
deferred at send time (`services.notify.checks`). A broker or admin decides in Slack; nobody
deciding within `REVIEW_WINDOW` makes it an opt-out (`services.optout.decisions`).

    review, created = pause_for_review(session=s, contact_id="c1", body="precio alto",
                                       message_id="m1", language="es", why="...",
                                       mls_id="TPA-1", now=now)
    release_held(session=s, contact_id="c1", now=now)   # after "Not an opt-out"
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from services.notify.common import KIND_FOLLOWUP, KIND_SMS
from store import optout_reviews
from store.db import rows_affected
from store.models import OptoutReview, OutboxItem, OutboxStatus
from store.optout_reviews import ReviewIn

REVIEW_WINDOW = timedelta(hours=24)  # the rule: undecided for 24 h -> an opt-out
HELD = "paused"  # the `last_error` prefix of a text held for a review
PAUSE_REASON = (
    "Texting is paused: the buyer's last reply may be an opt-out. A broker or admin decides "
    "in Slack (Opt out / Not an opt-out); undecided after 24 h, it counts as an opt-out."
)


def review_key(contact_id: str, message_id: str | None, body: str) -> str:
    """One review per inbound message (GHL's retry of a webhook carries the same message id)."""
    ref = message_id or hashlib.sha256(body.encode()).hexdigest()[:16]
    return f"optout-review:{contact_id}:{ref}"


def pause_for_review(
    *,
    session: Session,
    contact_id: str,
    body: str,
    message_id: str | None,
    language: str,
    why: str | None,
    mls_id: str | None,
    now: datetime,
) -> tuple[OptoutReview, bool]:
    """Open (or find) the review for this reply and hold the contact's waiting texts."""
    # NUL is the one character PostgreSQL text refuses; the rest is stored as the buyer wrote it.
    body = body.replace("\x00", "")
    message_id = message_id[:128] if message_id else None
    review, created = optout_reviews.open_review(
        session=session,
        review_in=ReviewIn(
            dedupe_key=review_key(contact_id, message_id, body),
            contact_id=contact_id,
            message_id=message_id,
            body=body[:2000],
            language=language,
            why=why,
            mls_id=mls_id,
            decide_by=now + REVIEW_WINDOW,
        ),
        now=now,
    )
    if review.status == "pending":
        hold_waiting_texts(session=session, contact_id=contact_id, until=review.decide_by, now=now)
    return review, created


def hold_waiting_texts(*, session: Session, contact_id: str, until: datetime, now: datetime) -> int:
    """Defer the contact's waiting deal texts and workflow enrolments (which may text) to
    `until`; returns how many. Replies (HELP) are not held: the buyer asked for them."""
    waiting = session.exec(
        select(OutboxItem).where(
            OutboxItem.contact_id == contact_id,
            col(OutboxItem.kind).in_([KIND_SMS, KIND_FOLLOWUP]),
            col(OutboxItem.status).in_([OutboxStatus.PENDING, OutboxStatus.DEFERRED]),
        )
    ).all()
    held = 0
    for item in waiting:
        if item.kind == KIND_FOLLOWUP and item.payload.get("action") != "workflow":
            continue
        if item.kind == KIND_SMS and item.payload.get("purpose") == "broker_alert":
            continue  # a broker's own alert, not a text to the buyer
        item.status = OutboxStatus.DEFERRED
        item.not_before = max(until, item.not_before or until)
        item.last_error = f"{HELD}: {PAUSE_REASON}"
        item.updated_at = now
        session.add(item)
        held += 1
    session.flush()
    return held


def paused_until(*, session: Session, contact_id: str) -> datetime | None:
    """When the contact's pending review(s) fall due, or None when texting them is not paused."""
    return optout_reviews.paused_contacts(session=session, contact_ids=[contact_id]).get(contact_id)


def release_held(*, session: Session, contact_id: str, now: datetime) -> int:
    """Make the texts held for a review due again (they are judged afresh at send time:
    quiet hours and the cap still apply); nothing while another review keeps the pause."""
    if paused_until(session=session, contact_id=contact_id) is not None:
        return 0
    stmt = (
        update(OutboxItem)
        .where(
            col(OutboxItem.contact_id) == contact_id,
            col(OutboxItem.status) == OutboxStatus.DEFERRED,
            col(OutboxItem.kind).in_([KIND_SMS, KIND_FOLLOWUP]),
            col(OutboxItem.last_error).startswith(f"{HELD}:"),
        )
        .values(not_before=now, last_error="released: not an opt-out", updated_at=now)
        .execution_options(synchronize_session="fetch")
    )
    return rows_affected(session.execute(stmt))
