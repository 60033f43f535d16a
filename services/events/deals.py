"""Deal events: an opportunity changed in GHL, or a task completed that moves a deal forward.

Opportunity webhooks come late and out of order, so the opportunity is read from GHL (its
current record, not the event's) and the store's link updated from it. Either way the deal's
Slack card is marked changed; the `slack_cards` job of a process with Slack updates it, at most
once per few seconds however many events arrive (`bot.slack.card_refresh`).

    outcome = opportunity_changed(engine=engine, client=ghl, body=payload, now=now,
                                  on_change=deal_thread.on_stage_change)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from ghl.client import GHLClient
from ghl.errors import GHLNotFoundError
from services.events.outcomes import DealChange, DealsMoved, DealUpdated, Ignored
from services.hot_alerts import mark_cards_changed
from services.pipeline.activity import StageMove
from store.db import session_scope
from store.deals import OpportunityLinkIn, link_of_opportunity, record_opportunity_link
from store.types import utcnow

# The pipeline's `advance_on_task_completed`: (contact_id, task title) -> what it did per deal.
TaskHandler = Callable[[str, str], Sequence[StageMove]]


def opportunity_changed(
    *,
    engine: Engine,
    client: GHLClient,
    body: dict[str, Any],
    now: datetime,
    on_change: Callable[[DealChange], None] | None = None,
) -> DealUpdated | Ignored:
    """An opportunity of ours changed in GHL: record GHL's current record in the store's link.

    `on_change` sees the change before it is recorded: if it raises, the event is retried
    and still sees the change (it gets the delivery's webhookId to keep the retry to one).
    """
    opportunity_id = body.get("id")
    if not opportunity_id:
        return Ignored.NO_OPPORTUNITY_ID
    with session_scope(engine, readonly=True) as session:
        link = link_of_opportunity(
            session=session, opportunity_id=opportunity_id, location_id=client.location_id
        )
    if link is None:
        return Ignored.NOT_OUR_DEAL
    try:
        opp = client.opportunities.get(opportunity_id)
    except GHLNotFoundError:
        return Ignored.OPPORTUNITY_GONE
    link_in = OpportunityLinkIn(
        mls_id=link.mls_id,
        location_id=link.location_id,
        opportunity_id=opp.id,
        contact_id=opp.contact_id or link.contact_id,
        pipeline_id=opp.pipeline_id or link.pipeline_id,
        stage_id=opp.pipeline_stage_id or link.stage_id,
        assigned_to=opp.assigned_to,
        status=opp.status or link.status,
    )
    change = DealChange(
        mls_id=link.mls_id, old_stage_id=link.stage_id, new_stage_id=link_in.stage_id,
        old_status=link.status, new_status=link_in.status, event_key=body.get("webhookId"),
    )  # fmt: skip
    if on_change is not None:
        on_change(change)
    with session_scope(engine) as session:
        record_opportunity_link(session=session, link_in=link_in, now=now)
    mark_cards_changed(engine, [link.mls_id], now=utcnow())
    return DealUpdated(change=change, status=opp.status)


def task_completed(
    *, engine: Engine, body: dict[str, Any], advance: TaskHandler
) -> DealsMoved | Ignored:
    """A GHL task was completed: the pipeline moves its deals forward (`advance`); the moved
    deals' cards are marked changed. GHL's own webhook for our move shows no change, so the
    caller tells the deal threads from `DealsMoved.moves`."""
    contact_id, title = body.get("contactId"), body.get("title")
    if not contact_id or not title:
        return Ignored.NO_CONTACT_OR_TITLE
    moved = tuple(move for move in advance(contact_id, title) if move.moved)
    if moved:
        mark_cards_changed(engine, [move.mls_id for move in moved], now=utcnow())
    return DealsMoved(title=title, moves=moved, event_key=body.get("webhookId") or body.get("id"))
