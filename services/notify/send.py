"""Delivering one text exactly once: look first, re-check the policy, take a slot, send, record.

GHL's `POST /conversations/messages` has no idempotency key, so "exactly once" rests on three
rules (ghl-api README, "Facts not in the files"):
1. A deal text reserves its SMS slot (`store.sms`, linked to the outbox item) *before* the send,
   so a slot without a message id marks a send that may have happened.
2. After an unknown outcome (timeout, dropped connection, 5xx, a worker killed mid-way) the
   slot is kept and nothing is resent blindly: the next attempt first reads the contact's GHL
   conversation for a message carrying this body, added after the intent was recorded.
   Found: recorded as sent. Not found: the policy is asked again and the text is sent.
3. An answer that proves nothing went out (4xx, 429, refused connection) releases the slot.
Replies (confirmation, HELP) and broker alerts take no slot (they are outside the buyer cap);
for them any earlier attempt (`attempts > 1`, or a lease taken over) means "look first".
"""

from __future__ import annotations

from datetime import datetime, timedelta

from ghl.client import GHLClient
from ghl.errors import (
    GHLAuthError,
    GHLConnectionError,
    GHLDailyLimitError,
    GHLError,
    GHLPermissionError,
    GHLRateLimitError,
    GHLServerError,
    GHLStatusError,
)
from ghl.resources.conversations import ConversationMessage
from services.notify.checks import Verdict, send_time_verdict
from services.notify.common import (
    KIND_FOLLOWUP,
    PURPOSE_MATCH,
    cap_window,
    describe_error,
    slot_of,
)
from services.notify.followups import match_followups
from services.notify.outcomes import DeliveryContext, ItemOutcome, close_item
from store import outbox, sms
from store.db import session_scope
from store.models import OutboxItem

# GHL's clock and ours may differ; a message stamped a little before our record still counts.
LOOKUP_SKEW = timedelta(minutes=10)
# After an unknown outcome, wait before reading the conversation: GHL may list a message it
# accepted only after a moment, and a resend decided too early would be a duplicate.
RECHECK_AFTER_UNKNOWN = timedelta(seconds=60)
RETRY_AFTER_BUSY = timedelta(seconds=60)
RETRY_AFTER_DAILY_LIMIT = timedelta(hours=1)
RETRY_AFTER_TOKEN = timedelta(minutes=15)


def find_sent_message(
    client: GHLClient, *, contact_id: str, body: str, since: datetime
) -> ConversationMessage | None:
    """The outbound message carrying `body` in the contact's conversation since `since`.

    "Carrying", not "equal to": a location's compliance settings may make GHL add a footer
    to outgoing texts. A deal text's body names the buyer and the property's own link, so no
    other message carries it.
    """
    wanted = body.strip()
    for message in client.conversations.recent_messages(contact_id, since=since):
        if message.direction in (None, "outbound") and wanted in (message.body or ""):
            return message
    return None


