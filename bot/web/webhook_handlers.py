"""The stored GHL webhooks, told to Slack: dispatches each event to its handler in
`services.events` (what the event means: one handler per type, a typed outcome) and posts
what the outcome asks for.

- InboundMessage (`reply_received`): a reply for the team goes to Slack with the buyer's name
  and match score: the deal's card thread, else the deal's replies thread
  (`bot.slack.reply_threads`). Opt-outs and HELP were answered by the notifier.
- ContactDndUpdate, ContactTagUpdate, ContactUpdate (`dnd_changed`, `buyer_changed`).
- OpportunityStageUpdate / StatusUpdate / AssignedToUpdate (`opportunity_changed`): the
  change becomes an entry in the deal's thread (`bot.slack.deal_thread`).
- TaskComplete (`task_completed`): the pipeline's stage progression, an entry per moved deal.
- INSTALL / UNINSTALL: the Marketplace app's own events (`bot.web.install_events`).

Collaborators are passed in (callables and a `DealAlerts`-like object), so this module never
imports the Slack app and tests hand it the real services.

    handlers = WebhookHandlers(engine=engine, client=ghl, config=config, inbound=..., alerts=...)
    handlers.handle("ContactUpdate", payload, now)   # -> "buyer refreshed (matchable)"

`bot.web.webhooks.process_webhook_events` (the job) calls `handle` for each stored event.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Engine

from bot.web.webhook_payloads import payload_problem
from ghl.client import GHLClient
from services.config import DealConfig
from services.events.contacts import DndHandler, FieldIds, buyer_changed, dnd_changed
from services.events.deals import TaskHandler, opportunity_changed, task_completed
from services.events.outcomes import DealChange, DealsMoved, Ignored, ReplyOutcome, ReplyRoute
from services.events.replies import InboundHandler, reply_received
from services.events.types import (
    CONTACT_TYPES,
    HANDLED_TYPES,
    INSTALL_TYPES,
    KNOWN_TYPES,
    OPPORTUNITY_TYPES,
    type_label,
)

__all__ = [
    "HANDLED_TYPES",
    "KNOWN_TYPES",
    "DealAlertsLike",
    "DealChange",
    "RepliesNotWiredError",
    "WebhookHandlers",
    "type_label",
]

log = logging.getLogger("dealfinder.webhooks")


def _fold(text: object, limit: int) -> str:
    """Outside text on one line, cut to `limit` characters (escaping is the poster's job)."""
    folded = " ".join(str(text or "").split())
    return folded if len(folded) <= limit else folded[: limit - 1] + "…"


def reply_text(reply: ReplyOutcome) -> str:
    """The Slack line for a buyer's reply, plain text (the poster escapes `&`, `<`, `>`)."""
    score = f" (match score {reply.score})" if reply.score is not None else ""
    name = _fold(reply.name or "A buyer", 80)
    return f":speech_balloon: Reply from *{name}*{score}: “{_fold(reply.body, 1500)}”"


class RepliesNotWiredError(RuntimeError):
    """This process has no Slack client, so a buyer's reply waits for one that has."""


class DealAlertsLike(Protocol):
    """What the handlers need of the bot's `bot.slack.alerts.DealAlerts`."""

    def refresh(self, mls_id: str) -> object: ...

    def post_thread_reply(self, mls_id: str, text: str) -> str | None: ...


class ReplyPostedLike(Protocol):
    def describe(self, mls_id: str) -> str: ...


class ReplyRouterLike(Protocol):
    """What the handlers need of `bot.slack.reply_threads.ReplyThreads`."""

    def post(self, *, mls_id: str, text: str, message_id: str | None = None) -> ReplyPostedLike: ...


class DealThreadLike(Protocol):
    """What the handlers need of `bot.slack.deal_thread.DealThread`."""

    def on_stage_change(self, change: DealChange) -> None: ...

    def on_task_move(self, mls_id: str, *, text: str, key: str | None) -> None: ...


InstallHandler = Callable[[str, dict[str, Any], datetime], str]  # bot.web.install_events


class WebhookHandlers:
    """Dispatches one stored event to its handler; returns a short outcome for the log."""

    def __init__(
        self,
        *,
        engine: Engine,
        client: GHLClient,
        config: DealConfig,
        inbound: InboundHandler | None = None,
        dnd_update: DndHandler | None = None,
        task_completed: TaskHandler | None = None,
        alerts: DealAlertsLike | None = None,
        replies: ReplyRouterLike | None = None,
        clock: Callable[[], float] = time.monotonic,
        install_events: InstallHandler | None = None,
        deal_thread: DealThreadLike | None = None,
    ) -> None:
        self.engine, self.client, self.config = engine, client, config
        self.location_id = client.location_id
        self.inbound, self.dnd_update = inbound, dnd_update
        self.task_completed, self.alerts = task_completed, alerts
        # Replies about deals without a card go to a replies thread (`bot.slack.reply_threads`);
        # without it only card threads are reachable, and other replies wait for a retry.
        self.replies = replies
        self.install_events = install_events
        # Stage and status changes become entries in the deal's thread (`bot.slack.deal_thread`).
        self.deal_thread = deal_thread
        self.field_ids = FieldIds(client=client, config=config, clock=clock)
        # Other locations' handlers by location id (the app install sends every installed
        # location's events here: `bot.ops.event_wiring.LocationEvents`); None: one location.
        self.others: Callable[[str], WebhookHandlers | None] | None = None

    def handle(self, event_type: str, payload: Mapping[str, Any], now: datetime) -> str:
        body = dict(payload)
        problem = payload_problem(body)
        if problem is not None:  # refused before any GHL call or query is built from it
            return f"malformed payload: {problem}"
        if event_type in INSTALL_TYPES:  # before the location check: any location installs
            if self.install_events is None:
                return "app install events not wired (GHL_CLIENT_ID not set)"
            return self.install_events(event_type, body, now)
        location = body.get("locationId")
        if location and location != self.location_id:
            other = self.others(str(location)) if self.others is not None else None
            if other is None:  # not installed here, or disabled
                return Ignored.OTHER_LOCATION.describe()
            return other.handle(event_type, payload, now)
        if event_type == "InboundMessage":
            return self._inbound(body, now)
        if event_type == "ContactDndUpdate":
            if self.dnd_update is None:
                return "DND updates not wired"
            dnd = dnd_changed(client=self.client, body=body, now=now, dnd_update=self.dnd_update)
            return dnd.describe()
        if event_type in CONTACT_TYPES:
            return buyer_changed(
                engine=self.engine, client=self.client, config=self.config,
                field_ids=self.field_ids, body=body, now=now,
            ).describe()  # fmt: skip
        if event_type in OPPORTUNITY_TYPES:
            on_change = self.deal_thread.on_stage_change if self.deal_thread else None
            return opportunity_changed(
                engine=self.engine, client=self.client, body=body, now=now, on_change=on_change
            ).describe()
        if event_type == "TaskComplete":
            return self._task(body)
        return "no handler"

    def _inbound(self, body: dict[str, Any], now: datetime) -> str:
        if self.inbound is None:
            return "inbound messages not wired"
        reply = reply_received(engine=self.engine, payload=body, now=now, inbound=self.inbound)
        if reply.route is not ReplyRoute.TO_TEAM or reply.mls_id is None:
            return reply.describe()
        mls_id, kind = reply.mls_id, reply.kind
        if self.replies is None and self.alerts is None:
            # Never "processed" unposted: another process with Slack (or this one restarted
            # with SLACK_BOT_TOKEN) takes the event on a retry.
            log.warning("reply about %s not posted: no Slack client in this process "
                        "(SLACK_BOT_TOKEN); the event is retried", mls_id)  # fmt: skip
            raise RepliesNotWiredError(mls_id)
        # Each line below reports what Slack answered: a refusal raises, and the event is
        # retried from the store instead of being logged as posted.
        if self.replies is not None:
            posted = self.replies.post(
                mls_id=mls_id, text=reply_text(reply), message_id=reply.reply_id
            )
            return f"{kind}: {posted.describe(mls_id)}"
        assert self.alerts is not None
        ts = self.alerts.post_thread_reply(mls_id, reply_text(reply))
        if ts is None:
            log.warning("reply about %s not posted: the deal has no card and no replies "
                        "channel is wired here; the event is retried", mls_id)  # fmt: skip
            raise RepliesNotWiredError(mls_id)
        return f"{kind}: posted to the card thread of {mls_id} (ts {ts})"

    def _task(self, body: dict[str, Any]) -> str:
        if self.task_completed is None:
            return "task completion not wired"
        outcome = task_completed(engine=self.engine, body=body, advance=self.task_completed)
        if isinstance(outcome, DealsMoved) and self.deal_thread is not None:
            # Our own move: GHL's webhook for it shows no change, so the thread hears it here.
            stages = self.config.pipeline.stages
            for move in outcome.moves:
                old = stages.get(move.from_key or "", move.from_key or "none")
                new = stages.get(move.to_key or "", move.to_key)
                self.deal_thread.on_task_move(
                    move.mls_id, text=f"Task “{outcome.title}” done: stage {old} → {new}",
                    key=f"task:{outcome.event_key}:{move.mls_id}",
                )  # fmt: skip
        return outcome.describe()
