"""Polling GHL for events, for locations no event path reaches (a token-only install with no
workflow webhooks), or while the paths are quiet.

Every minute (job `ghl_event_poll`), unless an event path delivered within `QUIET_AFTER`:
1. conversations whose last message is newer than the cursor (`GET /conversations/search`,
   sorted by last message date, newest first: one call when nothing happened), then each one's
   new inbound SMS (`GET /conversations/{id}/messages`), stored as InboundMessage events keyed
   by GHL's message id (`store.webhooks.message_key`), the key the signed and workflow paths
   claim too, so a text is handled once whichever path brings it first;
2. contacts updated since the cursor (`POST /contacts/search`, `dateUpdated`), for buyers only,
   and only what differs from the buyer cache: their SMS DND (ContactDndUpdate, from the
   contact as GHL has it) and tags (ContactTagUpdate);
3. the events and the moved cursors are stored in one transaction, then handled at once by
   the same handlers as webhooks (`bot.web.webhooks.process_webhook_events`).
Each read looks back `OVERLAP` before the cursor, since GHL's search may index a message a
little late; the keys make the overlap harmless. The first run only sets the cursors: what
happened before is history (the buyer sync holds the current state).
Idle cost: 2 requests a minute (README, "Measured": 0.3 % of GHL's 600 a minute).

    report = poll_events(engine=engine, client=ghl, handlers=handlers, now=now)
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Engine

from bot.web.metrics import Metrics
from bot.web.webhook_handlers import WebhookHandlers
from bot.web.webhooks import process_webhook_events
from ghl.client import GHLClient
from ghl.models import Contact
from ghl.resources.conversations import ConversationMessage
from store.buyers import get_buyer
from store.db import session_scope
from store.models import Buyer
from store.state import get_sync_state, set_sync_state
from store.webhooks import accept_event, last_deliveries, message_key

log = logging.getLogger("dealfinder.polling")

PollMode = Literal["auto", "on", "off"]
QUIET_AFTER = timedelta(minutes=10)
OVERLAP = timedelta(minutes=2)
PAGE = 20  # conversations and messages per call (GHL's documented default)
MAX_PAGES = 25  # conversation pages per run: 500 conversations moved within one minute
# Never look back further than this, however old the cursor (polling was off while webhooks
# delivered, or the bot was down): well inside the day message ids are remembered
# (bot.ops.jobs.SEEN_WEBHOOK_IDS_KEPT), so a text another path handled is never handled again.
MAX_LOOKBACK = timedelta(hours=12)
_SMS_TYPES = {"TYPE_SMS", "SMS", "TYPE_CUSTOM_SMS", "TYPE_CUSTOM_PROVIDER_SMS"}


def polling_due(
    *, mode: PollMode, deliveries: dict[str, datetime], now: datetime, quiet_after: timedelta
) -> bool:
    """Whether polling runs now: always ("on"), never ("off"), or ("auto") when no event path
    delivered within `quiet_after` (they may be unset up, or broken, or the location quiet)."""
    if mode != "auto":
        return mode == "on"
    latest = max(deliveries.values(), default=None)
    return latest is None or now - latest >= quiet_after


@dataclass
class PollReport:
    ran: bool
    messages: int = 0
    contacts: int = 0
    stored: int = 0
    calls: int = 0


def cursor_key(location_id: str) -> str:
    return f"poll:{location_id}"


def poll_events(
    *,
    engine: Engine,
    client: GHLClient,
    handlers: WebhookHandlers | None,
    now: datetime,
    mode: PollMode = "auto",
    quiet_after: timedelta = QUIET_AFTER,
    buyer_tag: str = "active_buyer",
    metrics: Metrics | None = None,
) -> PollReport:
    """One polling run (the job); `handlers` None stores the events for the webhook job."""
    with session_scope(engine, readonly=True) as session:
        deliveries = last_deliveries(session=session)
        state = get_sync_state(session=session, key=cursor_key(client.location_id))
    if not polling_due(mode=mode, deliveries=deliveries, now=now, quiet_after=quiet_after):
        return PollReport(ran=False)
    key = cursor_key(client.location_id)
    if state is None:
        with session_scope(engine) as session:
            set_sync_state(session=session, key=key, value=_cursor(now, None), now=now)
        return PollReport(ran=True)
    calls_before = client.stats.calls
    floor = now - MAX_LOOKBACK + OVERLAP
    messages_ms = max(int(state.value.get("messages_ms", 0)), int(floor.timestamp() * 1000))
    contacts_at = max(
        datetime.fromisoformat(state.value.get("contacts_at", now.isoformat())), floor
    )

    since_ms = messages_ms - int(OVERLAP.total_seconds() * 1000)
    messages, newest_ms, complete = _new_inbound(client, since_ms=since_ms)
    if not complete:
        # More than MAX_PAGES pages of conversations moved in one minute: far beyond a deal
        # team's traffic. The oldest of them are not read; say so rather than loop on them.
        log.warning(
            "polling: over %d conversations moved since the last run; the oldest were not "
            "read (signed or workflow webhooks carry every event)",
            MAX_PAGES * PAGE,
        )
    changed = client.contacts.updated_since_filter(contacts_at - OVERLAP)
    contacts = list(client.contacts.search(filters=[changed]))
    report = PollReport(ran=True, messages=len(messages), contacts=len(contacts))
    with session_scope(engine) as session:
        for message in messages:
            payload = _inbound_payload(message, location_id=client.location_id)
            outcome, _ = accept_event(
                session=session,
                event_type="InboundMessage",
                payload=payload,
                dedupe_keys=[message_key(message.id)],
                now=now,
            )
            report.stored += outcome == "accepted"
        for contact in contacts:
            buyer = get_buyer(session=session, contact_id=contact.id)
            if buyer is None and buyer_tag not in contact.tags:
                continue
            changes = _contact_events(contact, buyer=buyer, location_id=client.location_id)
            for event_type, payload in changes:
                # What it says and when GHL changed it: each change once, overlap or not.
                said = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
                change = f"poll:{event_type}:{contact.id}:{contact.date_updated}:{said[:16]}"
                outcome, _ = accept_event(
                    session=session,
                    event_type=event_type,
                    payload=payload,
                    dedupe_keys=[change],
                    now=now,
                )
                report.stored += outcome == "accepted"
        value = _cursor(now, max(messages_ms, newest_ms or 0))
        set_sync_state(session=session, key=key, value=value, now=now)
    report.calls = client.stats.calls - calls_before
    if report.stored:
        log.info("polling stored %d event(s) from GHL", report.stored)
    if report.stored and handlers is not None:
        # At once, not at the webhook job's next tick: a STOP is honoured in this run.
        process_webhook_events(engine=engine, handlers=handlers, now=now, metrics=metrics)
    return report


def _cursor(now: datetime, messages_ms: int | None) -> dict[str, Any]:
    """Where the next run starts: the newest last-message date seen, and this run's time."""
    if messages_ms is None:
        messages_ms = int(now.timestamp() * 1000)
    return {"messages_ms": messages_ms, "contacts_at": now.isoformat()}


