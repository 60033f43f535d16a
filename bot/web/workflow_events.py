"""`/ghl/workflow-events/<secret>`: GHL events for token-only installs, from workflows.

A Private Integration Token gets no event webhooks (Marketplace apps only; ghl-api README,
"Who gets webhooks"), but a GHL workflow can POST to any URL from its "Webhook" or "Custom
Webhook" action on a trigger. The README's recipe sets one workflow per trigger with these
fields (in the Webhook action's Custom Data, or the Custom Webhook's JSON body):

| event (fixed text)        | trigger                    | further fields                       |
|---------------------------|----------------------------|--------------------------------------|
| InboundMessage            | Customer Replied (SMS)     | contactId, body; messageId if offered |
| ContactDndUpdate          | Contact DND changed        | contactId                            |
| ContactTagUpdate          | Contact Tag (added/removed)| contactId                            |
| TaskComplete              | Task Completed             | contactId, taskTitle (taskId)        |
| OpportunityStageUpdate    | Pipeline Stage Changed     | opportunityId                        |
| OpportunityStatusUpdate   | Opportunity Status Changed | opportunityId                        |

plus `locationId` ({{location.id}}) everywhere. GHL's own Webhook-action fields are read as a
fallback (`contact_id`, `location.id`, `message.body`). Each becomes the same event the signed
webhooks store (`store.webhooks.accept_event`), handled by the same `bot.web.webhook_handlers`.
DND and tag events carry no state: the handlers read the contact from GHL, the truth.

Answers: 404 for a wrong or missing secret (the path says nothing about whether it exists),
405 for a method other than POST, 400 with the reason for a body that is not one of the above,
429 when the store could not keep the event, 200 otherwise ("accepted" or "duplicate").
The secret is compared in constant time and never logged (the path is not logged either).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.web.metrics import Metrics
from bot.web.webhooks import STORE_RETRY_AFTER, _read_body
from ghl.redact import register_secret
from store.db import session_scope
from store.types import utcnow
from store.webhooks import accept_event, message_key, note_delivery

log = logging.getLogger("dealfinder.workflow_events")

PATH_PREFIX = "/ghl/workflow-events/"
# Fields each event needs, beyond `event` (and `locationId`, checked when given).
REQUIRED: dict[str, tuple[str, ...]] = {
    "InboundMessage": ("contactId", "body"),
    "ContactDndUpdate": ("contactId",),
    "ContactTagUpdate": ("contactId",),
    "TaskComplete": ("contactId", "taskTitle"),
    "OpportunityStageUpdate": ("opportunityId",),
    "OpportunityStatusUpdate": ("opportunityId",),
}
DEDUPE_BUCKET_S = 300  # a workflow re-sending the same event within 5 minutes is one event
Answer = tuple[str, dict[str, Any]]


def _object(value: object) -> dict[str, Any]:
    """`value` when it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def _field(body: dict[str, Any], name: str) -> str | None:
    """`name` from the body's top level, its Custom Data, or GHL's own Webhook-action field."""
    custom, location, message = (
        _object(body.get(key)) for key in ("customData", "location", "message")
    )
    fallbacks: dict[str, Any] = {
        "contactId": body.get("contact_id"),
        "locationId": location.get("id"),
        "body": message.get("body"),
        # GHL's Webhook action puts an opportunity trigger's record at the root: its `id`
        # beside `pipeline_id` (help centre, "Webhook Action Data Format Guide").
        "opportunityId": body.get("id") if body.get("pipeline_id") else None,
    }
    for value in (body.get(name), custom.get(name), fallbacks.get(name)):
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def to_event(body: object, *, location_id: str, now: datetime) -> tuple[str, dict] | str:
    """The (type, payload) a workflow's body stands for, as GHL's webhooks carry it, or why
    it cannot be one (a sentence for the 400 answer)."""
    if not isinstance(body, dict):
        return "expected a JSON object"
    event = _field(body, "event")
    if event not in REQUIRED:
        return f"event must be one of {', '.join(REQUIRED)} (got {event!r})"
    missing = [name for name in REQUIRED[event] if _field(body, name) is None]
    if missing:
        return f"{event} needs {', '.join(missing)} (see the README's workflow recipe)"
    location = _field(body, "locationId")
    if location is not None and location != location_id:
        return "locationId is not the location this DealFinder serves"
    contact = _field(body, "contactId")
    base: dict[str, Any] = {"type": event, "locationId": location_id, "source": "workflow"}
    if event == "InboundMessage":
        payload = base | {
            "contactId": contact,
            "body": _field(body, "body"),
            "direction": "inbound",
            "messageType": "SMS",
            "contentType": "text/plain",
            "dateAdded": now.isoformat(),
        }
        if _field(body, "messageId"):
            payload["messageId"] = _field(body, "messageId")
        return event, payload
    if event in ("ContactDndUpdate", "ContactTagUpdate"):
        return event, base | {"id": contact}
    if event == "TaskComplete":
        return event, base | {
            "contactId": contact,
            "title": _field(body, "taskTitle"),
            "id": _field(body, "taskId"),
        }
    return event, base | {"id": _field(body, "opportunityId")}


