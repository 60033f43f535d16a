"""One location's hot-deal cards through the outbox: claim the location's queued alerts,
post each card once (adopting a post an earlier attempt made before it crashed), update it in
place, and record where it is. The base of `bot.slack.alerts.DealAlerts`, which adds the
pipeline's hook, refreshes and the routing between locations; see its docstring for the
crash window this closes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy import Engine

from bot.slack.blocks import deal_card_blocks, deal_card_text
from bot.slack.card_messages import (
    MessageRef,
    card_metadata,
    find_card,
    known_channel_id,
    message_key,
    remember_channel_id,
)
from services.desk import DealCard
from services.hot_alerts import ALERT_KIND, alert_prefix
from services.slack_routing import ChannelRouting, route
from store import outbox
from store import state as store_state
from store.db import session_scope
from store.models import OutboxItem

log = logging.getLogger("dealfinder.bot.alerts")

POST_KIND = ALERT_KIND  # the pipeline queues these for any door (services.hot_alerts)
LEASE_SECONDS = 60.0
RETRY_AFTER = timedelta(minutes=1)  # Slack refused or did not answer: try again soon
RETRY_MISSING = timedelta(hours=1)  # the deal is not in the store: maybe later
MAX_MISSING_ATTEMPTS = 24
# A message is looked for from a little before its intent was recorded (clock skew).
LOOKBACK = timedelta(minutes=2)
DRAIN_BATCH = 20

CardSource = Callable[[str], DealCard | None]
Checkpoint = Callable[[str, str], None]  # (point, mls_id): tests stop a run at a point


class CardDelivery:
    """Posting and updating one location's cards (set up by `DealAlerts.__init__`)."""

    client: WebClient
    engine: Engine
    channel: str
    routing: ChannelRouting | None
    location_id: str
    worker_id: str
    cards: CardSource
    clock: Callable[[], datetime]
    checkpoint: Checkpoint | None

    def _own_message(self, mls_id: str) -> MessageRef | None:
        return self._message(self.location_id, mls_id)

    def _message(self, location_id: str, mls_id: str) -> MessageRef | None:
        with session_scope(self.engine, readonly=True) as session:
            row = store_state.get_slack_message(
                session=session, key=message_key(location_id, mls_id)
            )
            return MessageRef(row.channel, row.ts) if row else None

    def channel_for(self, deal: DealCard | None) -> str:
        """The channel of the deal's card: its market's, else the deals channel."""
        if self.routing is None:
            return self.channel
        return route(event="hot_deal", deal=deal, routing=self.routing) or self.channel

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
            metadata=card_metadata(deal.mls_id, self.location_id),
        )  # fmt: skip
        posted = MessageRef(str(answer["channel"]), str(answer["ts"]))
        remember_channel_id(self.engine, channel, posted, now=self.clock())
        return posted

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

    def _adopt(self, mls_id: str, *, since: datetime, channel: str) -> MessageRef | None:
        """The deal's message if an earlier attempt posted it; recorded in the map."""
        channel_id = known_channel_id(self.engine, channel)
        if channel_id is None:
            log.warning("cannot look for a lost post in %s: its id is not known", channel)
            return None
        ts = find_card(
            self.client, channel_id, mls_id=mls_id, location_id=self.location_id, since=since
        )
        if ts is None:
            return None
        log.info("found the lost post of %s in %s; adopting it", mls_id, channel_id)
        return self._record(mls_id, MessageRef(channel_id, ts))

    def _close(
        self, item: OutboxItem, *, error: str, retry: bool, wait: timedelta = RETRY_AFTER
    ) -> None:
        assert item.id is not None
        with session_scope(self.engine) as session:
            outbox.mark_failed(
                session=session, item_id=item.id, worker_id=self.worker_id, error=error,
                retry_at=self.clock() + wait if retry else None, now=self.clock(),
            )  # fmt: skip
