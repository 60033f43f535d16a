"""`/ghl/webhooks`: verify, store, answer at once; the work happens later, from the store.

One request:
1. the signature over the raw body (`bot.web.webhook_verify`) -> 401 without reading further, and
   only then: 401 means "not from GHL";
2. the body: JSON object with a ``type`` -> else 400; ``webhookId`` present -> else 400;
   ``timestamp`` inside GHL's retry horizon (2 hours old, 5 minutes ahead) -> else 400: a
   validly signed body is GHL's, so an old one is refused as a replay, not as a forgery;
3. a ``webhookId`` seen before (kept a day), or an InboundMessage whose ``messageId`` another
   path (workflow webhook, polling) already brought -> 200, acknowledged, not stored again;
4. an event type nothing here handles -> 200, counted, not stored;
5. stored (`store.webhooks.accept_event`) -> 200. `process_webhook_events` (a job every few
   seconds) hands it to `bot.web.webhook_handlers`, retrying failures from the store.

Why these answers: GHL retries a delivery only when answered 429, up to 6 times about 10
minutes apart, and treats every other status, 5xx included, as final (ghl-api README, "Webhook
retries"). So 429 is the answer when the store could not keep the event, and only then: any
other answer to a valid event would lose it (a STOP among them). The retry carries the same
signed body and timestamp, up to ~70 minutes old, which is why the timestamp window is GHL's
retry horizon and not the 5 minutes WebhookAuthentication.md suggests.
Bodies carry names, phones and messages: they are never logged; ids and types are.

    app = make_webhook_app(engine=engine, verifier=SignatureVerifier.from_settings(...),
                           metrics=metrics)
    routes = {"/ghl/webhooks": app}
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.web.metrics import Metrics
from bot.web.webhook_handlers import HANDLED_TYPES, WebhookHandlers, type_label
from bot.web.webhook_verify import RETRY_HORIZON, SignatureVerifier, freshness_problem
from services.notify.common import describe_error
from store.db import session_scope
from store.models import WebhookEvent
from store.types import utcnow
from store.webhooks import (
    KEY_MAX,
    accept_event,
    claim_webhook_events,
    mark_webhook_failed,
    mark_webhook_processed,
    message_key,
    note_delivery,
)

log = logging.getLogger("dealfinder.webhooks")

MAX_BODY_BYTES = 1_000_000  # GHL's payloads are a few kB; anything near this is not GHL
STORE_RETRY_AFTER = 60  # seconds; GHL retries a 429 about every 10 minutes anyway


class WebhookApp:
    """The WSGI app behind `/ghl/webhooks` (any mount path: PATH_INFO is not read)."""

    def __init__(
        self,
        *,
        engine: Engine,
        verifier: SignatureVerifier,
        metrics: Metrics | None = None,
        clock: Callable[[], datetime] = utcnow,
        tolerance: timedelta = RETRY_HORIZON,
        handled_types: frozenset[str] = HANDLED_TYPES,
    ) -> None:
        self.engine = engine
        self.verifier = verifier
        self.metrics = metrics
        self.clock = clock
        self.tolerance = tolerance
        self.handled_types = handled_types
        if not verifier.configured:
            log.error(
                "GHL webhooks will all be refused: no key (GHL's published Ed25519 key is "
                "the default; GHL_WEBHOOK_PUBLIC_KEY overrides it)"
            )

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        status, body, extra = self.handle(environ)
        payload = json.dumps(body).encode()
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
        start_response(status, headers + extra)
        return [payload]

    def handle(self, environ: dict[str, Any]) -> tuple[str, dict[str, Any], list]:
        if environ.get("REQUEST_METHOD", "GET").upper() != "POST":
            return "405 Method Not Allowed", {"error": "POST only"}, [("Allow", "POST")]
        raw = _read_body(environ)
        if raw is None:
            return "413 Payload Too Large", {"error": "body too large"}, []
        verdict = self.verifier.verify(raw, _headers(environ))
        if not verdict.ok:
            log.warning("webhook refused: %s", verdict.reason)
            self._count("unverified", "bad_signature")
            return "401 Unauthorized", {"error": "invalid signature"}, []
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError):  # RecursionError: nesting deeper than Python's stack
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("type"), str) or not body["type"]:
            self._count("unknown", "malformed")
            return "400 Bad Request", {"error": "expected a JSON object with a type"}, []
        event_type = body["type"]
        label = type_label(event_type)
        now = self.clock()
        webhook_id = body.get("webhookId")
        if not isinstance(webhook_id, str) or not webhook_id.strip():
            self._count(label, "malformed")
            return "400 Bad Request", {"error": "no webhookId"}, []
        if len(webhook_id) > KEY_MAX:  # not GHL's (a UUID); and a 429 here would repeat it
            self._count(label, "malformed")
            return "400 Bad Request", {"error": f"webhookId longer than {KEY_MAX}"}, []
        stale = freshness_problem(body.get("timestamp"), now=now, tolerance=self.tolerance)
        if stale is not None:
            # Signed by GHL, so not a forgery (401); older than any retry of GHL's: a replay.
            log.warning("webhook %s %s refused: %s", label, webhook_id, stale)
            self._count(label, "stale")
            return "400 Bad Request", {"error": f"timestamp refused ({stale})"}, []
        return self._store(body, event_type=event_type, webhook_id=webhook_id, now=now)

    def _store(
        self, body: dict[str, Any], *, event_type: str, webhook_id: str, now: datetime
    ) -> tuple[str, dict[str, Any], list]:
        label = type_label(event_type)
        keys = [webhook_id]
        message_id = body.get("messageId")
        if event_type == "InboundMessage" and isinstance(message_id, str) and message_id:
            keys.append(message_key(message_id))  # the same text by another path: once
        try:
            with session_scope(self.engine) as session:
                outcome, event = accept_event(
                    session=session,
                    event_type=event_type,
                    payload=body,
                    dedupe_keys=keys,
                    now=now,
                    handled=event_type in self.handled_types,
                )
                note_delivery(session=session, path="webhook", now=now)
        except SQLAlchemyError as exc:
            # The one case GHL must deliver again: we could not keep the event. 429 is the only
            # status GHL retries (every 10 minutes, 6 times); the retry is accepted, being
            # inside the timestamp horizon, and its id was not kept (the transaction failed).
            log.error(
                "webhook %s %s not stored (%s); answering 429 so GHL retries",
                label,
                webhook_id,
                type(exc).__name__,
            )
            self._count(label, "store_unavailable")
            retry = [("Retry-After", str(STORE_RETRY_AFTER))]
            return "429 Too Many Requests", {"error": "store unavailable, retry later"}, retry
        if outcome == "duplicate":
            log.info("webhook %s %s is a replay; acknowledged, not processed", label, webhook_id)
            self._count(label, "duplicate")
            return "200 OK", {"status": "duplicate"}, []
        if outcome == "ignored":
            log.info("webhook %s %s: no handler for this type; acknowledged", label, webhook_id)
            self._count(label, "ignored")
            return "200 OK", {"status": "ignored"}, []
        assert event is not None
        log.info("webhook %s %s stored as event %s", label, webhook_id, event.id)
        self._count(label, "accepted")
        return "200 OK", {"status": "accepted"}, []

    def _count(self, event_type: str, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.count_webhook(event_type, outcome)


def make_webhook_app(
    *,
    engine: Engine,
    verifier: SignatureVerifier,
    metrics: Metrics | None = None,
    clock: Callable[[], datetime] = utcnow,
    tolerance: timedelta = RETRY_HORIZON,
) -> WebhookApp:
    """The WSGI app to mount at `/ghl/webhooks`."""
    return WebhookApp(
        engine=engine, verifier=verifier, metrics=metrics, clock=clock, tolerance=tolerance
    )


def _read_body(environ: dict[str, Any]) -> bytes | None:
    """The raw body, exactly as sent (the signature covers these bytes); None if too large."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY_BYTES:
        return None
    stream = environ["wsgi.input"]
    if length > 0:
        return stream.read(length)
    # No Content-Length: only a server that ends the stream itself (chunked) may be read to EOF.
    if not environ.get("wsgi.input_terminated"):
        return b""
    data = stream.read(MAX_BODY_BYTES + 1)
    return None if len(data) > MAX_BODY_BYTES else data


