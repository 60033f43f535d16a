"""Deciding a possible opt-out: by a broker or admin in Slack, or by nobody within 24 hours.

"Opt out" does what a STOP does (`services.optout.replies.record_opt_out`: opted out in the store,
waiting texts cancelled, the one confirmation in the buyer's language, consent tag removed
and SMS DND set in GHL through the outbox), in the same transaction as the decision, so a
crash can never leave a decided review without its opt-out. "Not an opt-out" lifts the pause
and releases the held texts (judged afresh at send time). Undecided at its decide-by time a
review becomes an opt-out, decided by "auto" (`expire_reviews`, the scheduler's
`optout_reviews` job). Each decision records who and when; only the first one counts.

    done = decide_review(engine=engine, client=ghl, rules=rules, config=config, review_id=7,
                         decision="not_opt_out", actor="U0BROKER1", role="broker", now=now)
    done.changed       # False: someone decided before (done.review says who and when)
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import Engine

from ghl.client import GHLClient
from matching.notify import NotifyRules
from services.config import DealConfig
from services.optout.record import deliver_now, record_opt_out
from services.optout.review import release_held
from store import optout_reviews
from store.db import session_scope
from store.models import OptoutReview, OptoutReviewStatus

log = logging.getLogger("dealfinder.optout")

Decision = Literal["opt_out", "not_opt_out"]
AUTO = "auto"  # `decided_by` of a review nobody decided in time

_STATUS = {"opt_out": OptoutReviewStatus.OPTED_OUT, "not_opt_out": OptoutReviewStatus.NOT_OPT_OUT}


@dataclass(frozen=True, kw_only=True)
class ReviewDecision:
    """A review after a decision was asked for; `changed` False: it was decided before."""

    review: OptoutReview
    changed: bool
    released: int = 0


def decide_review(
    *,
    engine: Engine,
    client: GHLClient,
    rules: NotifyRules,
    config: DealConfig,
    review_id: int,
    decision: Decision,
    actor: str,
    role: str | None,
    now: datetime,
    worker_id: str | None = None,
) -> ReviewDecision | None:
    """Record `actor`'s decision on a pending review and act on it; None for an unknown id.

    The caller checks that `actor` may decide (brokers and admins) before calling.
    """
    released = 0
    with session_scope(engine) as session:
        review = optout_reviews.decide(
            session=session, review_id=review_id, status=_STATUS[decision], actor=actor,
            role=role, now=now,
        )  # fmt: skip
        if review is None:
            current = optout_reviews.get_review(session=session, review_id=review_id)
            if current is None:
                return None
            session.expunge(current)
            return ReviewDecision(review=current, changed=False)
        if decision == "opt_out":
            why = "auto: no decision within 24 h" if actor == AUTO else f"opt out by {actor}"
            record_opt_out(
                session=session, contact_id=review.contact_id, ref=f"review-{review.id}",
                language=review.language, rules=rules, config=config, now=now,
                why=f"possible opt-out decided: {why}", decided_by=actor,
            )  # fmt: skip
        else:
            released = release_held(session=session, contact_id=review.contact_id, now=now)
        session.flush()
        session.expunge(review)
    log.info("possible opt-out %s decided %s by %s", review_id, decision, actor)
    if decision == "opt_out":
        worker = worker_id or f"optout-{socket.gethostname()}-{os.getpid()}"
        deliver_now(engine=engine, client=client, rules=rules, config=config, now=now,
                    worker_id=worker)  # fmt: skip
    return ReviewDecision(review=review, changed=True, released=released)


def expire_reviews(
    *,
    engine: Engine,
    client: GHLClient,
    rules: NotifyRules,
    config: DealConfig,
    now: datetime,
    worker_id: str | None = None,
) -> list[ReviewDecision]:
    """Turn every review undecided at its decide-by time into an opt-out (the 24-hour rule)."""
    with session_scope(engine, readonly=True) as session:
        due = optout_reviews.due_for_auto(session=session, now=now)
    decided = []
    for review_id in due:
        done = decide_review(
            engine=engine, client=client, rules=rules, config=config, review_id=review_id,
            decision="opt_out", actor=AUTO, role=None, now=now, worker_id=worker_id,
        )  # fmt: skip
        if done is not None and done.changed:
            decided.append(done)
    return decided
