"""Conversations, read side: `GET /conversations/search` and `GET /conversations/{id}/messages`.

The notifier reads a contact's conversation to learn whether a text whose send ended without an
answer (timeout, dropped connection, 5xx) went out, before it sends it again; polling
(`bot.ops.polling`) reads the conversations changed since its cursor, newest first, then their new
inbound messages. Messages are SMS: outbound ones sent through `POST /conversations/messages`,
inbound ones a contact texted (`sandbox.ghl_emulator.events.simulate_inbound_sms`).

Search answers `sort` (asc/desc, default desc), `sortBy` (`last_message_date`; the other
documented orders are not modelled and sort the same way), `startAfterDate` (the sort value of
the last conversation seen: the next page starts after it), `limit`, `contactId`, `id` and
`lastMessageDirection`. Each conversation also carries `lastMessageDate` (epoch ms) and
`lastMessageDirection`, as the live API's answers do although `ConversationSchema` does not
declare them (the schema allows further properties): without the sort value of the last
document, `startAfterDate` could not be used as its description says.
"""

from __future__ import annotations

from typing import Any

from sandbox.ghl_emulator.calls import ApiError, Call, Handler, Reply, iso
from sandbox.ghl_emulator.handlers_common import find_contact
from sandbox.ghl_emulator.render import full_name
from sandbox.ghl_emulator.state import Contact, Message

DEFAULT_LIMIT = 20  # both operations' documented default
MAX_LIMIT = 100
# GHL's numeric message types (GetMessageResponseDto.type): 1 call, 2 SMS, 3 email, ...
_TYPE_SMS = 2


def _limit(call: Call) -> int:
    raw = call.query.get("limit")
    try:
        value = int(float(raw)) if raw is not None else DEFAULT_LIMIT
    except ValueError:
        raise ApiError(400, "limit must be a number") from None
    return max(1, min(value, MAX_LIMIT))


def _newest_first(messages: list[Message]) -> list[Message]:
    # Stable on the insertion order for equal timestamps (a frozen test clock), newest first.
    indexed = list(enumerate(messages))
    indexed.sort(key=lambda pair: (pair[1].date_added, pair[0]), reverse=True)
    return [message for _, message in indexed]


def _messages_of(call: Call, conversation_id: str) -> list[Message]:
    return _newest_first([m for m in call.state.messages if m.conversation_id == conversation_id])


def _conversation(call: Call, *, contact: Contact, conversation_id: str) -> dict[str, Any]:
    latest = _messages_of(call, conversation_id)
    extra: dict[str, Any] = {}
    if latest:
        extra = {
            "lastMessageDate": latest[0].date_added,
            "lastMessageDirection": latest[0].direction,
        }
    # Every property of ConversationSchema is required and none is nullable: blanks, not nulls.
    name = full_name(contact) or ""
    return {
        "id": conversation_id,
        "contactId": contact.id,
        "locationId": contact.location_id,
        "lastMessageBody": latest[0].body if latest else "",
        "lastMessageType": "TYPE_SMS",
        "type": "TYPE_PHONE",
        "unreadCount": 0,
        "fullName": name,
        "contactName": name,
        "email": contact.email or "",
        "phone": contact.phone or "",
    } | extra


def search_conversations(call: Call) -> Reply:
    wanted = call.query.get("contactId")
    wanted_id = call.query.get("id")
    direction = call.query.get("lastMessageDirection")
    descending = call.query.get("sort", "desc") != "asc"
    after = _start_after(call)
    found: list[tuple[int, dict[str, Any]]] = []
    for contact_id, conversation_id in call.state.conversations.items():
        contact = call.state.contacts.get(contact_id)
        if contact is None or contact.location_id != call.location_id:
            continue
        if (wanted and contact_id != wanted) or (wanted_id and conversation_id != wanted_id):
            continue
        latest = _messages_of(call, conversation_id)
        last_at = latest[0].date_added if latest else 0
        if direction and (not latest or latest[0].direction != direction):
            continue
        if after is not None and (last_at >= after if descending else last_at <= after):
            continue
        found.append(
            (last_at, _conversation(call, contact=contact, conversation_id=conversation_id))
        )
    found.sort(key=lambda pair: pair[0], reverse=descending)  # sortBy last_message_date
    page = [conversation for _, conversation in found[: _limit(call)]]
    return Reply(200, {"conversations": page, "total": len(found)})


def _start_after(call: Call) -> int | None:
    raw = call.query.get("startAfterDate")
    if raw is None or raw == "":
        return None
    try:
        return int(float(raw.split(",")[0]))
    except ValueError:
        raise ApiError(400, "startAfterDate must be a number (the last sort value)") from None


def _message(record: Message) -> dict[str, Any]:
    data = {
        "id": record.id,
        "type": _TYPE_SMS,
        "messageType": "TYPE_SMS",
        "locationId": record.location_id,
        "contactId": record.contact_id,
        "conversationId": record.conversation_id,
        "dateAdded": iso(record.date_added),
        "body": record.body,
        "direction": record.direction,
        "status": record.status,
        "contentType": "text/plain",
        "attachments": [],
    }
    if record.direction == "outbound":
        data["source"] = "api"
    return data


def list_messages(call: Call) -> Reply:
    conversation_id = call.params["conversationId"]
    owner = next(
        (cid for cid, conv in call.state.conversations.items() if conv == conversation_id), None
    )
    if owner is None:
        # The file declares only 400 and 401 for this operation, hence 400 for an unknown id.
        raise ApiError(400, f"Conversation with id {conversation_id} not found")
    find_contact(call, owner, missing_status=400)
    messages = _messages_of(call, conversation_id)
    start = 0
    after = call.query.get("lastMessageId")
    if after:
        ids = [m.id for m in messages]
        if after not in ids:
            raise ApiError(400, f"Message with id {after} not found in this conversation")
        start = ids.index(after) + 1
    limit = _limit(call)
    page = messages[start : start + limit]
    return Reply(
        200,
        {
            "lastMessageId": page[-1].id if page else "",
            "nextPage": start + limit < len(messages),
            "messages": [_message(m) for m in page],
        },
    )


ROUTES: dict[tuple[str, str], Handler] = {
    ("GET", "/conversations/search"): search_conversations,
    ("GET", "/conversations/{conversationId}/messages"): list_messages,
}
