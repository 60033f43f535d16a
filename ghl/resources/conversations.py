"""Conversations (conversations.json — Version 2021-04-15, unlike every other group): SMS.

`POST /conversations/messages` has no idempotency key: a send whose outcome is unknown is
never repeated here. The outbox (matching/notify) records intent and result around it.
"""

from __future__ import annotations

from typing import Any

from ghl.models import SentMessage
from ghl.resources.base import V2021_04_15, Resource


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
