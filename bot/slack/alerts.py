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
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy import Engine
from sqlmodel import select

from bot.slack.blocks import CARD_BLOCK_PREFIX, card_block_id, deal_card_blocks, deal_card_text
from bot.slack.escape import MAX_SECTION_TEXT, safe
from services.desk import DealCard
from services.hot_alerts import ALERT_KIND, alert_key, alert_prefix, card_key, record_poster
from services.slack_routing import ChannelRouting, route
from store import cards as store_cards
from store import outbox
from store import state as store_state
from store.db import session_scope
from store.models import OpportunityLink, OutboxItem, Property
from store.types import utcnow

log = logging.getLogger("dealfinder.bot.alerts")

POST_KIND = ALERT_KIND  # the pipeline queues these for any door (services.hot_alerts)
LEASE_SECONDS = 60.0
RETRY_AFTER = timedelta(minutes=1)  # Slack refused or did not answer: try again soon
RETRY_MISSING = timedelta(hours=1)  # the deal is not in the store: maybe later
MAX_MISSING_ATTEMPTS = 24
# A message is looked for from a little before its intent was recorded (clock skew).
LOOKBACK = timedelta(minutes=2)
HISTORY_PAGES = 10
METADATA_EVENT = "dealfinder_deal"
DRAIN_BATCH = 20
# A card is updated at most once per this many seconds by the `slack_cards` job (a click's
# own refresh counts too); see bot.slack.card_refresh.
CARD_DEBOUNCE = timedelta(seconds=3)
MAX_BATCHES = 25  # per recovery run; the next run (seconds later) takes the rest

CardSource = Callable[[str], DealCard | None]
Checkpoint = Callable[[str, str], None]  # (point, mls_id): tests stop a run at a point


def message_key(location_id: str, mls_id: str) -> str:
    return card_key(location_id, mls_id)


def post_key(location_id: str, mls_id: str) -> str:
    return alert_key(location_id, mls_id)


class OtherLocations(Protocol):
    """The other locations a process serves, and their alerts (`bot.slack.locations`)."""

    def active(self) -> list[str]: ...

    def alerts_for(self, location_id: str) -> DealAlerts | None: ...


def channel_key(name: str) -> str:
    return f"slack_channel:{name}"


def remember_channel_id(engine: Engine, channel: str, posted: MessageRef, *, now: datetime) -> None:
    """A channel configured by name ("#deals"): keep the id Slack posted to, which
    conversations.history needs to find a lost post after a restart."""
    if posted.channel == channel:
        return
    with session_scope(engine) as session:
        store_state.set_sync_state(
            session=session, key=channel_key(channel), value={"id": posted.channel}, now=now
        )


@dataclass(frozen=True)
class MessageRef:
    """Where a deal's message lives in Slack."""

    channel: str
    ts: str


def _is_channel_id(channel: str) -> bool:
    return channel[:1] in ("C", "G") and channel.isalnum() and channel.isupper()


def _names_deal(message: dict[str, Any], mls_id: str, location_id: str) -> bool:
    """Whether a channel message is this location's card of this deal (posted by us, found
    after a crash); another location's card of the same listing is not."""
    payload = (message.get("metadata") or {}).get("event_payload") or {}
    if payload.get("mls_id"):
        return (
            payload["mls_id"] == mls_id and payload.get("location_id", location_id) == location_id
        )
    return any(
        block.get("block_id") == card_block_id(mls_id) for block in message.get("blocks") or []
    )


