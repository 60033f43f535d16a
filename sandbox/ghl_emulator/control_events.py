"""`/_emulator/webhooks` and `/_emulator/simulate/*`: webhooks out, and GHL-side happenings.

    POST /_emulator/webhooks            {"url": "http://127.0.0.1:3000/ghl/webhooks"}  (null: off)
    GET  /_emulator/webhooks            the URL, the attempts made, the deliveries pending
    POST /_emulator/webhooks/deliver    make the attempts due now (the emulator's clock)
    POST /_emulator/simulate/inbound-sms        {"contactId": "...", "body": "STOP"}
    POST /_emulator/simulate/contact            {"contactId": "...", "smsDnd": true,
                                                 "addTags": [...], "removeTags": [...]}
    POST /_emulator/simulate/opportunity        {"id": "...", "stageId": "...", "status": "won"}
    POST /_emulator/simulate/task-complete      {"taskId": "..."}

Each simulate call changes the records as GHL would and queues the webhooks GHL would send;
add `"deliver": true` to make the due attempts at once.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from sandbox.ghl_emulator import events

if TYPE_CHECKING:
    from sandbox.ghl_emulator.server import Emulator


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data), status=status, content_type="application/json")


def route(emulator: Emulator, request: Request, body: dict[str, Any]) -> Response | None:
    """Answer one of the paths above, or None when the path is not one of them."""
    action = (request.method, request.path.rstrip("/"))
    sender = emulator.webhooks
    if action == ("GET", "/_emulator/webhooks"):
        return _json(
            {
                "url": sender.url,
                "attempts": [asdict(a) for a in sender.attempts],
                "pending": [d.webhook_id for d in sender.pending()],
            }
        )
    if action == ("POST", "/_emulator/webhooks"):
        url = body.get("url")
        if url is not None and not isinstance(url, str):
            raise ValueError("url must be a string or null")
        sender.url = url or None
        return _json({"url": sender.url})
    if action == ("POST", "/_emulator/webhooks/deliver"):
        return _json({"attempts": [asdict(a) for a in sender.deliver_due()]})
    if not (request.method == "POST" and request.path.startswith("/_emulator/simulate/")):
        return None
    now_ms = int(emulator.config.clock() * 1000)
    what = request.path.rstrip("/").rsplit("/", 1)[-1]
    if what == "inbound-sms":
        message = events.simulate_inbound_sms(
            emulator.events,
            contact_id=_text(body, "contactId"),
            body=_text(body, "body"),
            now_ms=now_ms,
            stop_sets_dnd=emulator.config.stop_sets_dnd,
        )
        result: dict[str, Any] = {
            "messageId": message.id,
            "conversationId": message.conversation_id,
        }
    elif what == "contact":
        contact = events.simulate_contact_change(
            emulator.events,
            contact_id=_text(body, "contactId"),
            now_ms=now_ms,
            sms_dnd=body.get("smsDnd"),
            add_tags=body.get("addTags"),
            remove_tags=body.get("removeTags"),
        )
        result = {"id": contact.id, "tags": contact.tags}
    elif what == "opportunity":
        opp = events.simulate_opportunity_change(
            emulator.events,
            opportunity_id=_text(body, "id"),
            now_ms=now_ms,
            stage_id=body.get("stageId"),
            status=body.get("status"),
        )
        result = {"id": opp.id, "stageId": opp.stage_id, "status": opp.status}
    elif what == "task-complete":
        task = events.simulate_task_complete(
            emulator.events, task_id=_text(body, "taskId"), now_ms=now_ms
        )
        result = {"id": task.id, "completed": task.completed}
    else:
        return _json({"error": f"no simulation {what}"}, 404)
    if body.get("deliver"):
        result["attempts"] = [asdict(a) for a in sender.deliver_due()]
    return _json(result)


def _text(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} is required (a non-empty string)")
    return value
