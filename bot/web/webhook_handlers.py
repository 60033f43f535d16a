"""What each stored GHL webhook does, by its `type` (formats: ghl-api/webhooks/*.md).

- InboundMessage: opt-out / HELP through the notifier (`services.optout.replies`); any other reply
  from a texted buyer goes to Slack with the buyer's name and match score: the deal's card
  thread, else the deal's replies thread (`bot.slack.reply_threads`).
- ContactDndUpdate: the notifier's DND handling (SMS DND on = opted out here).
- ContactTagUpdate, ContactUpdate: that buyer is read again from GHL into the buyer cache.
- OpportunityStageUpdate / StatusUpdate / AssignedToUpdate: the opportunity is read from GHL
  (webhooks come late and out of order; GHL's current record does not), the store's link is
  updated and the deal's Slack message refreshed.
- TaskComplete: the pipeline's stage progression, then the moved deals' messages refreshed.

Collaborators are passed in (callables and a `DealAlerts`-like object), so this module never
imports the Slack app and tests hand it the real services.

    handlers = WebhookHandlers(engine=engine, client=ghl, config=config, inbound=..., alerts=...)
    handlers.handle("ContactUpdate", payload, now)   # -> "buyer refreshed (matchable)"

`bot.web.webhooks.process_webhook_events` (the job) calls `handle` for each stored event.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Engine
from sqlmodel import col, select

from bot.web.webhook_payloads import payload_problem
from ghl.client import GHLClient
from ghl.errors import GHLNotFoundError
from ghl.models import Contact
from services.buyer_sync import NOT_A_BUYER, _contact_field_ids, contact_to_buyer
from services.config import DealConfig
from services.hot_alerts import mark_cards_changed
from services.notify.common import match_key
from store import outbox
from store.buyers import buyer_name, get_buyer, upsert_buyer
from store.db import session_scope
from store.deals import OpportunityLinkIn, record_opportunity_link
from store.models import OpportunityLink, SmsLog
from store.types import utcnow

log = logging.getLogger("dealfinder.webhooks")

OPPORTUNITY_TYPES = frozenset(
    {"OpportunityStageUpdate", "OpportunityStatusUpdate", "OpportunityAssignedToUpdate"}
)
CONTACT_TYPES = frozenset({"ContactTagUpdate", "ContactUpdate"})
# The Marketplace app's own events (`bot.web.install_events`), about any location.
INSTALL_TYPES = frozenset({"INSTALL", "UNINSTALL"})
HANDLED_TYPES = (
    frozenset({"InboundMessage", "ContactDndUpdate", "TaskComplete"})
    | CONTACT_TYPES
    | OPPORTUNITY_TYPES
    | INSTALL_TYPES
)
# Other event types GHL documents: acknowledged, counted under their own name.
KNOWN_TYPES = HANDLED_TYPES | frozenset(
    {
        "ContactCreate",
        "ContactDelete",
        "OpportunityCreate",
        "OutboundMessage",
        "TaskCreate",
        "TaskDelete",
        "NoteCreate",
        "AppointmentCreate",
        "OpportunityDelete",
    }
)
FIELD_IDS_TTL = 3600.0  # custom field ids change by hand, rarely: re-read hourly


def _fold(text: object, limit: int) -> str:
    """Outside text on one line, cut to `limit` characters (escaping is the poster's job)."""
    folded = " ".join(str(text or "").split())
    return folded if len(folded) <= limit else folded[: limit - 1] + "…"


def type_label(event_type: str) -> str:
    """The event type as a metric label: GHL's documented names, everything else "other"."""
    return event_type if event_type in KNOWN_TYPES else "other"


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


InboundHandler = Callable[
    [dict[str, Any], datetime], Any
]  # -> services.optout.replies.InboundOutcome
DndHandler = Callable[[dict[str, Any], datetime], Any]  # -> services.optout.replies.DndOutcome
TaskHandler = Callable[[str, str], Sequence[Any]]  # (contact_id, title) -> [StageMove]


@dataclass(frozen=True)
class DealChange:
    """What an opportunity webhook changed on a deal (for the deal's thread)."""

    mls_id: str
    old_stage_id: str | None
    new_stage_id: str | None
    old_status: str | None
    new_status: str | None
    event_key: str | None  # the delivery's webhookId: the same on every retry


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
        self.clock = clock
        self.install_events = install_events
        # Stage and status changes become entries in the deal's thread (`bot.slack.deal_thread`).
        self.deal_thread = deal_thread
        self._field_ids: tuple[float, dict[str, str]] | None = None

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
            return "another location's event; ignored"
        if event_type == "InboundMessage":
            return self._inbound(body, now)
        if event_type == "ContactDndUpdate":
            return self._dnd(body, now)
        if event_type in CONTACT_TYPES:
            return self._contact(body, now)
        if event_type in OPPORTUNITY_TYPES:
            return self._opportunity(body, now)
        if event_type == "TaskComplete":
            return self._task(body)
        return "no handler"

    # -- messages and consent ----------------------------------------------------------------

    def _inbound(self, body: dict[str, Any], now: datetime) -> str:
        if self.inbound is None:
            return "inbound messages not wired"
        outcome = self.inbound(body, now)
        kind = getattr(outcome, "kind", "other")
        replier = getattr(outcome, "contact_id", None) or body.get("contactId")
        if replier:  # a reply or an opt-out changes what the deal's card counts
            about = getattr(outcome, "mls_id", None) or self._last_texted_deal(replier)
            mark_cards_changed(self.engine, [about] if about else [], now=utcnow())
        # Opt-outs and HELP were answered by the notifier; START is left to the team (it
        # needs consent restored by hand), so it goes to the thread like any other reply.
        if kind not in ("other", "opt_in"):
            return str(kind)
        contact_id = getattr(outcome, "contact_id", None) or body.get("contactId")
        if not contact_id:
            return f"{kind}: no contact; not posted"
        mls_id = getattr(outcome, "mls_id", None) or self._last_texted_deal(contact_id)
        if mls_id is None:
            return f"{kind}: not posted: this contact was never texted about a deal"
        if self.replies is None and self.alerts is None:
            # Never "processed" unposted: another process with Slack (or this one restarted
            # with SLACK_BOT_TOKEN) takes the event on a retry.
            log.warning("reply about %s not posted: no Slack client in this process "
                        "(SLACK_BOT_TOKEN); the event is retried", mls_id)  # fmt: skip
            raise RepliesNotWiredError(mls_id)
        text = self._reply_text(outcome, body, contact_id=contact_id, mls_id=mls_id)
        # Each line below reports what Slack answered: a refusal raises, and the event is
        # retried from the store instead of being logged as posted.
        if self.replies is not None:
            # GHL's message id; else the delivery's webhookId (the same on every retry of it).
            reply_id = body.get("messageId") or body.get("webhookId")
            posted = self.replies.post(mls_id=mls_id, text=text, message_id=reply_id)
            return f"{kind}: {posted.describe(mls_id)}"
        assert self.alerts is not None
        ts = self.alerts.post_thread_reply(mls_id, text)
        if ts is None:
            log.warning("reply about %s not posted: the deal has no card and no replies "
                        "channel is wired here; the event is retried", mls_id)  # fmt: skip
            raise RepliesNotWiredError(mls_id)
        return f"{kind}: posted to the card thread of {mls_id} (ts {ts})"

    def _reply_text(
        self, outcome: Any, body: dict[str, Any], *, contact_id: str, mls_id: str
    ) -> str:
        """The Slack line for a reply, plain text (the poster escapes `&`, `<`, `>`)."""
        name = getattr(outcome, "contact_name", None) or self._buyer_name(contact_id) or "A buyer"
        score = self._score(contact_id, mls_id)
        message = getattr(outcome, "body", None) or body.get("body")
        return (
            f":speech_balloon: Reply from *{_fold(name, 80)}*"
            f"{f' (match score {score})' if score is not None else ''}: “{_fold(message, 1500)}”"
        )

    def _dnd(self, body: dict[str, Any], now: datetime) -> str:
        if self.dnd_update is None:
            return "DND updates not wired"
        if "dnd" not in body and "dndSettings" not in body:
            # A workflow webhook says only that DND changed: GHL's record says how.
            contact = self._ghl_contact(body)
            if isinstance(contact, str):
                return contact
            body = body | {
                "dnd": bool(contact.dnd),
                "dndSettings": {
                    k: v.model_dump(exclude_none=True)
                    for k, v in (contact.dnd_settings or {}).items()
                },
            }
        outcome = self.dnd_update(body, now)
        return f"sms dnd {'on' if getattr(outcome, 'sms_dnd', False) else 'off'}"

    def _last_texted_deal(self, contact_id: str) -> str | None:
        """The property of the newest text this contact got (`SmsLog`: contact and MLS id)."""
        with session_scope(self.engine, readonly=True) as session:
            stmt = (
                select(SmsLog.mls_id)
                .where(
                    SmsLog.contact_id == contact_id,
                    col(SmsLog.mls_id).is_not(None),
                    col(SmsLog.message_id).is_not(None),
                )
                .order_by(col(SmsLog.sent_at).desc(), col(SmsLog.id).desc())
            )
            return session.exec(stmt).first()

    def _score(self, contact_id: str, mls_id: str) -> int | None:
        with session_scope(self.engine, readonly=True) as session:
            item = outbox.get_by_dedupe_key(
                session=session, dedupe_key=match_key(contact_id, mls_id)
            )
        score = item.payload.get("score") if item is not None else None
        return int(score) if isinstance(score, int | float) else None

    def _buyer_name(self, contact_id: str) -> str | None:
        with session_scope(self.engine, readonly=True) as session:
            return buyer_name(session=session, contact_id=contact_id)

    # -- buyers ----------------------------------------------------------------------------

    def field_ids(self) -> dict[str, str]:
        """This location's custom field ids for the buyer box, cached for an hour."""
        now = self.clock()
        if self._field_ids is None or now - self._field_ids[0] >= FIELD_IDS_TTL:
            ids, _missing = _contact_field_ids(self.client, self.config)
            self._field_ids = (now, ids)
        return self._field_ids[1]

    def _ghl_contact(self, body: dict[str, Any]) -> Contact | str:
        """The event's contact as GHL has it now, or why there is none (the outcome)."""
        contact_id = body.get("id") or body.get("contactId")
        if not contact_id:
            return "no contact id"
        try:
            return self.client.contacts.get(contact_id)
        except GHLNotFoundError:
            return "contact no longer in GHL"

    def _contact(self, body: dict[str, Any], now: datetime) -> str:
        contact = self._ghl_contact(body)
        if isinstance(contact, str):
            return contact
        contact_id = body.get("id") or body.get("contactId")
        tag = self.config.tags.buyer
        with session_scope(self.engine) as session:
            known = get_buyer(session=session, contact_id=contact_id) is not None
            if tag not in contact.tags and not known:
                return "not a buyer"
            buyer_in, reason = contact_to_buyer(
                contact, location_id=self.location_id, field_ids=self.field_ids()
            )
            if tag not in contact.tags:
                reason = NOT_A_BUYER.format(tag=tag)
                buyer_in = buyer_in.model_copy(update={"excluded_reason": reason})
            upsert_buyer(session=session, buyer_in=buyer_in, now=now)
        # The reason can quote the phone number: it stays in the store, out of the log.
        return f"buyer refreshed ({'excluded' if reason else 'matchable'})"

    # -- deals -----------------------------------------------------------------------------

    def _opportunity(self, body: dict[str, Any], now: datetime) -> str:
        opportunity_id = body.get("id")
        if not opportunity_id:
            return "no opportunity id"
        with session_scope(self.engine, readonly=True) as session:
            link = session.exec(
                select(OpportunityLink).where(
                    OpportunityLink.opportunity_id == opportunity_id,
                    OpportunityLink.location_id == self.location_id,
                )
            ).first()
        if link is None:
            return "not a DealFinder deal"
        try:
            opp = self.client.opportunities.get(opportunity_id)
        except GHLNotFoundError:
            return "opportunity no longer in GHL"
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
        if self.deal_thread is not None:
            # Before the link is recorded: a refused entry makes the event retry and still
            # see the change; the webhook id keeps the retry to one entry.
            self.deal_thread.on_stage_change(
                DealChange(
                    mls_id=link.mls_id, old_stage_id=link.stage_id,
                    new_stage_id=link_in.stage_id, old_status=link.status,
                    new_status=link_in.status, event_key=body.get("webhookId"),
                )
            )  # fmt: skip
        with session_scope(self.engine) as session:
            record_opportunity_link(session=session, link_in=link_in, now=now)
        self._refresh(link.mls_id)
        return f"deal {link.mls_id} updated ({opp.status or 'open'})"

    def _task(self, body: dict[str, Any]) -> str:
        if self.task_completed is None:
            return "task completion not wired"
        contact_id, title = body.get("contactId"), body.get("title")
        if not contact_id or not title:
            return "no contact or title"
        moves = self.task_completed(contact_id, title)
        moved = [m for m in moves if getattr(m, "moved", False)]
        for move in moved:
            self._refresh(move.mls_id)
            if self.deal_thread is not None:  # our own move: GHL's webhook shows no change
                stages = self.config.pipeline.stages
                self.deal_thread.on_task_move(
                    move.mls_id, text=f"Task “{title}” done: stage "
                    f"{stages.get(move.from_key or '', move.from_key or 'none')} → "
                    f"{stages.get(move.to_key or '', move.to_key)}",
                    key=f"task:{body.get('webhookId') or body.get('id')}:{move.mls_id}",
                )  # fmt: skip
        return f"{len(moved)} deal(s) moved"

    def _refresh(self, mls_id: str) -> None:
        # Marked, not updated here: the `slack_cards` job of a process with Slack updates the
        # card, at most once per few seconds however many events arrive (bot.slack.card_refresh).
        mark_cards_changed(self.engine, [mls_id], now=utcnow())
