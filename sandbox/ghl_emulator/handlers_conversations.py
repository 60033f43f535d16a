"""Conversations: `POST /conversations/messages`, SMS only (Version 2021-04-15)."""

from __future__ import annotations

from sandbox.ghl_emulator.calls import ApiError, Call, Handler, Reply
from sandbox.ghl_emulator.handlers_common import find_contact
from sandbox.ghl_emulator.state import Message


def send_message(call: Call) -> Reply:
    body = call.json()
    if body["type"] != "SMS":
        raise ApiError(400, f"The emulator sends SMS only, not {body['type']}")
    contact = find_contact(call, body["contactId"], missing_status=400)
    if not contact.phone:
        raise ApiError(400, "Contact does not have a phone number")
    if contact.sms_blocked():
        # GHL does not send to a contact with DND on (help centre, "Troubleshooting SMS
        # delivery"). The file declares only 400 for this operation, hence 400; the wording is
        # the emulator's own.
        raise ApiError(400, "Cannot send message as DND is active for SMS.")
    text = body.get("message") or ""
    if not text.strip() and not body.get("attachments"):
        raise ApiError(400, "message is required for an SMS")
    # One conversation per contact, as GHL keeps a single thread per contact and channel.
    conversation_id = call.state.conversations.setdefault(contact.id, call.state.new_id())
    message = Message(
        id=call.state.new_id(),
        conversation_id=conversation_id,
        contact_id=contact.id,
        location_id=call.location_id,
        type="SMS",
        body=text,
        date_added=call.now_ms,
        to_number=body.get("toNumber") or contact.phone,
        from_number=body.get("fromNumber"),
    )
    call.state.messages.append(message)
    return Reply(
        200,
        {
            "conversationId": conversation_id,
            "messageId": message.id,
            "msg": "Message queued successfully.",
            "status": message.status,
        },
    )


ROUTES: dict[tuple[str, str], Handler] = {
    ("POST", "/conversations/messages"): send_message,
}
