"""Buyers' replies in Slack: always somewhere a person reads, never twice, never claimed falsely.

A reply about a deal goes into the deal's card thread when the deal has a hot-deal card.
Otherwise (a deal texted through `dealfinder notify` that never scored hot) it goes into the
deal's *replies thread* in `SLACK_REPLIES_CHANNEL` (default: the deals channel): the first
reply starts it with the deal's summary (address, price, score, GHL link) and later replies
join it. Its ts is kept in the store's Slack message map (key ``replies:{mls_id}``), so
restarts and other processes find it.

One thread per deal across processes: starting one happens under a named store lock (a
PostgreSQL advisory lock, or a file lock beside a SQLite database); a caller that finds it
held raises `ReplyThreadBusy` and the webhook event is retried later, by when the thread
exists. The crash window (Slack accepted the start, the process died before the map was
written) is closed the way `bot.slack.alerts` closes it: the intent is written first, and whoever
later finds an intent without a thread looks for the start in the channel (block id
``replies:{mls_id}`` or message metadata) and adopts it instead of posting another.

A reply already posted (same GHL message id) is not posted again when its webhook event is
retried.

    threads = ReplyThreads(client=web, engine=engine, channel="#deals",
                           cards=desk.card, card_message=alerts.message_for)
    posted = threads.post(mls_id="TPA-1", text="Reply from *Dana*: “still available?”",
                          message_id="msg_1")
    posted.describe()   # "posted to a new replies thread of TPA-1 in C0DEALS (ts 1700.000200)"
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy import Engine

from bot.slack import messages as msg
from bot.slack.card_messages import (
    MessageRef,
    find_message,
    known_channel_id,
    remember_channel_id,
)
from bot.slack.escape import MAX_SECTION_TEXT, clip, safe
from services.desk import DealCard
from services.slack_routing import ChannelRouting, route
from store import state as store_state
from store.db import session_scope
from store.locks import named_lock
from store.types import utcnow

log = logging.getLogger("dealfinder.bot.replies")

THREAD_EVENT = "dealfinder_replies"
THREAD_BLOCK_PREFIX = "replies:"
LOOKBACK = timedelta(minutes=2)  # a lost start is looked for from a little before its intent

CardSource = Callable[[str], DealCard | None]
CardMessage = Callable[[str], MessageRef | None]
Checkpoint = Callable[[str, str], None]  # (point, mls_id): tests stop a run at a point


class ReplyThreadBusy(RuntimeError):
    """Another process is starting this deal's replies thread; retry shortly."""


def thread_key(mls_id: str) -> str:
    """The Slack message map key of a deal's replies thread."""
    return f"{THREAD_BLOCK_PREFIX}{mls_id}"


def _intent_key(mls_id: str) -> str:
    return f"slack_replies_intent:{mls_id}"


def _posted_key(message_id: str) -> str:
    return f"slack_reply:{message_id}"[:128]


@dataclass(frozen=True)
class ReplyPosted:
    """Where Slack put a reply (from its answer), and which kind of thread it went to."""

    channel: str
    thread_ts: str
    ts: str
    where: str  # "card", "new replies thread", "replies thread", "already posted"

    def describe(self, mls_id: str) -> str:
        """One log line saying exactly what happened."""
        if self.where == "already posted":
            return f"already posted to {self.channel} (ts {self.ts}); not posted again"
        place = _PLACES.get(self.where, self.where)
        return f"posted to {place} of {mls_id} in {self.channel} (ts {self.ts})"


_PLACES = {
    "card": "the card thread",
    "new replies thread": "a new replies thread",
    "replies thread": "the replies thread",
}


