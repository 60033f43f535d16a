"""Each deal's one Slack thread: what happened to the deal, in order, where people follow it.

The thread is the hot-deal card's thread when the deal has a card, else the deal's replies
thread (`bot.slack.reply_threads`, started in the deal's routed buyer-reply channel): the same place
buyers' replies go. Entries are one short escaped line each: a claim, a stage or status change
(GHL's opportunity webhooks), the summary of an SMS batch after a notify. Other features add
theirs through `record_in_deal_thread`.

An entry with a `key` is posted once per key (a retried webhook event posts nothing new).

    thread = DealThread(replies=reply_threads, stage_names=lambda: {"stg_1": "Hot Deal"})
    thread.record("TPA-1", "Note added by Maria", actor="U0AGENT01", key="note:42")
    record_in_deal_thread(services, "TPA-1", "Marked won", actor="U0BROKER1")
    record_in_thread(services, "TPA-1", thread_entry("won", user_id="U0BROKER1"))  # mrkdwn
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from bot.settings import Settings
from bot.slack.escape import escape, one_line
from bot.slack.reply_threads import ReplyPosted, ReplyThreads
from services.config import DealConfig
from services.slack_routing import ChannelRouting, resolve_routing, route

log = logging.getLogger("dealfinder.bot.deal_thread")

ENTRY_LIMIT = 300  # one short line; the card shows the rest
SLACK_USER = re.compile(r"[UW][A-Z0-9]{2,}")


def channel_routing(settings: Settings, config: DealConfig) -> ChannelRouting:
    """The routing in force: the mapping's slack_routing over the settings' channels."""
    return resolve_routing(
        config.slack_routing, deals=settings.deals_channel,
        replies=settings.replies_channel, ops=settings.ops_channel,
    )  # fmt: skip


def ops_channel(settings: Settings, config: DealConfig) -> str:
    """Where ops alerts go: slack_routing.events.ops, else SLACK_OPS_CHANNEL."""
    routed = route(event="ops", deal=None, routing=channel_routing(settings, config))
    return routed or settings.ops_channel


def _who(user_id: str | None) -> str:
    """A Slack user as a mention when it is an id, else their name shown literally."""
    if not user_id:
        return "someone"
    return f"<@{user_id}>" if SLACK_USER.fullmatch(user_id) else escape(user_id)


class StageChange(Protocol):
    """An opportunity webhook's change, as `bot.web.webhook_handlers` reports it (read-only:
    its `DealChange` is a frozen dataclass)."""

    @property
    def mls_id(self) -> str: ...
    @property
    def old_stage_id(self) -> str | None: ...
    @property
    def new_stage_id(self) -> str | None: ...
    @property
    def old_status(self) -> str | None: ...
    @property
    def new_status(self) -> str | None: ...
    @property
    def event_key(self) -> str | None: ...


class DealThread:
    """Writes entries into deals' threads (card thread, else replies thread)."""

    def __init__(
        self,
        *,
        replies: ReplyThreads,
        stage_names: Callable[[], Mapping[str, str]] | None = None,
    ) -> None:
        self.replies, self.stage_names = replies, stage_names

    def record(
        self, mls_id: str, text: str, *, actor: str | None = None, key: str | None = None
    ) -> ReplyPosted:
        """Add one entry: `text` (shown literally, on one line), after `actor`'s mention.

        Raises what `ReplyThreads.post` raises (Slack refused, or the thread is being
        started by another process): the caller decides whether to retry.
        """
        line = one_line(text, ENTRY_LIMIT)
        entry = f"{_who(actor)}: {line}" if actor else line
        return self.replies.post(
            mls_id=mls_id, text=entry, message_id=f"entry:{key}" if key else None, escaped=True
        )

    # -- hooks ------------------------------------------------------------------------------

    def on_claim(self, mls_id: str, *, actor: str, previous: str | None) -> None:
        """A `DeskActions` claim hook: "claimed" (or "took over from ...")."""
        if previous == actor:
            return  # a second click of one's own claim changes nothing
        what = f"took the deal over from {_who(previous)}" if previous else "claimed the deal"
        self._post(mls_id, f"{_who(actor)} {what}", key=None)

    def on_notified(self, outcome: Any) -> None:
        """A `DeskActions` notify hook: the SMS batch in one line."""
        enqueued, delivered = outcome.enqueued, outcome.delivered
        sent = int(delivered.counts.get("sent", 0))
        waiting = max(len(enqueued.queued) + len(enqueued.deferred) - sent, 0)
        text = (
            f"SMS batch: {sent} texted now, {waiting} waiting (quiet hours or caps), "
            f"{len(enqueued.excluded)} not texted, {len(enqueued.skipped)} already texted"
        )
        ids = sorted(enqueued.item_ids.values())
        self._post(outcome.mls_id, escape(text), key=f"notify:{ids[0]}-{ids[-1]}" if ids else None)

    def on_stage_change(self, change: StageChange) -> None:
        """A `WebhookHandlers` hook: a stage move or a status change seen in GHL."""
        parts = []
        if change.new_stage_id and change.new_stage_id != change.old_stage_id:
            names = self._names()
            old = names.get(change.old_stage_id or "", change.old_stage_id or "none")
            new = names.get(change.new_stage_id, change.new_stage_id)
            parts.append(f"stage {old} → {new}")
        if change.new_status and change.new_status != change.old_status:
            parts.append(f"status {change.old_status or 'open'} → {change.new_status}")
        if not parts:
            return
        text = escape(f"In GHL: {', '.join(parts)}")
        key = f"stage:{change.event_key}" if change.event_key else None
        # Raised on purpose: the webhook event is retried, and the key keeps it to one entry.
        self.replies.post(
            mls_id=change.mls_id, text=text, message_id=f"entry:{key}" if key else None,
            escaped=True,
        )  # fmt: skip

    def on_task_move(self, mls_id: str, *, text: str, key: str | None) -> None:
        """A stage move DealFinder made itself (a GHL task completed): logged if refused,
        since the move is done and a retried event would not move it again."""
        self._post(mls_id, escape(text), key=key)

    # -- internals ------------------------------------------------------------------------

    def _names(self) -> Mapping[str, str]:
        if self.stage_names is None:
            return {}
        try:
            return self.stage_names()
        except Exception:  # the GHL map may be unreachable: ids are still an answer
            log.warning("stage names unavailable; the thread shows stage ids")
            return {}

    def _post(self, mls_id: str, mrkdwn: str, *, key: str | None) -> None:
        """Hooks never undo what they report: a failed entry is logged, not raised."""
        try:
            self.replies.post(
                mls_id=mls_id, text=mrkdwn, message_id=f"entry:{key}" if key else None,
                escaped=True,
            )  # fmt: skip
        except Exception as exc:
            log.warning("entry for %s not posted to its thread: %s", mls_id, type(exc).__name__)


def record_in_deal_thread(
    services: Any, mls_id: str, text: str, *, actor: str | None = None, key: str | None = None
) -> ReplyPosted | None:
    """Add `text` to the deal's one thread (for features that change deals from Slack:
    stage select, reassign, won/lost, notes). `actor` is the Slack user id shown as a
    mention; `key` makes a retry post nothing new. None when this process has no thread
    writer (no Slack)."""
    thread = getattr(services, "deal_thread", None)
    if thread is None:
        return None
    return thread.record(mls_id, text, actor=actor, key=key)


def record_in_thread(services: Any, mls_id: str, mrkdwn: str) -> bool:
    """Post `mrkdwn` (outside values already escaped, mentions allowed: the entries of deal
    edits made from Slack, `messages_people.thread_entry`) in the deal's one thread; True if
    it was posted. A refused entry does not undo the change already made in GHL: it is logged,
    and the caller tells the user."""
    thread = getattr(services, "deal_thread", None)
    if thread is None:
        return False
    try:
        thread.replies.post(mls_id=mls_id, text=mrkdwn, escaped=True)
    except Exception as exc:
        log.warning("thread entry for %s not posted: %s", mls_id, type(exc).__name__)
        return False
    return True
