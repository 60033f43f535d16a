"""Possible opt-outs in the store: open one per inbound message, find who is paused, decide once.

A contact is paused while any review of theirs is pending. A decision is taken under the row's
lock and only from "pending", so two brokers clicking at once, or a click racing the 24-hour
job, record one decision: the first.

    review, created = open_review(session=s, review_in=ReviewIn(...), now=now)
    paused_contacts(session=s, contact_ids=["c1", "c2"])    # {"c1": decide_by}
    decided = decide(session=s, review_id=7, status=OptoutReviewStatus.NOT_OPT_OUT,
                     actor="U0BROKER1", role="broker", now=now)     # None: decided already
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from store.db import rows_affected
from store.models import OptoutReview, OptoutReviewStatus


@dataclass(frozen=True, kw_only=True)
class ReviewIn:
    """What a new review records about the reply."""

    dedupe_key: str
    contact_id: str
    message_id: str | None
    body: str
    language: str
    why: str | None
    mls_id: str | None
    decide_by: datetime


def open_review(
    *, session: Session, review_in: ReviewIn, now: datetime
) -> tuple[OptoutReview, bool]:
    """The review for this message, created if new (a webhook retry finds the first one)."""
    found = get_by_key(session=session, dedupe_key=review_in.dedupe_key)
    if found is not None:
        return found, False
    review = OptoutReview(
        dedupe_key=review_in.dedupe_key,
        contact_id=review_in.contact_id,
        message_id=review_in.message_id,
        body=review_in.body,
        language=review_in.language,
        why=review_in.why,
        mls_id=review_in.mls_id,
        decide_by=review_in.decide_by,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(review)
            session.flush()
    except IntegrityError:  # a concurrent delivery of the same webhook won
        found = get_by_key(session=session, dedupe_key=review_in.dedupe_key)
        assert found is not None
        return found, False
    return review, True


def get_by_key(*, session: Session, dedupe_key: str) -> OptoutReview | None:
    return session.exec(select(OptoutReview).where(OptoutReview.dedupe_key == dedupe_key)).first()


def get_review(*, session: Session, review_id: int, lock: bool = False) -> OptoutReview | None:
    return session.get(OptoutReview, review_id, with_for_update=lock)


def paused_contacts(*, session: Session, contact_ids: Iterable[str]) -> dict[str, datetime]:
    """The contacts among `contact_ids` with a pending review, and the latest decide-by time."""
    ids = list(dict.fromkeys(contact_ids))
    if not ids:
        return {}
    rows = session.exec(
        select(OptoutReview.contact_id, OptoutReview.decide_by).where(
            col(OptoutReview.contact_id).in_(ids),
            OptoutReview.status == OptoutReviewStatus.PENDING,
        )
    ).all()
    paused: dict[str, datetime] = {}
    for contact_id, decide_by in rows:
        paused[contact_id] = max(decide_by, paused.get(contact_id, decide_by))
    return paused


def decide(
    *,
    session: Session,
    review_id: int,
    status: OptoutReviewStatus,
    actor: str,
    role: str | None,
    now: datetime,
) -> OptoutReview | None:
    """Record the decision on a pending review; None when it is unknown or already decided."""
    review = get_review(session=session, review_id=review_id, lock=True)
    if review is None or review.status != OptoutReviewStatus.PENDING:
        return None
    review.status = status
    review.decided_at, review.decided_by, review.decided_role = now, actor[:64], role
    session.add(review)
    session.flush()
    return review


def close_pending_for(*, session: Session, contact_id: str, actor: str, now: datetime) -> int:
    """Mark every pending review of a contact as an opt-out (the contact has opted out)."""
    stmt = (
        update(OptoutReview)
        .where(
            col(OptoutReview.contact_id) == contact_id,
            col(OptoutReview.status) == OptoutReviewStatus.PENDING,
        )
        .values(status=OptoutReviewStatus.OPTED_OUT, decided_at=now, decided_by=actor[:64])
        .execution_options(synchronize_session="fetch")
    )
    return rows_affected(session.execute(stmt))


def due_for_auto(*, session: Session, now: datetime, limit: int = 100) -> list[int]:
    """Pending reviews whose decide-by time has passed (oldest first)."""
    stmt = (
        select(OptoutReview.id)
        .where(OptoutReview.status == OptoutReviewStatus.PENDING, OptoutReview.decide_by <= now)
        .order_by(col(OptoutReview.decide_by), col(OptoutReview.id))
        .limit(limit)
    )
    return [int(review_id) for review_id in session.exec(stmt).all() if review_id is not None]


def claim_unposted(
    *, session: Session, now: datetime, retry_after: timedelta, review_id: int | None = None
) -> list[OptoutReview]:
    """Reviews not yet in Slack that nobody is posting right now, claimed for posting.

    The claim (`post_claimed_at`) keeps two processes from posting the same review; a claim
    older than `retry_after` is taken over (its poster failed or died).
    """
    stmt = select(OptoutReview).where(
        col(OptoutReview.slack_ts).is_(None),
        or_(
            col(OptoutReview.post_claimed_at).is_(None),
            col(OptoutReview.post_claimed_at) < now - retry_after,
        ),
    )
    if review_id is not None:
        stmt = stmt.where(OptoutReview.id == review_id)
    claimed = []
    for review in session.exec(stmt.order_by(col(OptoutReview.id)).limit(20)).all():
        won = rows_affected(
            session.execute(
                update(OptoutReview)
                .where(
                    col(OptoutReview.id) == review.id,
                    col(OptoutReview.post_claimed_at).is_(review.post_claimed_at)
                    if review.post_claimed_at is None
                    else col(OptoutReview.post_claimed_at) == review.post_claimed_at,
                )
                .values(post_claimed_at=now)
                .execution_options(synchronize_session="fetch")
            )
        )
        if won:
            claimed.append(review)
    return claimed


def record_post(*, session: Session, review_id: int, channel: str, ts: str) -> None:
    """Where the review's message is in Slack (to show the decision on it later)."""
    review = get_review(session=session, review_id=review_id)
    if review is not None:
        review.slack_channel, review.slack_ts = channel, ts
        session.add(review)
