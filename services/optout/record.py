"""The store side of an opt-out, shared by a STOP (`services.optout.replies`) and a decided possible
opt-out (`services.optout.decisions`), and the immediate delivery of what it queued.

    with session_scope(engine) as session:
        done = record_opt_out(session=session, contact_id="c1", ref="m1", language="es",
                              rules=rules, config=config, now=now, why="...", decided_by="buyer")
    deliver_now(engine=engine, client=ghl, rules=rules, config=config, now=now, worker_id="w")
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Unpack

from sqlmodel import Session

from matching.notify import NotifyRules, opt_out_confirmation
from services.config import DealConfig
from services.notify.common import (
    KIND_FOLLOWUP,
    KIND_REPLY,
    PURPOSE_OPTOUT_CONFIRM,
    optout_confirm_key,
)
from services.notify.delivery import DeliveryRun, deliver_due
from services.notify.followups import optout_followups
from services.notify.inbound import cancel_waiting_texts, last_deal
from services.notify.outcomes import DeliveryReport
from store import buyers, optout_reviews, outbox
from store.models import Buyer


@dataclass(frozen=True, kw_only=True)
class RecordedOptOut:
    """What `record_opt_out` wrote: whether the buyer is known, what was cancelled, and the
    confirmation's outbox item (`created` False: it had been queued before)."""

    known: bool
    buyer: Buyer | None
    cancelled: int
    confirmation_id: int | None
    created: bool
    mls_id: str | None


def record_opt_out(
    *,
    session: Session,
    contact_id: str,
    ref: str,
    language: str,
    rules: NotifyRules,
    config: DealConfig,
    now: datetime,
    why: str,
    decided_by: str,
) -> RecordedOptOut:
    """The store side of an opt-out, in the caller's transaction: the buyer marked opted out,
    their waiting texts cancelled, pending reviews closed (by `decided_by`), the one
    confirmation (in the buyer's `language`) and GHL's consent-tag removal and SMS DND queued.
    `deliver_now` after the commit sends them; the worker retries what fails."""
    known = buyers.mark_opted_out(session=session, contact_id=contact_id, now=now)
    buyer = buyers.get_buyer(session=session, contact_id=contact_id)
    cancelled = cancel_waiting_texts(session=session, contact_id=contact_id, now=now, why=why)
    optout_reviews.close_pending_for(
        session=session, contact_id=contact_id, actor=decided_by, now=now
    )
    confirmation, created = outbox.enqueue(
        session=session,
        kind=KIND_REPLY,
        dedupe_key=optout_confirm_key(contact_id),
        contact_id=contact_id,
        not_before=now,
        now=now,
        payload={
            "contact_id": contact_id,
            "purpose": PURPOSE_OPTOUT_CONFIRM,
            "message": opt_out_confirmation(config.sms.brand, language=language),
        },
    )
    # The mapping's consent tag and any other the rules accept as consent.
    consent = [config.tags.sms_opt_in, *rules.opt_in_tags]
    for key, payload in optout_followups(contact_id=contact_id, consent_tags=consent, ref=ref):
        outbox.enqueue(
            session=session,
            kind=KIND_FOLLOWUP,
            dedupe_key=key,
            payload=payload,
            contact_id=contact_id,
            not_before=now,
            now=now,
        )
    return RecordedOptOut(
        known=known,
        buyer=buyer,
        cancelled=cancelled,
        confirmation_id=confirmation.id,
        created=created,
        mls_id=last_deal(session, contact_id),
    )


def deliver_now(**run: Unpack[DeliveryRun]) -> DeliveryReport:
    """Send replies and GHL follow-ups right away instead of waiting for the next minute."""
    return deliver_due(**run, limit=20, kinds=(KIND_REPLY, KIND_FOLLOWUP))