def deliver_text(ctx: DeliveryContext, item: OutboxItem) -> ItemOutcome:
    """Take one claimed "sms"/"sms_reply" item to an end (or back to the queue), once."""
    assert item.id is not None
    payload = item.payload
    contact_id = payload.get("contact_id") or item.contact_id
    body = payload.get("message")
    purpose = payload.get("purpose") or PURPOSE_MATCH
    if not contact_id or not isinstance(body, str) or not body.strip():
        detail = "malformed_payload: contact_id and message are required"
        return close_item(ctx, item, status="failed", detail=detail)
    ctx.pause("claimed", item)
    uses_slot = purpose == PURPOSE_MATCH
    with session_scope(ctx.engine, readonly=True) as session:
        slot = slot_of(session=session, outbox_id=item.id) if uses_slot else None
    slot_id = slot.id if slot is not None else None
    if slot is not None and slot.message_id:
        # Sent and confirmed by an attempt that died before marking the item.
        return _record_sent(ctx, item, slot_id=slot_id, message_id=slot.message_id, found=True)
    if ctx.token_refused:
        detail = "token_refused: GHL refused the token earlier in this run; not tried"
        until = ctx.now + RETRY_AFTER_TOKEN
        return close_item(ctx, item, status="retry", detail=detail, until=until)
    maybe_sent = slot is not None if uses_slot else (item.outcome_unknown or item.attempts > 1)
    if maybe_sent:
        since = (slot.sent_at if slot is not None else item.created_at) - LOOKUP_SKEW
        looked = _look_first(ctx, item, contact_id=contact_id, body=body, since=since,
                             slot_id=slot_id)  # fmt: skip
        if looked is not None:
            return looked
    verdict = send_time_verdict(
        ctx, item, purpose=purpose, contact_id=contact_id, skip_slot_id=slot_id
    )
    if verdict.status != "send":
        return close_item(ctx, item, status=verdict.status, detail=verdict.detail,
                          until=verdict.until, release_slot_id=slot_id)  # fmt: skip
    ctx.pause("checked", item)
    if uses_slot and slot_id is None:
        slot_id, refused = _reserve(ctx, item, contact_id=contact_id, cap=verdict.cap)
        if refused is not None and refused.status != "send":  # a refusal is never "send"
            return close_item(ctx, item, status=refused.status, detail=refused.detail,
                              until=refused.until)  # fmt: skip
    ctx.pause("reserved", item)  # ready to send (holding the slot, for a deal text)
    if not ctx.hold(item):
        # Taken over by another worker: our slot stays, so the new holder looks before sending.
        detail = "lost_lease: another worker took the item over before the send"
        return ItemOutcome(item_id=item.id, kind=item.kind, contact_id=contact_id,
                           status="lost", detail=detail)  # fmt: skip
    try:
        sent = ctx.client.conversations.send_sms(
            contact_id, body, from_number=ctx.config.sms.from_number
        )
    except GHLError as exc:
        return _send_failed(ctx, item, exc=exc, slot_id=slot_id)
    ctx.pause("sent", item)
    return _record_sent(ctx, item, slot_id=slot_id, message_id=sent.message_id, found=False,
                        conversation_id=sent.conversation_id)  # fmt: skip


def _look_first(
    ctx: DeliveryContext,
    item: OutboxItem,
    *,
    contact_id: str,
    body: str,
    since: datetime,
    slot_id: int | None,
) -> ItemOutcome | None:
    """After a possible earlier send: record it if GHL has it; None if GHL shows no such text."""
    try:
        found = find_sent_message(ctx.client, contact_id=contact_id, body=body, since=since)
    except GHLError as exc:
        # Not knowing is not "not sent": keep the slot and look again later.
        detail = f"lookup_failed: could not check GHL for an earlier send ({describe_error(exc)})"
        until = ctx.now + RECHECK_AFTER_UNKNOWN
        return close_item(ctx, item, status="retry", detail=detail, until=until)
    if found is None:
        return None
    return _record_sent(ctx, item, slot_id=slot_id, message_id=found.id, found=True,
                        conversation_id=found.conversation_id)  # fmt: skip


def _reserve(
    ctx: DeliveryContext, item: OutboxItem, *, contact_id: str, cap: int
) -> tuple[int | None, Verdict | None]:
    """Take the contact's SMS slot: (slot id, None), or (None, the deferral) when it is full."""
    window = cap_window(ctx.rules)
    with session_scope(ctx.engine) as session:
        slot = sms.reserve_sms_slot(
            session=session,
            contact_id=contact_id,
            now=ctx.now,
            cap=cap,
            window=window,
            mls_id=item.payload.get("mls_id"),
            outbox_id=item.id,
        )
    if slot is not None:
        return slot.id, None
    # Another worker's text took the last slot between our check and the reservation: ask the
    # policy again, which now sees that send and picks a time both the cap and quiet hours allow.
    again = send_time_verdict(
        ctx, item, purpose=PURPOSE_MATCH, contact_id=contact_id, skip_slot_id=None
    )
    if again.status != "send":
        return None, again
    with session_scope(ctx.engine, readonly=True) as session:
        free = sms.next_slot_free_at(
            session=session, contact_id=contact_id, now=ctx.now, cap=cap, window=window
        )
    until = free or ctx.now + RETRY_AFTER_BUSY
    return None, Verdict("deferred", "daily_cap: the cap filled while reserving", until=until)


