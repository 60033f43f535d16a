"""Is this HTTP request one Slack could have sent? Pure checks run before bolt sees it.

Bolt converts headers and parses bodies before it verifies or routes them, and raises on what
it cannot convert: `int()` of a 5,000-digit timestamp (Python refuses more than 4,300 digits),
`json.loads` of a form body sent as `application/json`, a `payload` that is not JSON. Each of
those was a 500 for anyone's junk. These functions look at the raw values first and say what
is wrong, so the server answers 401 (not signed by Slack) or 400 (signed but not a request
Slack sends) with that reason.

    timestamp_problem("1700000000", now=time.time())      # None, or why it is refused
    signature_problem("v0=…")                             # None, or why it is refused
    body_problem(body_text, "application/x-www-form-urlencoded")   # None, or why
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl

MAX_AGE_SECONDS = 300  # Slack's own rule: refuse requests more than 5 minutes from now
TIMESTAMP_HEADER = "X-Slack-Request-Timestamp"
SIGNATURE_HEADER = "X-Slack-Signature"
# ASCII digits only: str.isdigit() and int() accept "²" and "١٢٣", which Slack never sends.
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")

# Interaction payload types Slack sends to a Request URL. `ssl_check` posts and slash commands
# carry no type. Events API envelopes (url_verification, event_callback) are let through: bolt
# answers them itself.
INTERACTION_TYPES = frozenset(
    {
        "block_actions", "block_suggestion", "view_submission", "view_closed", "shortcut",
        "message_action", "interactive_message", "dialog_submission", "dialog_cancellation",
        "dialog_suggestion", "workflow_step_edit", "url_verification", "event_callback",
        "app_rate_limited",
    }
)  # fmt: skip
_NEEDS_USER = frozenset({"block_actions", "view_submission", "view_closed", "shortcut",
                         "message_action"})  # fmt: skip


def timestamp_problem(value: str | None, *, now: float) -> str | None:
    """Why `X-Slack-Request-Timestamp` is refused (missing, not a Unix time, too old or new)."""
    if not value:
        return f"{TIMESTAMP_HEADER} is missing"
    if not _TIMESTAMP.fullmatch(value):
        return f"{TIMESTAMP_HEADER} is not a Unix time in seconds (ASCII digits)"
    if abs(now - int(value)) > MAX_AGE_SECONDS:
        return f"{TIMESTAMP_HEADER} is more than 5 minutes from the server's clock"
    return None


def signature_problem(value: str | None) -> str | None:
    """Why `X-Slack-Signature` cannot be a Slack signature (before comparing it)."""
    if not value:
        return f"{SIGNATURE_HEADER} is missing"
    if not _SIGNATURE.fullmatch(value):
        return f"{SIGNATURE_HEADER} is not v0= and 64 hex digits"
    return None


def parse_like_bolt(text: str, content_type: str | None) -> Any:
    """The body as bolt's `parse_body` will read it (same rules, so the checks match what bolt
    sees); raises ValueError where bolt would raise."""
    if not text:
        return {}
    if content_type == "application/json" or text.startswith("{"):
        return json.loads(text)
    if "payload" in text:
        payload = dict(parse_qsl(text, keep_blank_values=True)).get("payload")
        return {} if payload is None else json.loads(payload)
    return dict(parse_qsl(text, keep_blank_values=True))


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def misread_form(text: str, content_type: str | None) -> dict[str, str] | None:
    """A form bolt would misread, as its fields; else None.

    Bolt takes any form body containing the letters "payload" for an interaction and finds
    nothing in it, so `/deal show 12 payload ln` became an empty request. The server hands
    bolt such a form's fields as JSON instead (bolt reads JSON bodies whole).
    """
    if media_type(content_type) == "application/json" or text.startswith("{"):
        return None
    if "payload" not in text:
        return None
    fields = dict(parse_qsl(text, keep_blank_values=True))
    return None if "payload" in fields else fields


def body_problem(text: str, content_type: str | None) -> str | None:
    """Why a signed body is not a request Slack sends (None: bolt may take it)."""
    media = media_type(content_type)
    try:
        data = misread_form(text, media) or parse_like_bolt(text, media)
    except RecursionError:
        return "the JSON is nested too deeply"
    except ValueError:
        if media == "application/json" or text.startswith("{"):
            return "the body is not valid JSON (a form body sent as application/json?)"
        return "payload is not valid JSON"
    if not isinstance(data, dict):
        where = "payload" if "payload" in text and not text.startswith("{") else "the JSON body"
        return f"{where} is not a JSON object"
    return _shape_problem(data)


def _shape_problem(data: dict[str, Any]) -> str | None:
    if "ssl_check" in data:
        return None
    if "command" in data:
        return _command_problem(data)
    kind = data.get("type")
    if kind is None:
        return "neither a slash command nor an interaction payload (no command, no type)"
    if not isinstance(kind, str) or kind not in INTERACTION_TYPES:
        return f"unknown interaction type {str(kind)[:40]!r}"
    return _interaction_problem(kind, data)


def _command_problem(data: dict[str, Any]) -> str | None:
    for name in ("command", "user_id"):
        if not isinstance(data.get(name), str) or not data[name]:
            return f"a slash command without {name}"
    return None


def _interaction_problem(kind: str, data: dict[str, Any]) -> str | None:
    user = data.get("user")
    if kind in _NEEDS_USER and not (isinstance(user, dict) and isinstance(user.get("id"), str)):
        return f"{kind} without user.id"
    for name in ("channel", "view", "message", "container", "team"):
        if data.get(name) is not None and not isinstance(data[name], dict):
            return f"{kind}: {name} is not an object"
    if kind == "block_actions":
        actions = data.get("actions")
        if not isinstance(actions, list) or not actions:
            return "block_actions without actions"
        if not all(isinstance(a, dict) and isinstance(a.get("action_id"), str) for a in actions):
            return "block_actions: every action needs an action_id"
        # Our buttons carry MLS ids; a NUL can only be forged, and PostgreSQL refuses it in text.
        if any("\x00" in str(a.get(k, "")) for a in actions for k in ("action_id", "value")):
            return "block_actions: an action carries a NUL character"
    if kind in ("view_submission", "view_closed"):
        view = data.get("view")
        if not isinstance(view, dict):
            return f"{kind} without a view"
        for name in ("type", "callback_id"):
            if not isinstance(view.get(name), str):
                return f"{kind}: the view has no {name}"
        if not _state_values_ok(view.get("state")):
            return f"{kind}: view.state.values is not block id -> action id -> value"
    return None


def _state_values_ok(state: Any) -> bool:
    if state is None:
        return True
    values = state.get("values", {}) if isinstance(state, dict) else None
    return isinstance(values, dict) and all(
        isinstance(inputs, dict) and all(isinstance(entry, dict) for entry in inputs.values())
        for inputs in values.values()
    )