class ReplyThreads:
    """Routes buyers' replies to the card thread or the deal's one replies thread."""

    def __init__(
        self,
        *,
        client: WebClient,
        engine: Engine,
        channel: str,
        cards: CardSource,
        card_message: CardMessage,
        clock: Callable[[], datetime] = utcnow,
        checkpoint: Checkpoint | None = None,
        routing: ChannelRouting | None = None,
    ) -> None:
        self.client, self.engine, self.channel = client, engine, channel
        # Per-market channels for replies threads (the mapping's slack_routing).
        self.routing = routing
        self.cards, self.card_message = cards, card_message
        self.clock, self.checkpoint = clock, checkpoint

    def post(
        self, *, mls_id: str, text: str, message_id: str | None = None, escaped: bool = False
    ) -> ReplyPosted:
        """Post `text` (shown literally, mrkdwn kept) where people follow `mls_id`.

        `escaped`: `text` is already escaped mrkdwn (a `bot.slack.deal_thread` entry with a
        mention).

        Raises `ReplyThreadBusy` (another process is starting the thread) or slack_sdk's
        errors (Slack refused or did not answer): the caller retries, nothing was claimed.
        """
        try:
            shown = clip(text, MAX_SECTION_TEXT) if escaped else safe(text, MAX_SECTION_TEXT)
            return self._route(mls_id=mls_id, text=shown, message_id=message_id)
        except (SlackApiError, SlackClientError) as exc:
            error = exc.response.get("error") if isinstance(exc, SlackApiError) else None
            log.warning("reply about %s not posted: Slack %s", mls_id,
                        f"refused it ({error})" if error else "did not answer")  # fmt: skip
            raise

    def _route(self, *, mls_id: str, text: str, message_id: str | None) -> ReplyPosted:
        done = self._already_posted(message_id)
        if done is not None:
            return done
        card = self.card_message(mls_id)
        if card is not None:
            try:
                return self._reply(card, text, message_id=message_id, where="card")
            except SlackApiError as exc:
                if exc.response.get("error") != "thread_not_found":
                    raise
                log.warning("the card of %s was deleted in Slack; using its replies thread", mls_id)
        thread, new = self._thread(mls_id)
        where = "new replies thread" if new else "replies thread"
        try:
            return self._reply(thread, text, message_id=message_id, where=where)
        except SlackApiError as exc:
            if new or exc.response.get("error") != "thread_not_found":
                raise
        log.warning("the replies thread of %s was deleted in Slack; starting another", mls_id)
        thread, _ = self._thread(mls_id, replace=thread)
        return self._reply(thread, text, message_id=message_id, where="new replies thread")

    def channel_for(self, card: DealCard | None) -> str:
        """Where a deal's replies thread starts: its market's replies channel, else ours."""
        if self.routing is None:
            return self.channel
        return route(event="buyer_reply", deal=card, routing=self.routing) or self.channel

    def thread_for(self, mls_id: str) -> MessageRef | None:
        """The deal's replies thread, if one was started."""
        with session_scope(self.engine, readonly=True) as session:
            row = store_state.get_slack_message(session=session, key=thread_key(mls_id))
            return MessageRef(row.channel, row.ts) if row else None

    # -- internals ------------------------------------------------------------------------

    def _reply(
        self, thread: MessageRef, text: str, *, message_id: str | None, where: str
    ) -> ReplyPosted:
        answer = self.client.chat_postMessage(
            channel=thread.channel, thread_ts=thread.ts, text=text
        )  # escaped by `post`
        # slack_sdk raises on `ok: false`; what we report is what Slack answered.
        posted = ReplyPosted(str(answer["channel"]), thread.ts, str(answer["ts"]), where)
        if message_id:
            with session_scope(self.engine) as session:
                store_state.set_sync_state(
                    session=session, key=_posted_key(message_id),
                    value={"channel": posted.channel, "thread_ts": posted.thread_ts,
                           "ts": posted.ts},
                    now=self.clock(),
                )  # fmt: skip
        return posted

    def _already_posted(self, message_id: str | None) -> ReplyPosted | None:
        if not message_id:
            return None
        with session_scope(self.engine, readonly=True) as session:
            row = store_state.get_sync_state(session=session, key=_posted_key(message_id))
            value = dict(row.value) if row else None
        if not value:
            return None
        return ReplyPosted(
            str(value["channel"]), str(value["thread_ts"]), str(value["ts"]), "already posted"
        )

    def _thread(self, mls_id: str, *, replace: MessageRef | None = None) -> tuple[MessageRef, bool]:
        """The deal's replies thread and whether this call started it."""
        found = self.thread_for(mls_id)
        if found is not None and found != replace:
            return found, False
        with named_lock(self.engine, f"slack:{thread_key(mls_id)}") as held:
            if not held:
                raise ReplyThreadBusy(f"another process is starting the replies thread of {mls_id}")
            found = self.thread_for(mls_id)  # finished by another process just before us
            if found is not None and found != replace:
                return found, False
            card = self.cards(mls_id)
            channel = self.channel_for(card)
            if replace is None:
                adopted = self._adopt_lost(mls_id, channel=channel)
                if adopted is not None:
                    return adopted, False
            with session_scope(self.engine) as session:
                store_state.set_sync_state(
                    session=session, key=_intent_key(mls_id), value={"channel": channel},
                    now=self.clock(),
                )  # fmt: skip
            posted = self._start(mls_id, card=card, channel=channel)
            if self.checkpoint is not None:
                self.checkpoint("started", mls_id)
            with session_scope(self.engine) as session:
                row, _ = store_state.record_slack_message(
                    session=session, key=thread_key(mls_id), channel=posted.channel,
                    ts=posted.ts, replace=replace is not None, now=self.clock(),
                )  # fmt: skip
                return MessageRef(row.channel, row.ts), True

    def _start(self, mls_id: str, *, card: DealCard | None, channel: str) -> MessageRef:
        summary = msg.replies_thread_summary(card, mls_id)
        answer = self.client.chat_postMessage(
            channel=channel, text=summary, unfurl_links=False,
            blocks=[{"type": "section", "block_id": thread_key(mls_id),
                     "text": {"type": "mrkdwn", "text": summary}}],
            metadata={"event_type": THREAD_EVENT, "event_payload": {"mls_id": mls_id}},
        )  # fmt: skip
        posted = MessageRef(str(answer["channel"]), str(answer["ts"]))
        remember_channel_id(self.engine, channel, posted, now=self.clock())
        return posted

    def _adopt_lost(self, mls_id: str, *, channel: str) -> MessageRef | None:
        """A start an earlier attempt posted but did not record (it died in between), looked
        for in the deal's channel (where that attempt posted unless the routing changed)."""
        with session_scope(self.engine, readonly=True) as session:
            intent = store_state.get_sync_state(session=session, key=_intent_key(mls_id))
            since = intent.updated_at if intent else None
        name = channel
        if since is None:
            return None
        channel_id = known_channel_id(self.engine, name)
        if channel_id is None:
            log.warning("cannot look for a lost replies thread in %s: its id is not known",
                        name)  # fmt: skip
            return None
        ts = find_message(
            self.client, channel_id, since=since - LOOKBACK,
            matches=lambda message: _starts_thread(message, mls_id),
        )  # fmt: skip
        if ts is None:
            return None
        log.info("found the lost replies thread of %s; adopting it", mls_id)
        with session_scope(self.engine) as session:
            row, _ = store_state.record_slack_message(
                session=session, key=thread_key(mls_id), channel=channel_id, ts=ts,
                now=self.clock(),
            )  # fmt: skip
            return MessageRef(row.channel, row.ts)


def _starts_thread(message: dict[str, Any], mls_id: str) -> bool:
    metadata = message.get("metadata") or {}
    if metadata.get("event_type") == THREAD_EVENT:
        return (metadata.get("event_payload") or {}).get("mls_id") == mls_id
    return any(block.get("block_id") == thread_key(mls_id) for block in message.get("blocks") or [])
