"""A buyer's text (GHL's `InboundMessage`): the notifier acts on it first (opt-out, HELP,
possible opt-out: `services.optout.replies`), then any other reply is routed to the deal team
with the deal it is about, the buyer's name and their match score for that deal.

    outcome = reply_received(engine=engine, payload=body, now=now, inbound=notifier_inbound)
    if outcome.route is ReplyRoute.TO_TEAM: post outcome.body to outcome.mls_id's thread
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from services.events.outcomes import ReplyOutcome, ReplyRoute
from services.hot_alerts import mark_cards_changed
from services.notify.common import match_key
from services.notify.inbound import last_deal
from services.optout.replies import InboundOutcome
from store import outbox
from store.db import session_scope
from store.types import utcnow

# services.optout.replies.handle_inbound_message with the process's client, rules and config.
InboundHandler = Callable[[dict[str, Any], datetime], InboundOutcome]
# START is left to the team (consent is restored by hand), so it is posted like any reply.
TEAM_KINDS = frozenset({"other", "opt_in"})


def reply_received(
    *, engine: Engine, payload: dict[str, Any], now: datetime, inbound: InboundHandler
) -> ReplyOutcome:
    """Let the notifier act on the text, then say where it goes (`ReplyOutcome.route`)."""
    outcome = inbound(payload, now)
    contact_id = outcome.contact_id or payload.get("contactId") or None
    mls_id = outcome.mls_id
    if contact_id and mls_id is None:  # e.g. not an SMS: the notifier did not look
        with session_scope(engine, readonly=True) as session:
            mls_id = last_deal(session, contact_id)
    if contact_id:  # a reply or an opt-out changes what the deal's card counts
        mark_cards_changed(engine, [mls_id] if mls_id else [], now=utcnow())
    route = reply_route(outcome.kind, contact_id=contact_id, mls_id=mls_id)
    if route is not ReplyRoute.TO_TEAM or not contact_id or not mls_id:
        return ReplyOutcome(kind=outcome.kind, route=route, contact_id=contact_id, mls_id=mls_id)
    return ReplyOutcome(
        kind=outcome.kind,
        route=route,
        contact_id=contact_id,
        mls_id=mls_id,
        name=outcome.contact_name,
        score=match_score(engine, contact_id=contact_id, mls_id=mls_id),
        body=outcome.body or str(payload.get("body") or ""),
        # GHL's message id; else the delivery's webhookId (the same on every retry of it).
        reply_id=payload.get("messageId") or payload.get("webhookId"),
    )


def reply_route(kind: str, *, contact_id: str | None, mls_id: str | None) -> ReplyRoute:
    """Where a text the notifier called `kind` goes: only replies for the team are posted,
    and only with a contact and the deal they were texted about."""
    if kind not in TEAM_KINDS:
        return ReplyRoute.ANSWERED
    if not contact_id:
        return ReplyRoute.NO_CONTACT
    return ReplyRoute.TO_TEAM if mls_id else ReplyRoute.NO_DEAL


def match_score(engine: Engine, *, contact_id: str, mls_id: str) -> int | None:
    """The buyer's match score for the deal, as recorded with the deal text they got."""
    with session_scope(engine, readonly=True) as session:
        item = outbox.get_by_dedupe_key(session=session, dedupe_key=match_key(contact_id, mls_id))
    score = item.payload.get("score") if item is not None else None
    return int(score) if isinstance(score, int | float) else None
