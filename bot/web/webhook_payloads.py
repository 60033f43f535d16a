"""Is a GHL webhook payload well-formed enough to act on? A pure check before any handler runs.

GHL's documented payloads (ghl-api/webhooks/*.md) carry ids as strings of letters, digits,
`-` and `_`, and text as strings. A payload that breaks that (an id that is a list, a number
or a path such as "a/b?x", a `messageType` that is an object) is refused with a reason, so no
handler builds a GHL URL, a SQL query or a set lookup from it.

    payload_problem({"contactId": ["x"]})   # -> "contactId is not a GHL id"
    payload_problem({"contactId": "abc123", "body": "STOP"})   # -> None
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

GHL_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
ID_FIELDS = (
    "id",
    "contactId",
    "conversationId",
    "messageId",
    "assignedTo",
    "pipelineId",
    "pipelineStageId",
)
TEXT_FIELDS = ("body", "title", "messageType", "direction", "status", "type")
TEXT_LIMIT = 100_000  # an SMS body is 1,600 characters at most; a task title far less


def payload_problem(body: Mapping[str, Any]) -> str | None:
    """Why `body` cannot be acted on, or None. Absent, null and empty fields are fine here:
    each handler says what it is missing."""
    for name in ID_FIELDS:
        value = body.get(name)
        if value in (None, ""):
            continue
        if not isinstance(value, str) or not GHL_ID.match(value):
            return f"{name} is not a GHL id"
    for name in TEXT_FIELDS:
        value = body.get(name)
        if value is not None and not isinstance(value, str):
            return f"{name} is not text"
        if isinstance(value, str) and len(value) > TEXT_LIMIT:
            return f"{name} is longer than {TEXT_LIMIT:,} characters"
    settings = body.get("dndSettings")
    if settings is not None and not (
        isinstance(settings, Mapping)
        and all(isinstance(v, Mapping | None) for v in settings.values())
    ):
        return "dndSettings is not an object of channel settings"
    return None
