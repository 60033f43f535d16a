"""Bad webhook deliveries to `/ghl/webhooks` over real HTTP: not JSON, no type, not text, too big,
too deep, wrongly signed. Each gets a specific 4xx with a JSON error and nothing is stored;
a valid delivery next to them is stored (nothing lost); nothing answers 500.
"""

from __future__ import annotations

import base64
import json

import pytest
import requests
from sqlmodel import select

from bot.web.webhook_verify import SignatureVerifier, load_ed25519_key
from bot.web.webhooks import MAX_BODY_BYTES, make_webhook_app
from store.db import session_scope
from store.models import WebhookEvent
from tests.fixtures.ops import signed_ed25519, webhook_payload

UNSIGNED = {"Content-Type": "application/json"}


@pytest.fixture
def endpoint(sqlite_engine, ed25519_pair, serve_wsgi) -> str:
    verifier = SignatureVerifier(ed25519_key=load_ed25519_key(ed25519_pair.public_pem))
    return serve_wsgi(make_webhook_app(engine=sqlite_engine, verifier=verifier))


def stored(engine) -> list[WebhookEvent]:
    with session_scope(engine, readonly=True) as session:
        return list(session.exec(select(WebhookEvent)).all())


def deep(levels: int) -> bytes:
    return ("[" * levels + "]" * levels).encode()


SIGNED_BAD_BODIES = {
    "empty": (b"", 400),
    "not JSON": (b"hello, webhook", 400),
    "not text": (b"\xff\xfe\x00\x9c" + bytes(range(256)), 400),
    "a JSON list": (b'[{"type": "InboundMessage"}]', 400),
    "JSON without a type": (json.dumps({"locationId": "loc_demo"}).encode(), 400),
    "a type that is not text": (json.dumps({"type": 5, "webhookId": "wh-1"}).encode(), 400),
    "an empty type": (json.dumps({"type": "", "webhookId": "wh-1"}).encode(), 400),
    "no timestamp": (json.dumps({"type": "InboundMessage", "webhookId": "wh-2"}).encode(), 400),
    "nested 100,000 deep": (deep(100_000), 400),
}


@pytest.mark.parametrize("name", list(SIGNED_BAD_BODIES))
def test_a_signed_body_that_is_not_a_ghl_event_is_refused_with_a_reason(
    endpoint, sqlite_engine, ed25519_pair, name
):
    body, status = SIGNED_BAD_BODIES[name]
    answer = requests.post(endpoint, data=body, headers=signed_ed25519(ed25519_pair, body),
                           timeout=10)  # fmt: skip
    assert answer.status_code == status, (answer.status_code, answer.text[:300])
    assert answer.json()["error"] and "Traceback" not in answer.text
    assert stored(sqlite_engine) == []


@pytest.mark.parametrize(
    "headers",
    [
        UNSIGNED,
        UNSIGNED | {"X-GHL-Signature": "not base64 at all!"},
        UNSIGNED | {"X-GHL-Signature": base64.b64encode(b"\x00" * 64).decode()},
        UNSIGNED | {"X-GHL-Signature": "A" * 8_000},
    ],
    ids=["no signature", "garbage", "wrong signature", "8 kB signature"],
)
def test_a_wrongly_signed_event_is_401_and_not_stored(endpoint, sqlite_engine, headers):
    body = json.dumps(webhook_payload("InboundMessage")).encode()
    answer = requests.post(endpoint, data=body, headers=headers, timeout=10)
    assert answer.status_code == 401, answer.text[:300]
    assert answer.json() == {"error": "invalid signature"}
    assert stored(sqlite_engine) == []


def test_a_body_over_the_limit_is_413_before_anything_is_read(endpoint, sqlite_engine):
    body = b'{"type": "InboundMessage", "body": "' + b"x" * MAX_BODY_BYTES + b'"}'
    answer = requests.post(endpoint, data=body, headers=UNSIGNED, timeout=30)
    assert answer.status_code == 413 and answer.json()["error"]
    assert stored(sqlite_engine) == []


def test_a_large_but_allowed_event_with_unicode_is_stored_whole(
    endpoint, sqlite_engine, ed25519_pair
):
    text = "🏠 <!channel> עברית \u202e " + "long message " * 60_000  # ~800 kB
    payload = webhook_payload("InboundMessage", body=text)
    body = json.dumps(payload, ensure_ascii=False).encode()
    assert len(body) < MAX_BODY_BYTES
    answer = requests.post(endpoint, data=body, headers=signed_ed25519(ed25519_pair, body),
                           timeout=30)  # fmt: skip
    assert answer.status_code == 200 and answer.json() == {"status": "accepted"}
    (event,) = stored(sqlite_engine)
    assert event.payload["body"] == text
