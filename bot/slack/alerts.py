"""Hot-deal alerts: one Slack message per deal in the deals channel, kept up to date in place.

A deal's message is found through the store's Slack message map (key
``deal:{location_id}:{mls_id}``; the first writer wins), so a retry or a restart updates it
with `chat.update` instead of posting again. Posting has a crash window — Slack accepted the
post, the process died before the map was written — so the post goes through the outbox (kind
``slack_post``, dedupe key ``slack:deal:{location_id}:{mls_id}``): the intent is recorded
first, and whoever later finds the intent unfinished (`outcome_unknown`, or a failed earlier
attempt) first looks for the message in the channel (`conversations.history`, matched by the
card's ``deal:{mls_id}`` block id or message metadata) and adopts it instead of posting a
second one.

    alerts = DealAlerts(web_client, engine, "C0DEALS", cards=desk.card, location_id="loc")
    alerts.post_or_update(card)              # post once, then update in place
    alerts.refresh("TPA-1")                  # re-render from the store/GHL (webhooks call it)
    alerts.refresh_opportunity("opp_id")     # the same, by GHL opportunity id
    alerts.post_thread_reply("TPA-1", "Buyer Alex replied: interested")

One `DealAlerts` stands for one location (issue 14): it drains only that location's queued
alerts and renders cards with that location's desk (its GHL token, map and channel). Where
one process serves several locations, `others` names the other locations' alerts: a refresh
or a recovery run for another location's deal goes through that location's own `DealAlerts`.

The outbox side (claim, post, adopt a lost post, record) is `bot.slack.card_delivery`, its
base class; a card's place in Slack and finding a lost one, `bot.slack.card_messages`.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

from slack_sdk import WebClient
from sqlalchemy import Engine
from sqlmodel import select

from bot.slack.blocks import CARD_BLOCK_PREFIX
from bot.slack.card_delivery import (
    DRAIN_BATCH,
    LEASE_SECONDS,
    POST_KIND,
    CardDelivery,
    CardSource,
    Checkpoint,
)
from bot.slack.card_messages import MessageRef, message_key, post_key
from bot.slack.escape import MAX_SECTION_TEXT, safe
from services.desk import DealCard
from services.hot_alerts import record_poster
from services.slack_routing import ChannelRouting
from store import cards as store_cards
from store import outbox
from store.db import session_scope
from store.deals import locations_working
from store.models import OpportunityLink
from store.types import utcnow

log = logging.getLogger("dealfinder.bot.alerts")

# A card is updated at most once per this many seconds by the `slack_cards` job (a click's
# own refresh counts too); see bot.slack.card_refresh.
CARD_DEBOUNCE = timedelta(seconds=3)
MAX_BATCHES = 25  # per recovery run; the next run (seconds later) takes the rest


class OtherLocations(Protocol):
    """The other locations a process serves, and their alerts (`bot.slack.locations`)."""

    def active(self) -> list[str]: ...

    def alerts_for(
        self, location_id: str, *, active: list[str] | None = None
    ) -> DealAlerts | None: ...


class DealAlerts(CardDelivery):
    """Posts and updates hot-deal messages in one channel. Thread-safe; several processes may
    share one store (the outbox and the message map keep one message per deal)."""

    def __init__(
        self,
        web_client: WebClient,
        engine: Engine,
        channel: str,
        *,
        cards: CardSource,
        clock: Callable[[], datetime] = utcnow,
        worker_id: str | None = None,
        checkpoint: Checkpoint | None = None,
        routing: ChannelRouting | None = None,
        location_id: str,
        others: OtherLocations | None = None,
    ):
        self.client, self.engine, self.channel = web_client, engine, channel
        # The location whose deals these are; `others`: the rest, where a process serves several.
        self.location_id, self.others = location_id, others
        # Per-market channels (the mapping's slack_routing); None: every card in `channel`.
        self.routing = routing
        self.cards, self.clock, self.checkpoint = cards, clock, checkpoint
        self.worker_id = worker_id or (
            f"alerts:{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        )

    # -- the pipeline's hook --------------------------------------------------------------

    def on_hot_deal(self, result: Any) -> None:
        """`DealPipeline(on_hot_deal=[alerts.on_hot_deal])`: post or update the deal's card."""
        if self._refresh_own(result.mls_id):  # posted already: updated now, change settled
            return
        card = self.cards(result.mls_id)
        if card is not None:
            self.post_or_update(card)

    # -- posting and updating -------------------------------------------------------------

    def message_for(self, mls_id: str) -> MessageRef | None:
        """Where the deal's card is: this location's card, else (serving several) the card
        of another location working the listing; None when it has none."""
        own = self._own_message(mls_id)
        if own is not None or self.others is None:
            return own
        for location_id in self._locations_of(mls_id):
            ref = self._message(location_id, mls_id) if location_id != self.location_id else None
            if ref is not None:
                return ref
        return None

    def post_or_update(self, deal: DealCard) -> MessageRef | None:
        """Show `deal` in the channel: update its message, or post it once.

        Returns where it is, or None when another process is posting it right now.
        """
        ref = self._own_message(deal.mls_id)
        if ref is not None:
            return self._update(ref, deal)
        now = self.clock()
        with session_scope(self.engine) as session:
            outbox.enqueue(
                session=session, kind=POST_KIND, dedupe_key=post_key(self.location_id, deal.mls_id),
                payload={"mls_id": deal.mls_id, "location_id": self.location_id,
                         "channel": self.channel_for(deal)}, now=now,
            )  # fmt: skip
        self._drain({deal.mls_id: deal})
        return self._own_message(deal.mls_id)

    def refresh(self, mls_id: str) -> bool:
        """Re-render a posted deal from the store and GHL; False if it has no message. Serving
        several locations, every location's card of the listing, each by its own alerts."""
        if self.others is None:
            return self._refresh_own(mls_id)
        shown = False
        for location_id in self._locations_of(mls_id):
            owner = self._owner(location_id)
            shown = (owner is not None and owner._refresh_own(mls_id)) or shown
        return shown

    def _refresh_own(self, mls_id: str) -> bool:
        ref = self._own_message(mls_id)
        if ref is None:
            return False
        with session_scope(self.engine, readonly=True) as session:
            changes = store_cards.read_changes(session=session, mls_id=mls_id)
        card = self.cards(mls_id)
        if card is None:
            return False
        self._update(ref, card)
        if changes:  # what was marked before this render is shown now: no second update
            now = self.clock()
            with session_scope(self.engine) as session:
                store_cards.shown_directly(
                    session=session, mls_id=mls_id, changes=changes,
                    next_at=now + CARD_DEBOUNCE, now=now,
                )  # fmt: skip
        return True

    def refresh_opportunity(self, opportunity_id: str) -> bool:
        """`refresh` for the deal a GHL opportunity stands for (opportunity webhooks)."""
        with session_scope(self.engine, readonly=True) as session:
            link = session.exec(
                select(OpportunityLink).where(OpportunityLink.opportunity_id == opportunity_id)
            ).first()
        if link is None:
            return False
        owner = self._owner(link.location_id)
        return owner._refresh_own(link.mls_id) if owner is not None else False

    def recover(self) -> int:
        """Finish posts an earlier run left unfinished or a failure postponed; returns how
        many were handled. Run at start and every few seconds (a scheduler job): this is
        also how alerts queued by processes without Slack (an import) reach Slack."""
        # Wall-clock time: an import in another process compares it with its own clock.
        record_poster(self.engine, worker_id=self.worker_id, now=utcnow())
        handled = 0
        for _ in range(MAX_BATCHES):  # until nothing is due (a big import queues many)
            batch = self._drain({})
            handled += batch
            if batch < DRAIN_BATCH:
                break
        return handled + self._recover_others()

    def _recover_others(self) -> int:
        """The other locations' queued alerts, each through its own alerts; a location whose
        set-up or Slack fails is logged and skipped, never holding up the rest."""
        if self.others is None:
            return 0
        handled, active = 0, self.others.active()
        for location_id in active:
            if location_id == self.location_id:
                continue
            try:
                owner = self.others.alerts_for(location_id, active=active)
                handled += owner.recover() if owner is not None else 0
            except Exception:
                log.exception("hot-deal alerts of location %s: recovery failed", location_id)
        return handled

    def post_thread_reply(self, mls_id: str, text: str) -> str | None:
        """Reply in the deal's thread (text shown literally); the reply's ts, or None."""
        ref = self.message_for(mls_id)
        if ref is None:
            log.info("no Slack message for %s; thread reply dropped", mls_id)
            return None
        answer = self.client.chat_postMessage(
            channel=ref.channel, thread_ts=ref.ts, text=safe(text, MAX_SECTION_TEXT)
        )
        return str(answer["ts"])

    # -- internals ------------------------------------------------------------------------

    def _locations_of(self, mls_id: str) -> list[str]:
        """The locations working a listing: those with its opportunity, and the one that
        stored it last (a deal not yet in GHL); ours alone when we serve one."""
        if self.others is None:
            return [self.location_id]
        with session_scope(self.engine, readonly=True) as session:
            return locations_working(session=session, mls_id=mls_id) or [self.location_id]

    def _owner(self, location_id: str) -> DealAlerts | None:
        """Whose card a deal of `location_id` is: ours, another location's alerts, or None
        when that location is not served here (disabled, uninstalled)."""
        if location_id == self.location_id or self.others is None:
            return self
        return self.others.alerts_for(location_id)


__all__ = [
    "CARD_BLOCK_PREFIX", "LEASE_SECONDS", "POST_KIND", "DealAlerts", "MessageRef",
    "OtherLocations", "message_key", "post_key",
]  # fmt: skip
