"""How a fake Web API method answers: a JSON body, an HTTP status, extra headers.

Slack answers request errors with HTTP 200 and `{"ok": false, "error": ...}`; only rate limits
(429) and server faults (5xx) change the status.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sandbox.slack_fake.state import JSON
from sandbox.slack_fake.store import SlackStore


@dataclass
class Reply:
    """One answer of the fake: body, status and headers."""

    body: JSON
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


def ok(**fields: Any) -> Reply:
    """A successful answer with the method's fields."""
    return Reply({"ok": True, **fields})


def fail(error: str, *, messages: list[str] | None = None, **fields: Any) -> Reply:
    """An `ok: false` answer; `messages` go in `response_metadata` the way Slack reports them."""
    body: JSON = {"ok": False, "error": error, **fields}
    if messages:
        body["response_metadata"] = {"messages": messages}
    return Reply(body)


def ratelimited(retry_after: int) -> Reply:
    """HTTP 429 with the integer `Retry-After` slack_sdk's RateLimitErrorRetryHandler reads."""
    return Reply(
        {"ok": False, "error": "ratelimited"},
        status=429,
        headers={"Retry-After": str(retry_after)},
    )


# A handler gets the store (locked for it) and the call's arguments without the token.
Handler = Callable[[SlackStore, JSON], Reply]
