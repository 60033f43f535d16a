"""`/ghl/webhooks` over real HTTP: signatures (Ed25519, legacy RSA), replay protection,
malformed bodies, unknown types, and the store being down. Payloads are GHL's own examples.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import requests
from sqlmodel import select

from bot.web.metrics import Metrics
from bot.web.webhook_verify import SignatureVerifier, load_ed25519_key, load_rsa_key
from bot.web.webhooks import make_webhook_app
from store.db import make_engine, session_scope
from store.models import WebhookEvent, WebhookSeen
from tests.fixtures.ops import signed_ed25519, signed_rsa, webhook_body, webhook_payload


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


def serve_endpoint(engine, ed25519_pair, serve_wsgi, metrics) -> str:
    verifier = SignatureVerifier(ed25519_key=load_ed25519_key(ed25519_pair.public_pem))
    return serve_wsgi(make_webhook_app(engine=engine, verifier=verifier, metrics=metrics))


@pytest.fixture
def endpoint(engine, ed25519_pair, serve_wsgi, metrics) -> str:
    """The webhook app on the `engine` store (SQLite and PostgreSQL), with the test key."""
    return serve_endpoint(engine, ed25519_pair, serve_wsgi, metrics)


@pytest.fixture
def lite(sqlite_engine, ed25519_pair, serve_wsgi, metrics) -> str:
    """The same on SQLite only, for checks that refuse a request before the store matters."""
    return serve_endpoint(sqlite_engine, ed25519_pair, serve_wsgi, metrics)


def post(url: str, body: bytes, headers: dict[str, str]) -> requests.Response:
    return requests.post(url, data=body, headers=headers, timeout=10)


def stored(engine) -> list[WebhookEvent]:
    with session_scope(engine, readonly=True) as session:
        return list(session.exec(select(WebhookEvent)).all())


def seen(engine) -> list[str]:
    with session_scope(engine, readonly=True) as session:
        return list(session.exec(select(WebhookSeen.webhook_id)).all())


def counted(metrics: Metrics, event_type: str, outcome: str) -> float:
    labels = {"type": event_type, "outcome": outcome}
    return metrics.registry.get_sample_value("dealfinder_webhook_events_total", labels) or 0


def test_a_valid_ed25519_webhook_is_stored_and_acknowledged(
    endpoint, engine, ed25519_pair, metrics
):
    payload = webhook_payload("InboundMessage", messageId="m-1")
    body = json.dumps(payload).encode()
    answer = post(endpoint, body, signed_ed25519(ed25519_pair, body))
    assert answer.status_code == 200 and answer.json() == {"status": "accepted"}
    (event,) = stored(engine)
    assert event.type == "InboundMessage" and event.webhook_id == payload["webhookId"]
    assert event.payload == payload and event.status == "received"
    assert counted(metrics, "InboundMessage", "accepted") == 1


def test_the_raw_base64_key_form_is_accepted_too(sqlite_engine, ed25519_pair, serve_wsgi):
    verifier = SignatureVerifier(ed25519_key=load_ed25519_key(ed25519_pair.public_raw_b64))
    url = serve_wsgi(make_webhook_app(engine=sqlite_engine, verifier=verifier))
    body = webhook_body("ContactTagUpdate")
    assert post(url, body, signed_ed25519(ed25519_pair, body)).status_code == 200


@pytest.mark.parametrize("tamper", ["other key", "body changed", "no signature", "garbage"])
def test_a_bad_signature_is_401_and_nothing_is_stored(lite, sqlite_engine, ed25519_pair, tamper):
    from tests.fixtures.ops import Ed25519Pair

    body = webhook_body("ContactDndUpdate")
    headers = signed_ed25519(ed25519_pair, body)
    if tamper == "other key":
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        headers = signed_ed25519(Ed25519Pair(Ed25519PrivateKey.generate()), body)
    elif tamper == "body changed":
        body = body.replace(b'"dnd": true', b'"dnd": false')
    elif tamper == "no signature":
        headers.pop("X-GHL-Signature")
    else:
        headers["X-GHL-Signature"] = "not*base64!"
    answer = post(lite, body, headers)
    assert answer.status_code == 401 and answer.json() == {"error": "invalid signature"}
    assert stored(sqlite_engine) == [] and seen(sqlite_engine) == []


@pytest.mark.parametrize(("legacy", "status"), [(True, 200), (False, 401)])
def test_legacy_rsa_is_accepted_only_when_enabled(
    sqlite_engine, ed25519_pair, rsa_pair, serve_wsgi, legacy, status
):
    verifier = SignatureVerifier(
        ed25519_key=load_ed25519_key(ed25519_pair.public_pem),
        rsa_key=load_rsa_key(rsa_pair.public_pem),
        legacy_rsa=legacy,
    )
    url = serve_wsgi(make_webhook_app(engine=sqlite_engine, verifier=verifier))
    body = webhook_body("OpportunityStageUpdate")
    assert post(url, body, signed_rsa(rsa_pair, body)).status_code == status
    assert len(stored(sqlite_engine)) == (1 if legacy else 0)


def test_an_rsa_signature_from_another_key_is_refused_even_when_enabled(
    sqlite_engine, rsa_pair, serve_wsgi
):
    verifier = SignatureVerifier.from_settings(public_key=None, legacy_rsa=True)  # GHL's key
    url = serve_wsgi(make_webhook_app(engine=sqlite_engine, verifier=verifier))
    body = webhook_body("TaskComplete")
    assert post(url, body, signed_rsa(rsa_pair, body)).status_code == 401


@pytest.mark.parametrize(
    ("offset", "status"),
    [
        (timedelta(hours=-2, minutes=-1), 400),
        (timedelta(minutes=6), 400),
        (timedelta(minutes=-4), 200),
        (timedelta(minutes=-95), 200),
    ],
    ids=["older than GHL's retry horizon", "future", "fresh", "GHL's last retry, 95 min old"],
)
def test_the_body_timestamp_must_be_inside_ghls_retry_horizon(
    lite, sqlite_engine, ed25519_pair, offset, status
):
    body = webhook_body("ContactUpdate", now=datetime.now(UTC) + offset)
    answer = post(lite, body, signed_ed25519(ed25519_pair, body))
    assert answer.status_code == status
    assert len(stored(sqlite_engine)) == (1 if status == 200 else 0)


def test_a_replayed_webhook_id_is_acknowledged_but_not_processed_twice(
    endpoint, engine, ed25519_pair, metrics
):
    body = webhook_body("OpportunityStatusUpdate")
    first = post(endpoint, body, signed_ed25519(ed25519_pair, body))
    again = post(endpoint, body, signed_ed25519(ed25519_pair, body))
    assert first.json() == {"status": "accepted"}
    assert again.status_code == 200 and again.json() == {"status": "duplicate"}
    assert len(stored(engine)) == 1
    assert counted(metrics, "OpportunityStatusUpdate", "duplicate") == 1


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b'["a", "list"]',
        b'{"webhookId": "x"}',
        b'{"type": ""}',
        b"\xff\xfe",
        b"[" * 100_000 + b"]" * 100_000,
    ],
    ids=["not json", "not an object", "no type", "empty type", "not utf-8", "nested too deep"],
)
def test_a_body_that_is_not_a_typed_json_object_is_400(lite, sqlite_engine, ed25519_pair, body):
    answer = post(lite, body, signed_ed25519(ed25519_pair, body))
    assert answer.status_code == 400
    assert stored(sqlite_engine) == []


def test_a_body_without_webhook_id_is_400(lite, sqlite_engine, ed25519_pair):
    payload = webhook_payload("ContactUpdate")
    del payload["webhookId"]
    body = json.dumps(payload).encode()
    assert post(lite, body, signed_ed25519(ed25519_pair, body)).status_code == 400


def test_an_overlong_webhook_id_is_400_not_a_429_ghl_would_repeat(endpoint, engine, ed25519_pair):
    body = json.dumps(webhook_payload("ContactUpdate", webhookId="w" * 129)).encode()
    answer = post(endpoint, body, signed_ed25519(ed25519_pair, body))
    assert answer.status_code == 400 and "longer than 128" in answer.json()["error"]
    long_message = webhook_payload("InboundMessage", messageId="m" * 300)  # keyed by its hash
    body = json.dumps(long_message).encode()
    assert post(endpoint, body, signed_ed25519(ed25519_pair, body)).status_code == 200
    assert len(stored(engine)) == 1


def test_an_unknown_type_is_acknowledged_and_counted_not_stored(
    lite, sqlite_engine, ed25519_pair, metrics
):
    for doc, event_type in (("ContactCreate", "ContactCreate"), ("ContactUpdate", "SomethingNew")):
        body = webhook_body(doc, type=event_type)
        answer = post(lite, body, signed_ed25519(ed25519_pair, body))
        assert answer.status_code == 200 and answer.json() == {"status": "ignored"}
    assert stored(sqlite_engine) == []
    assert counted(metrics, "ContactCreate", "ignored") == 1
    assert counted(metrics, "other", "ignored") == 1  # a type GHL does not document


def test_when_the_store_is_down_the_answer_is_429_so_ghl_retries(ed25519_pair, serve_wsgi, metrics):
    gone = make_engine("postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=2")
    verifier = SignatureVerifier(ed25519_key=load_ed25519_key(ed25519_pair.public_pem))
    url = serve_wsgi(make_webhook_app(engine=gone, verifier=verifier, metrics=metrics))
    body = webhook_body("InboundMessage")
    answer = post(url, body, signed_ed25519(ed25519_pair, body))
    assert answer.status_code == 429 and answer.headers["Retry-After"] == "60"
    assert counted(metrics, "InboundMessage", "store_unavailable") == 1


def test_only_post_is_served(lite):
    answer = requests.get(lite, timeout=10)
    assert answer.status_code == 405 and answer.headers["Allow"] == "POST"


def test_without_a_configured_key_only_ghls_published_key_is_trusted(
    sqlite_engine, ed25519_pair, serve_wsgi
):
    verifier = SignatureVerifier.from_settings(public_key=None, legacy_rsa=False)
    assert verifier.configured
    url = serve_wsgi(make_webhook_app(engine=sqlite_engine, verifier=verifier))
    body = webhook_body("InboundMessage")
    assert post(url, body, signed_ed25519(ed25519_pair, body)).status_code == 401
