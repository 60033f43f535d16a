"""Conversations (conversations.json — Version 2021-04-15, unlike every other group): SMS.

`POST /conversations/messages` has no idempotency key: a send whose outcome is unknown is
never repeated here. The outbox (services/notify/) records intent and result around it, and
reads the contact's conversation (`recent_messages`) to learn whether an unknown send went out.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from pydantic import Field

from ghl.models import GHLModel, SentMessage
from ghl.resources.base import V2021_04_15, Resource

MESSAGES_PAGE_MAX = 100  # GHL's documented default is 20; larger pages are refused above 100


class Conversation(GHLModel):
    """One conversation (GHL keeps one thread per contact and channel family)."""

    id: str
    contact_id: str | None = Field(default=None, alias="contactId")
    last_message_body: str | None = Field(default=None, alias="lastMessageBody")
    last_message_type: str | None = Field(default=None, alias="lastMessageType")
    # Not declared in ConversationSchema, but in the live API's answers: the sort value
    # (epoch ms) that `startAfterDate` takes
    # (see sandbox/ghl_emulator/handlers_conversation_reads.py).
    last_message_date: int | None = Field(default=None, alias="lastMessageDate")


class ConversationMessage(GHLModel):
    """One message of a conversation, as `GET /conversations/{id}/messages` lists it."""

    id: str
    body: str | None = None
    direction: str | None = None  # "inbound" | "outbound"
    message_type: str | None = Field(default=None, alias="messageType")  # "TYPE_SMS", ...
    status: str | None = None
    contact_id: str | None = Field(default=None, alias="contactId")
    conversation_id: str | None = Field(default=None, alias="conversationId")
    date_added: str | None = Field(default=None, alias="dateAdded")

    @property
    def added_at(self) -> datetime | None:
        """`dateAdded` as an aware UTC datetime (None when missing or unreadable)."""
        if not self.date_added:
            return None
        try:
            moment = datetime.fromisoformat(self.date_added.replace("Z", "+00:00"))
        except ValueError:
            return None
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class MessagePage(GHLModel):
    """A page of messages, newest first; pass `last_message_id` back for the next page."""

    messages: list[ConversationMessage] = Field(default_factory=list)
    last_message_id: str | None = Field(default=None, alias="lastMessageId")
    next_page: bool = Field(default=False, alias="nextPage")


class Conversations(Resource):
    version = V2021_04_15

    def send_sms(
        self, contact_id: str, message: str, *, from_number: str | None = None
    ) -> SentMessage:
        # The current SendMessageBodyDto (May 2026 sync) requires type, subType (an object),
        # contactId and status; older integrations sent only type/contactId/message. We send
        # what the current file requires: status "pending" for an outbound message to be
        # delivered, and the channel again as the subType object.
        body: dict[str, Any] = {
            "type": "SMS",
            "subType": {"type": "SMS"},
            "contactId": contact_id,
            "status": "pending",
            "message": message,
        }
        if from_number:
            body["fromNumber"] = from_number
        data = self._post("/conversations/messages", json=body, idempotent=False)
        return SentMessage.model_validate(data)

    def search(self, *, contact_id: str, limit: int = 20) -> list[Conversation]:
        """The contact's conversations (`GET /conversations/search?contactId=`)."""
        params = {"locationId": self.location_id, "contactId": contact_id, "limit": limit}
        data = self._get("/conversations/search", params=params)
        return [Conversation.model_validate(c) for c in data.get("conversations", [])]

    def recently_active(
        self, *, limit: int = 20, start_after: int | None = None
    ) -> list[Conversation]:
        """One page of the location's conversations, the latest message first (polling)."""
        params: dict[str, Any] = {
            "locationId": self.location_id,
            "sortBy": "last_message_date",
            "sort": "desc",
            "limit": limit,
        }
        if start_after is not None:
            params["startAfterDate"] = start_after
        data = self._get("/conversations/search", params=params)
        return [Conversation.model_validate(c) for c in data.get("conversations", [])]

    def messages(
        self, conversation_id: str, *, limit: int = 20, last_message_id: str | None = None
    ) -> MessagePage:
        """One page of a conversation's messages, newest first."""
        params: dict[str, Any] = {"limit": min(limit, MESSAGES_PAGE_MAX)}
        if last_message_id:
            params["lastMessageId"] = last_message_id
        data = self._get(f"/conversations/{conversation_id}/messages", params=params) or {}
        # conversations.json declares the page at the top level; the live API is reported to
        # wrap it as {"messages": {"lastMessageId", "nextPage", "messages": [...]}}. Read both.
        inner = data.get("messages")
        if isinstance(inner, dict):
            data = inner
        return MessagePage.model_validate(data)

    def recent_messages(
        self, contact_id: str, *, since: datetime, max_pages: int = 5
    ) -> Iterator[ConversationMessage]:
        """The contact's messages added at or after `since`, newest first, across conversations.

        Stops paging a conversation at the first message older than `since`, so looking for a
        text sent in the last minutes costs two calls, not the contact's whole history.
        """
        for conversation in self.search(contact_id=contact_id):
            cursor: str | None = None
            for _ in range(max_pages):
                page = self.messages(conversation.id, limit=50, last_message_id=cursor)
                reached_older = False
                for message in page.messages:
                    added = message.added_at
                    if added is not None and added < since:
                        reached_older = True
                        break
                    yield message
                if reached_older or not page.next_page or not page.last_message_id:
                    break
                cursor = page.last_message_id
