"""What a buyer's reply does: opt-out, possible opt-out, HELP, or a message for the deal team.

A possible opt-out ("can we stop at the property at 3?") pauses texting the buyer and opens a
review for a broker or admin (`services.optout.review`, decided in `services.optout.decisions`).

Handlers for GHL's `InboundMessage` and `ContactDndUpdate` webhooks (payloads as in
`ghl-api/webhooks/*.md`); the HTTP endpoint that verifies and stores webhooks calls them.

Opt-out order: the store first (the buyer is marked opted out and their pending texts are
cancelled in one transaction, so no worker texts them again), then the one confirmation, then
GHL (consent tag removed, SMS DND set). The confirmation goes before DND because GHL refuses
every SMS to a contact with DND on; if GHL's own STOP handling set DND already, GHL refuses
our confirmation and the item ends "excluded" with GHL's reason. GHL's writes are outbox items
("ghl_followup"), retried on their own if GHL is down.

    outcome = handle_inbound_message(engine=engine, client=ghl, payload=body, rules=rules,
                                     config=config, now=datetime.now(UTC))
    if outcome.kind == "other": post outcome.body to the deal's Slack thread
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, TypedDict

from sqlalchemy import Engine
from sqlmodel import col, select

from ghl.client import GHLClient
from matching.notify import NotifyRules, help_reply, read_inbound
from services.config import DealConfig
from services.notify.common import (
    KIND_REPLY,
    PURPOSE_HELP,
)
from services.notify.inbound import cancel_waiting_texts, last_deal, reply_state
from services.notify.outcomes import DeliveryReport
from services.optout.record import deliver_now, record_opt_out
from services.optout.review import pause_for_review
from store import buyers, optout_reviews, outbox
from store.buyers import display_name
from store.db import session_scope
from store.models import Buyer, OutboxItem, OutboxStatus

HELP_INTERVAL = timedelta(hours=24)  # at most one HELP reply per contact in this window
_SMS_TYPES = {"SMS", "TYPE_SMS"}
_DND_ON = {"active", "permanent"}

InboundKind = Literal["opt_out", "possible_opt_out", "help", "opt_in", "other", "ignored"]


@dataclass(frozen=True, kw_only=True)
class InboundOutcome:
    """What an inbound text was and what was done; "other" carries what the Slack thread needs.

    `reply` is "sent", "queued" (GHL busy; the worker retries), "already_sent",
    "suppressed" (a HELP reply went out in the last 24 h) or None (no reply due).
    `mls_id` is the property of the last deal text this contact got, if any: the thread the
    reply most likely belongs to. A "possible_opt_out" carries the `review_id` that paused
    texting the contact (`services.optout.review`); `language` is the buyer's ("en", "es").
    """

    kind: InboundKind
    contact_id: str | None
    body: str
    conversation_id: str | None = None
    message_id: str | None = None
    contact_name: str | None = None
    mls_id: str | None = None
    known_buyer: bool = False
    cancelled: int = 0
    reply: str | None = None
    delivery: DeliveryReport | None = None
    review_id: int | None = None
    language: str = "en"
    why: str | None = None


class _Inbound(TypedDict):
    """The `InboundOutcome` fields of an inbound SMS with a contact id, however it is read."""

    contact_id: str
    body: str
    conversation_id: str | None
    message_id: str | None
    language: str
    why: str


@dataclass(frozen=True, kw_only=True)
class DndOutcome:
    """What a `ContactDndUpdate` changed locally."""

    contact_id: str | None
    sms_dnd: bool
    known_buyer: bool
    opted_out: bool
    cancelled: int = 0


@dataclass(frozen=True)
class _Reply:
    """What acting on one inbound reply needs: where to record it and how to send at once."""

    engine: Engine
    client: GHLClient
    rules: NotifyRules
    config: DealConfig
    now: datetime
    worker: str

    def deliver(self) -> DeliveryReport:
        """Send what the reply queued now, instead of waiting for the next worker pass."""
        return deliver_now(engine=self.engine, client=self.client, rules=self.rules,
                           config=self.config, now=self.now, worker_id=self.worker)  # fmt: skip


def handle_inbound_message(
    *,
    engine: Engine,
    client: GHLClient,
    payload: dict[str, Any],
    rules: NotifyRules,
    config: DealConfig,
    now: datetime,
    worker_id: str | None = None,
) -> InboundOutcome:
    """Act on an `InboundMessage` webhook: only inbound SMS matters, the rest is "ignored"."""
    body = str(payload.get("body") or "")
    contact_id = payload.get("contactId") or None
    conversation_id, message_id = payload.get("conversationId"), payload.get("messageId")
    inbound = str(payload.get("direction") or "inbound").lower() == "inbound"
    if not contact_id or not inbound or payload.get("messageType") not in _SMS_TYPES:
        return InboundOutcome(kind="ignored", contact_id=contact_id, body=body,
                              conversation_id=conversation_id, message_id=message_id)  # fmt: skip
    reading = read_inbound(body)
    kind = reading.kind
    base: _Inbound = {
        "contact_id": contact_id,
        "body": body,
        "conversation_id": conversation_id,
        "message_id": message_id,
        "language": reading.language,
        "why": reading.why,
    }
    worker = worker_id or f"inbound-{socket.gethostname()}-{os.getpid()}"
    ctx = _Reply(engine=engine, client=client, rules=rules, config=config, now=now,
                 worker=worker)  # fmt: skip
    if kind == "opt_out":
        return _opt_out(ctx, base)
    if kind == "help":
        return _help(ctx, base)
    if kind == "possible_opt_out":
        outcome = _possible_opt_out(engine=engine, base=base, now=now)
        if outcome is not None:
            return outcome
        kind = "other"  # already opted out: nothing to pause, the team just sees the reply
    with session_scope(engine, readonly=True) as session:
        buyer = buyers.get_buyer(session=session, contact_id=contact_id)
        mls_id = last_deal(session, contact_id)
    # START/UNSTOP is reported, not acted on: re-subscribing needs the consent tag and DND
    # lifted in GHL and the store's sticky opt-out cleared, a deliberate act by the team
    # (the number may have changed hands since the opt-out).
    return InboundOutcome(
        kind=kind,
        **base,
        known_buyer=buyer is not None,
        mls_id=mls_id,
        contact_name=display_name(buyer),
    )


def handle_dnd_update(*, engine: Engine, payload: dict[str, Any], now: datetime) -> DndOutcome:
    """Honour a `ContactDndUpdate`: SMS DND on means opted out here too; off changes nothing.

    DND on (globally, `dnd: true`, or for SMS) marks the buyer opted out and cancels their
    pending texts. DND off does *not* re-subscribe them: the event does not say who lifted DND
    or why (a bulk edit, a workflow, a mistake), webhooks arrive out of order and late (GHL
    retries a delivery for up to an hour), and a consumer's revoked consent stays revoked until
    they give it again (47 CFR 64.1200(a)(10)). Only the DND mirror (`dnd_sms`) follows GHL.
    """
    contact_id = payload.get("id") or payload.get("contactId") or None
    settings = payload.get("dndSettings") or {}
    sms_setting = settings.get("SMS") if isinstance(settings, dict) else None
    status = str((sms_setting or {}).get("status") or "").lower()
    sms_dnd = bool(payload.get("dnd")) or status in _DND_ON
    if not contact_id:
        return DndOutcome(contact_id=None, sms_dnd=sms_dnd, known_buyer=False, opted_out=False)
    cancelled = 0
    with session_scope(engine) as session:
        buyer = session.get(Buyer, contact_id, with_for_update=True)
        if buyer is not None:
            buyer.dnd_sms = sms_dnd
            session.add(buyer)
            session.flush()
        if sms_dnd:
            buyers.mark_opted_out(session=session, contact_id=contact_id, now=now)
            optout_reviews.close_pending_for(
                session=session, contact_id=contact_id, actor="ghl_dnd", now=now
            )
            cancelled = cancel_waiting_texts(
                session=session, contact_id=contact_id, now=now, why="SMS DND set in GHL"
            )
        opted_out = bool(buyer is not None and buyer.opted_out)
    return DndOutcome(
        contact_id=contact_id,
        sms_dnd=sms_dnd,
        known_buyer=buyer is not None,
        opted_out=opted_out,
        cancelled=cancelled,
    )


def _opt_out(ctx: _Reply, base: _Inbound) -> InboundOutcome:
    engine, rules, config, now = ctx.engine, ctx.rules, ctx.config, ctx.now
    contact_id = base["contact_id"]
    # One event reference per inbound message: GHL's retry of the same webhook maps to the same
    # follow-up keys, a second STOP to new ones (tag removal and DND are harmless to repeat).
    ref = base["message_id"] or now.strftime("%Y%m%dT%H%M%S%f")
    with session_scope(engine) as session:
        done = record_opt_out(
            session=session, contact_id=contact_id, ref=ref, language=base["language"],
            rules=rules, config=config, now=now, why="the buyer replied to opt out",
            decided_by="buyer",
        )  # fmt: skip
    report = ctx.deliver()
    reply = reply_state(engine=engine, item_id=done.confirmation_id, created=done.created)
    return InboundOutcome(
        kind="opt_out",
        **base,
        known_buyer=done.known,
        contact_name=display_name(done.buyer),
        mls_id=done.mls_id,
        cancelled=done.cancelled,
        reply=reply,
        delivery=report,
    )


def _possible_opt_out(*, engine: Engine, base: _Inbound, now: datetime) -> InboundOutcome | None:
    """Pause texting the contact and open a review for a person; None if already opted out."""
    contact_id = base["contact_id"]
    with session_scope(engine) as session:
        buyer = session.get(Buyer, contact_id, with_for_update=True)
        if buyer is not None and buyer.opted_out:
            return None
        mls_id = last_deal(session, contact_id)
        review, _created = pause_for_review(
            session=session, contact_id=contact_id, body=base["body"],
            message_id=base["message_id"], language=base["language"], why=base["why"],
            mls_id=mls_id, now=now,
        )  # fmt: skip
        review_id = review.id
    return InboundOutcome(
        kind="possible_opt_out",
        **base,
        known_buyer=buyer is not None,
        contact_name=display_name(buyer),
        mls_id=mls_id,
        review_id=review_id,
    )


def _help(ctx: _Reply, base: _Inbound) -> InboundOutcome:
    engine, config, now = ctx.engine, ctx.config, ctx.now
    contact_id = base["contact_id"]
    with session_scope(engine) as session:
        # The buyer row lock orders concurrent HELPs from a known buyer (PostgreSQL; SQLite's
        # write lock orders every writer); the day-bucket key stops a race for unknown ones.
        buyer = session.get(Buyer, contact_id, with_for_update=True)
        recent = session.exec(
            select(OutboxItem.id).where(
                OutboxItem.kind == KIND_REPLY,
                col(OutboxItem.dedupe_key).startswith(f"sms:help:{contact_id}:"),
                col(OutboxItem.created_at) > now - HELP_INTERVAL,
                col(OutboxItem.status).not_in([OutboxStatus.CANCELLED, OutboxStatus.EXCLUDED]),
            )
        ).first()
        item = None
        if recent is None:
            bucket = int(now.timestamp() // HELP_INTERVAL.total_seconds())
            item, _ = outbox.enqueue(
                session=session,
                kind=KIND_REPLY,
                dedupe_key=f"sms:help:{contact_id}:{bucket}",
                contact_id=contact_id,
                not_before=now,
                now=now,
                payload={
                    "contact_id": contact_id,
                    "purpose": PURPOSE_HELP,
                    "message": help_reply(config.sms.brand, language=base["language"]),
                },
            )
        mls_id = last_deal(session, contact_id)
    known, name = buyer is not None, display_name(buyer)
    if item is None:
        return InboundOutcome(kind="help", **base, known_buyer=known, contact_name=name,
                              mls_id=mls_id, reply="suppressed")  # fmt: skip
    report = ctx.deliver()
    reply = reply_state(engine=engine, item_id=item.id, created=True)
    return InboundOutcome(kind="help", **base, known_buyer=known, contact_name=name,
                          mls_id=mls_id, reply=reply, delivery=report)  # fmt: skip