def _send_failed(
    ctx: DeliveryContext, item: OutboxItem, *, exc: GHLError, slot_id: int | None
) -> ItemOutcome:
    """Sort a failed send into "nothing went out" (release, retry or exclude) or "unknown"."""
    what = describe_error(exc)

    def not_sent(code: str, wait: timedelta) -> ItemOutcome:
        detail = f"{code}: not sent ({what})"
        return close_item(ctx, item, status="retry", detail=detail, until=ctx.now + wait,
                          release_slot_id=slot_id)  # fmt: skip

    if isinstance(exc, GHLAuthError | GHLPermissionError):
        ctx.token_refused = True
        return not_sent("token_refused", RETRY_AFTER_TOKEN)
    if isinstance(exc, GHLDailyLimitError):
        return not_sent("daily_limit", RETRY_AFTER_DAILY_LIMIT)
    if isinstance(exc, GHLRateLimitError):
        # A 429 is refused before processing; the transport already waited and retried.
        return not_sent(
            "rate_limited", max(RETRY_AFTER_BUSY, timedelta(seconds=exc.retry_after or 0))
        )
    if isinstance(exc, GHLConnectionError) and not exc.request_sent:
        return not_sent("ghl_unreachable", RETRY_AFTER_BUSY)
    if isinstance(exc, GHLStatusError) and not isinstance(exc, GHLServerError):
        # 400/404/422: GHL refused this text (DND set in GHL, contact gone, no phone).
        return close_item(ctx, item, status="excluded", detail=f"ghl_refused: {what}",
                          release_slot_id=slot_id)  # fmt: skip
    # 5xx, timeout, a connection lost after sending (or an error we cannot place): GHL may
    # have sent it. The slot stays, and the next attempt looks before sending.
    detail = f"outcome_unknown: {what}; GHL is checked for it before any resend"
    return close_item(
        ctx, item, status="retry", detail=detail, until=ctx.now + RECHECK_AFTER_UNKNOWN
    )


def _record_sent(
    ctx: DeliveryContext,
    item: OutboxItem,
    *,
    slot_id: int | None,
    message_id: str | None,
    found: bool,
    conversation_id: str | None = None,
) -> ItemOutcome:
    """Confirm the slot, mark the item sent and queue its follow-ups: one transaction."""
    assert item.id is not None
    contact_id = item.payload.get("contact_id") or item.contact_id
    result = {
        "message_id": message_id,
        "conversation_id": conversation_id,
        "sent_at": ctx.now.isoformat(),
        "found_in_ghl": found,
    }
    with session_scope(ctx.engine) as session:
        if slot_id is not None:
            # A slot with a message id is never released: the text counts against the cap.
            sms.confirm_sms_slot(
                session=session, slot_id=slot_id, message_id=message_id or f"outbox-{item.id}"
            )
        done = outbox.mark_sent(
            session=session, item_id=item.id, worker_id=ctx.worker_id, result=result, now=ctx.now
        )
        if done is not None and item.payload.get("purpose", PURPOSE_MATCH) == PURPOSE_MATCH:
            for key, payload in match_followups(
                payload=item.payload, config=ctx.config, sent_at=ctx.now
            ):
                outbox.enqueue(
                    session=session,
                    kind=KIND_FOLLOWUP,
                    dedupe_key=key,
                    payload=payload,
                    not_before=ctx.now,
                    contact_id=contact_id,
                    now=ctx.now,
                )
    detail = "found in GHL after an unknown outcome" if found else "sent"
    if done is None:
        detail = f"lost_lease: {detail}; the worker holding the item now will find it in GHL"
    return ItemOutcome(
        item_id=item.id,
        kind=item.kind,
        contact_id=contact_id,
        status="sent" if done is not None else "lost",
        detail=detail,
        message_id=message_id,
        found_in_ghl=found,
    )