def derived_id(event_type: str, payload: dict[str, Any], *, now: datetime) -> str:
    """The event's own id, for workflows that send none: what it says, and the 5-minute span
    it arrived in (a workflow's re-send of one event collapses; a new reply later does not)."""
    said = {k: v for k, v in payload.items() if k != "dateAdded"}
    bucket = int(now.timestamp()) // DEDUPE_BUCKET_S
    raw = json.dumps([event_type, said, bucket], sort_keys=True).encode()
    return "wf:" + hashlib.sha256(raw).hexdigest()


class WorkflowEventsApp:
    """The WSGI app mounted at `/ghl/workflow-events/*`."""

    def __init__(
        self,
        *,
        engine: Engine,
        secret: str | None,
        location_id: str,
        metrics: Metrics | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self._secret = secret.encode() if secret else None
        register_secret(secret)  # masked in every log line, should a path ever be logged
        self.location_id = location_id
        self.metrics = metrics
        self.clock = clock

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        status, body = self.handle(environ)
        data = json.dumps(body).encode()
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
        if status.startswith("429"):
            headers.append(("Retry-After", str(STORE_RETRY_AFTER)))
        if status.startswith("405"):
            headers.append(("Allow", "POST"))
        start_response(status, headers)
        return [data]

    def _secret_ok(self, path: str) -> bool:
        given = path[len(PATH_PREFIX) :] if path.startswith(PATH_PREFIX) else ""
        if self._secret is None or not given or "/" in given:
            return False
        return hmac.compare_digest(given.encode(), self._secret)

    def handle(self, environ: dict[str, Any]) -> Answer:
        if not self._secret_ok(environ.get("PATH_INFO") or ""):
            return "404 Not Found", {"error": "not_found"}  # as for any unknown path
        if environ.get("REQUEST_METHOD", "GET").upper() != "POST":
            return "405 Method Not Allowed", {"error": "POST only"}
        raw = _read_body(environ)
        if raw is None:
            return "413 Payload Too Large", {"error": "body too large"}
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError):
            body = None
            problem: str | None = "the body is not JSON"
        now = self.clock()
        mapped = to_event(body, location_id=self.location_id, now=now) if body is not None else None
        if mapped is None or isinstance(mapped, str):
            problem = mapped if isinstance(mapped, str) else "the body is not JSON"
            log.warning("workflow event refused: %s", problem)
            self._count("unknown", "malformed")
            return "400 Bad Request", {"error": problem}
        event_type, payload = mapped
        return self._store(event_type, payload, now=now)

    def _store(self, event_type: str, payload: dict[str, Any], *, now: datetime) -> Answer:
        keys = [derived_id(event_type, payload, now=now)]
        if payload.get("messageId"):
            keys.append(message_key(payload["messageId"]))
        try:
            with session_scope(self.engine) as session:
                outcome, _event = accept_event(
                    session=session,
                    event_type=event_type,
                    payload=payload,
                    dedupe_keys=keys,
                    now=now,
                )
                note_delivery(session=session, path="workflow", now=now)
        except SQLAlchemyError as exc:
            # Not kept: 429 asks the sender to try again (GHL retries its webhooks on 429 only).
            log.error("workflow event %s not stored (%s)", event_type, type(exc).__name__)
            self._count(event_type, "store_unavailable")
            return "429 Too Many Requests", {"error": "store unavailable, retry later"}
        self._count(event_type, outcome)
        log.info("workflow event %s: %s", event_type, outcome)
        return "200 OK", {"status": outcome}

    def _count(self, event_type: str, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.count_webhook(event_type, outcome)
