"""What a handler receives (`Call`), returns (`Reply`) or raises (`ApiError`), and GHL's error body.

def get_contact(call: Call) -> Reply:
    contact = find_contact(call, call.params["contactId"])
    return Reply(200, {"contact": render.contact(call.state, contact)})
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from werkzeug.datastructures import MultiDict

from sandbox.ghl_emulator.state import State

REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}

NO_ACCESS = "The token does not have access to this location"


class ApiError(Exception):
    """An answer in GHL's error shape; `message` is a list for 422, as NestJS sends it."""

    def __init__(
        self, status: int, message: str | list[str], *, extra: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message if isinstance(message, str) else "; ".join(message))
        self.status = status
        self.message = message
        self.extra = extra or {}


def error_body(
    status: int, message: str | list[str], *, trace_id: str, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """GHL's NestJS error body, e.g. `{"statusCode": 422, "message": [...], "error": ...}`."""
    if status == 422 and isinstance(message, str):
        message = [message]
    body: dict[str, Any] = {"statusCode": status, "message": message}
    # NestJS adds `error` for validation (422) and routing (404) failures; GHL's own 400/401/
    # 403/429 bodies carry only statusCode and message.
    if status in (404, 422):
        body["error"] = REASONS[status]
    body.update(extra or {})
    body["traceId"] = trace_id
    return body


@dataclass
class Reply:
    status: int
    body: dict[str, Any]


@dataclass
class Call:
    """One authenticated, validated API call, as a handler sees it."""

    method: str
    path: str
    template: str
    params: dict[str, str]
    query: MultiDict[str, str]
    body: Any
    location_id: str
    now_ms: int
    state: State
    options: dict[str, Any] = field(default_factory=dict)

    def json(self) -> dict[str, Any]:
        """The body as an object (the spec check already rejected other shapes)."""
        return self.body if isinstance(self.body, dict) else {}

    def indexed(self, created_ms: int) -> bool:
        """Whether search already sees a record created at `created_ms` (GHL's search lag)."""
        return self.now_ms - created_ms >= int(self.options.get("search_lag_ms", 0))


Handler = Callable[[Call], Reply]


def iso(ms: int) -> str:
    """GHL's timestamp text: ISO 8601 in UTC with milliseconds, e.g. 2025-01-02T03:04:05.678Z."""
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def parse_time_ms(value: object) -> int | None:
    """Epoch milliseconds from epoch ms (number or digits) or ISO 8601 text; None if neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return int(text)
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return int(moment.timestamp() * 1000)
    return None