def _headers(environ: dict[str, Any]) -> dict[str, str]:
    """Request headers by lower-case name ("x-ghl-signature"), from the WSGI environ."""
    return {
        key[5:].replace("_", "-").lower(): value
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }


@dataclass
class ProcessReport:
    """One pass of the webhook job."""

    processed: int = 0
    retrying: int = 0
    failed: int = 0


def process_webhook_events(
    *,
    engine: Engine,
    handlers: WebhookHandlers,
    now: datetime,
    limit: int = 50,
    lease_seconds: float = 120.0,
    max_attempts: int = 30,
    metrics: Metrics | None = None,
) -> ProcessReport:
    """Claim stored events and handle each; a failure is retried from the store.

    A failed event keeps its lease, so it is claimed again when the lease ends (about every
    `lease_seconds`, which spaces retries out while GHL or Slack is down) and given up, with
    the error recorded, after `max_attempts` attempts: about an hour with the defaults, as
    long as GHL itself keeps retrying a delivery.
    """
    report = ProcessReport()
    with session_scope(engine) as session:
        events = claim_webhook_events(
            session=session, now=now, lease_seconds=lease_seconds, limit=limit
        )
    for event in events:
        outcome = _process_one(
            event, engine=engine, handlers=handlers, now=now, max_attempts=max_attempts
        )
        setattr(report, outcome, getattr(report, outcome) + 1)
        if metrics is not None:
            metrics.count_webhook(type_label(event.type), outcome)
    return report


def _process_one(
    event: WebhookEvent,
    *,
    engine: Engine,
    handlers: WebhookHandlers,
    now: datetime,
    max_attempts: int,
) -> str:
    """Handle one claimed event: "processed", "retrying" (lease kept) or "failed" (for good)."""
    assert event.id is not None
    label = type_label(event.type)
    try:
        detail = handlers.handle(event.type, event.payload, now)
    except Exception as exc:
        # A description only (GHL errors are redacted, others named): never the payload.
        error = describe_error(exc)
        if event.attempts < max_attempts:
            log.warning(
                "webhook event %s (%s) failed (attempt %d), retried later: %s",
                event.id,
                label,
                event.attempts,
                error,
            )
            log.debug("webhook event %s traceback", event.id, exc_info=True)
            return "retrying"
        with session_scope(engine) as session:
            mark_webhook_failed(session=session, event_id=event.id, error=error, retry=False)
        log.error(
            "webhook event %s (%s) failed for good after %d attempts: %s",
            event.id,
            label,
            event.attempts,
            error,
        )
        return "failed"
    with session_scope(engine) as session:
        mark_webhook_processed(session=session, event_id=event.id, now=now)
    log.info("webhook event %s (%s): %s", event.id, label, detail)
    return "processed"