class DealAlerts:
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
            ref = self._message(location_id, mls_id)
            if ref is not None:
                return ref
        return None

    def _own_message(self, mls_id: str) -> MessageRef | None:
        return self._message(self.location_id, mls_id)

    def _message(self, location_id: str, mls_id: str) -> MessageRef | None:
        with session_scope(self.engine, readonly=True) as session:
            row = store_state.get_slack_message(
                session=session, key=message_key(location_id, mls_id)
            )
            return MessageRef(row.channel, row.ts) if row else None

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
        handled = 0
        for location_id in self.others.active() if self.others is not None else ():
            if location_id == self.location_id:
                continue
            try:
                owner = self.others.alerts_for(location_id)  # type: ignore[union-attr]
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

    def channel_for(self, deal: DealCard | None) -> str:
        """The channel of the deal's card: its market's, else the deals channel."""
        if self.routing is None:
            return self.channel
        return route(event="hot_deal", deal=deal, routing=self.routing) or self.channel

    # -- internals ------------------------------------------------------------------------

    def _locations_of(self, mls_id: str) -> list[str]:
        """The locations working a listing: those with its opportunity, and the one that
        stored it last (a deal not yet in GHL); ours alone when we serve one."""
        if self.others is None:
            return [self.location_id]
        with session_scope(self.engine, readonly=True) as session:
            linked = session.exec(
                select(OpportunityLink.location_id).where(OpportunityLink.mls_id == mls_id)
            ).all()
            row = session.get(Property, mls_id)
        found = set(linked) | ({row.location_id} if row is not None else set())
        return sorted(found) or [self.location_id]

    def _owner(self, location_id: str) -> DealAlerts | None:
        """Whose card a deal of `location_id` is: ours, another location's alerts, or None
        when that location is not served here (disabled, uninstalled)."""
        if location_id == self.location_id or self.others is None:
            return self
        return self.others.alerts_for(location_id)

    def _update(self, ref: MessageRef, deal: DealCard) -> MessageRef:
        try:
            self.client.chat_update(
                channel=ref.channel, ts=ref.ts, text=deal_card_text(deal),
                blocks=deal_card_blocks(deal),
            )  # fmt: skip
            return ref
        except SlackApiError as exc:
            if exc.response.get("error") != "message_not_found":
                raise
        log.warning("message of %s was deleted in Slack; posting it again", deal.mls_id)
        posted = self._post(deal)
        with session_scope(self.engine) as session:
            store_state.record_slack_message(
                session=session, key=message_key(self.location_id, deal.mls_id),
                channel=posted.channel,
                ts=posted.ts, replace=True, now=self.clock(),
            )  # fmt: skip
        return posted

    def _post(self, deal: DealCard) -> MessageRef:
        channel = self.channel_for(deal)
        answer = self.client.chat_postMessage(
            channel=channel, text=deal_card_text(deal), blocks=deal_card_blocks(deal),
            metadata={"event_type": METADATA_EVENT,
                      "event_payload": {"mls_id": deal.mls_id, "location_id": self.location_id}},
        )  # fmt: skip
        posted = MessageRef(str(answer["channel"]), str(answer["ts"]))
        remember_channel_id(self.engine, channel, posted, now=self.clock())
        return posted

    def _channel_id(self, channel: str | None = None) -> str | None:
        channel = channel or self.channel
        if _is_channel_id(channel):
            return channel
        with session_scope(self.engine, readonly=True) as session:
            known = store_state.get_sync_state(session=session, key=channel_key(channel))
            return str(known.value.get("id")) if known else None

    def _drain(self, fresh: dict[str, DealCard]) -> int:
        with session_scope(self.engine) as session:
            items = outbox.claim_due(
                session=session, now=self.clock(), worker_id=self.worker_id,
                lease_seconds=LEASE_SECONDS, limit=DRAIN_BATCH, kinds=[POST_KIND],
                key_prefix=alert_prefix(self.location_id),
            )  # fmt: skip
        for item in items:
            mls_id = str(item.payload.get("mls_id"))
            self._deliver(item, fresh.get(mls_id) or self.cards(mls_id))
        return len(items)

    def _deliver(self, item: OutboxItem, deal: DealCard | None) -> None:
        assert item.id is not None
        mls_id = str(item.payload.get("mls_id"))
        if deal is None:
            # Not stored (yet, or any more): try again later rather than never, or the deal
            # could never be posted (its dedupe key would be taken by a failed item).
            give_up = item.attempts >= MAX_MISSING_ATTEMPTS
            self._close(item, error=f"deal {mls_id} is not in the store", retry=not give_up,
                        wait=RETRY_MISSING)  # fmt: skip
            return
        try:
            ref = self._own_message(mls_id)
            if ref is None and (item.outcome_unknown or item.attempts > 1):
                ref = self._adopt(
                    mls_id, since=item.created_at - LOOKBACK, channel=self.channel_for(deal)
                )
            ref = self._post_and_record(deal) if ref is None else self._update(ref, deal)
        except (SlackApiError, SlackClientError, OSError) as exc:
            # The next attempt looks in the channel first (attempts > 1), so a post that did
            # reach Slack before the error is adopted, not repeated.
            error = exc.response.get("error") if isinstance(exc, SlackApiError) else None
            self._close(item, error=f"{type(exc).__name__}: {error or 'no answer'}", retry=True)
            log.warning("posting deal %s to Slack failed: %s", mls_id, error or exc)
            return
        with session_scope(self.engine) as session:
            outbox.mark_sent(
                session=session, item_id=item.id, worker_id=self.worker_id,
                result={"channel": ref.channel, "ts": ref.ts}, now=self.clock(),
            )  # fmt: skip

    def _post_and_record(self, deal: DealCard) -> MessageRef:
        posted = self._post(deal)
        if self.checkpoint is not None:
            self.checkpoint("posted", deal.mls_id)
        return self._record(deal.mls_id, posted)

    def _record(self, mls_id: str, posted: MessageRef) -> MessageRef:
        """Store the message in the map; if another process won, delete ours and use theirs."""
        with session_scope(self.engine) as session:
            row, stored = store_state.record_slack_message(
                session=session, key=message_key(self.location_id, mls_id),
                channel=posted.channel,
                ts=posted.ts, now=self.clock(),
            )  # fmt: skip
            winner = MessageRef(row.channel, row.ts)
        if not stored and winner != posted:
            self.client.chat_delete(channel=posted.channel, ts=posted.ts)
        return winner

    def _adopt(
        self, mls_id: str, *, since: datetime, channel: str | None = None
    ) -> MessageRef | None:
        """The deal's message if an earlier attempt posted it; recorded in the map."""
        name = channel or self.channel
        channel = self._channel_id(name)
        if channel is None:
            log.warning("cannot look for a lost post in %s: its id is not known", name)
            return None
        cursor = None
        for _ in range(HISTORY_PAGES):
            page = self.client.conversations_history(
                channel=channel, oldest=f"{since.timestamp():.6f}", limit=200, cursor=cursor,
                include_all_metadata=True,
            )  # fmt: skip
            for message in page.get("messages") or []:
                if _names_deal(message, mls_id, self.location_id):
                    log.info("found the lost post of %s in %s; adopting it", mls_id, channel)
                    return self._record(mls_id, MessageRef(channel, str(message["ts"])))
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return None
        return None

    def _close(
        self, item: OutboxItem, *, error: str, retry: bool, wait: timedelta = RETRY_AFTER
    ) -> None:
        assert item.id is not None
        with session_scope(self.engine) as session:
            outbox.mark_failed(
                session=session, item_id=item.id, worker_id=self.worker_id, error=error,
                retry_at=self.clock() + wait if retry else None, now=self.clock(),
            )  # fmt: skip


__all__ = [
    "CARD_BLOCK_PREFIX", "DealAlerts", "MessageRef", "OtherLocations", "message_key", "post_key",
]  # fmt: skip