def _new_inbound(
    client: GHLClient, *, since_ms: int
) -> tuple[list[ConversationMessage], int | None, bool]:
    """Inbound SMS added after `since_ms` in conversations active since then, the newest
    conversation's last message date (the next cursor), and whether every page was read."""
    found: list[ConversationMessage] = []
    newest: int | None = None
    start_after: int | None = None
    for _ in range(MAX_PAGES):
        page = client.conversations.recently_active(limit=PAGE, start_after=start_after)
        active = [c for c in page if (c.last_message_date or 0) > since_ms]
        if page and newest is None:
            newest = page[0].last_message_date
        for conversation in active:
            found.extend(_inbound_of(client, conversation.id, since_ms=since_ms))
        if len(active) < len(page) or len(page) < PAGE:
            return found, newest, True
        start_after = page[-1].last_message_date
    return found, newest, False


def _inbound_of(client: GHLClient, conversation_id: str, *, since_ms: int) -> list[Any]:
    found = []
    cursor: str | None = None
    for _ in range(MAX_PAGES):
        page = client.conversations.messages(conversation_id, limit=PAGE, last_message_id=cursor)
        older = False
        for message in page.messages:
            added = message.added_at
            if added is not None and added.timestamp() * 1000 <= since_ms:
                older = True
                break
            if message.direction == "inbound" and (message.message_type or "") in _SMS_TYPES:
                found.append(message)
        if older or not page.next_page or not page.last_message_id:
            break
        cursor = page.last_message_id
    return found


def _inbound_payload(message: ConversationMessage, *, location_id: str) -> dict[str, Any]:
    """The message as GHL's InboundMessage webhook carries it (InboundMessage.md)."""
    return {
        "type": "InboundMessage",
        "locationId": location_id,
        "attachments": [],
        "body": message.body or "",
        "contactId": message.contact_id,
        "contentType": "text/plain",
        "conversationId": message.conversation_id,
        "dateAdded": message.date_added,
        "direction": "inbound",
        "messageType": "SMS",
        "messageId": message.id,
        "status": message.status or "delivered",
        "source": "polling",
    }


def _contact_events(
    contact: Contact, *, buyer: Buyer | None, location_id: str
) -> list[tuple[str, dict[str, Any]]]:
    """ContactDndUpdate and ContactTagUpdate payloads from the contact as GHL has it now, for
    what differs from the buyer cache (a contact DealFinder does not know yet: both)."""
    settings = {k: v.model_dump(exclude_none=True) for k, v in (contact.dnd_settings or {}).items()}
    base: dict[str, Any] = {"locationId": location_id, "id": contact.id, "tags": list(contact.tags)}
    found: list[tuple[str, dict[str, Any]]] = []
    if buyer is None or contact.sms_dnd != buyer.dnd_sms:
        dnd = base | {"type": "ContactDndUpdate", "dnd": bool(contact.dnd), "dndSettings": settings}
        found.append(("ContactDndUpdate", dnd))
    if buyer is None or sorted(contact.tags) != sorted(buyer.tags):
        found.append(("ContactTagUpdate", base | {"type": "ContactTagUpdate"}))
    return found
