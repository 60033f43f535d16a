"""Operations log through `bot.logs` (one JSON object per line when asked) and never print a
webhook's secrets or personal data, even at DEBUG."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
import requests

from bot.logs import configure_logging
from bot.web.webhook_handlers import WebhookHandlers
from bot.web.webhook_verify import SignatureVerifier, load_ed25519_key
from bot.web.webhooks import make_webhook_app, process_webhook_events
from services.optout.replies import handle_inbound_message
from tests.fixtures.ops import signed_ed25519, webhook_body

GHL_TOKEN = "pit-0123abcd-4567-89ef-0123-456789abcdef"
SLACK_TOKEN = "xoxb-2222222222-3333333333-abcdefabcdefabcdef"
PHONE = "+12125550199"


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Put the root logger's handlers back after a test that calls `configure_logging`."""
    root, ours = logging.getLogger(), logging.getLogger("dealfinder")
    handlers, level, our_level = root.handlers[:], root.level, ours.level
    # slack_bolt's App(name="dealfinder") sets this logger to the root's level of the moment
    # (WARNING under pytest) when a bot test builds one; levels come from the root here.
    ours.setLevel(logging.NOTSET)
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    ours.setLevel(our_level)


def test_a_webhook_carrying_tokens_never_prints_them(
    notify_world, ed25519_pair, serve_wsgi, restore_logging, capsys
):
    # Here, not in a fixture: pytest swaps in the test's stderr capture only for the call.
    configure_logging(level="DEBUG", json_lines=True)
    world = notify_world
    buyer = world.add_buyer(first_name="Dana")
    verifier = SignatureVerifier(ed25519_key=load_ed25519_key(ed25519_pair.public_pem))
    app = make_webhook_app(engine=world.engine, verifier=verifier, clock=lambda: world.clock.now)
    url = serve_wsgi(app)
    secret_text = f"my key is {GHL_TOKEN} and slack {SLACK_TOKEN}, call {PHONE}"
    body = webhook_body(
        "InboundMessage",
        now=world.clock.now,
        locationId="loc_demo",
        contactId=buyer,
        body=secret_text,
    )
    headers = signed_ed25519(ed25519_pair, body)
    assert requests.post(url, data=body, headers=headers, timeout=10).status_code == 200
    forged = body.replace(b"my key", b"our key")
    assert requests.post(url, data=forged, headers=headers, timeout=10).status_code == 401

    def inbound(payload, now):
        return handle_inbound_message(
            engine=world.engine,
            client=world.client,
            payload=payload,
            rules=world.rules,
            config=world.config,
            now=now,
        )

    handlers = WebhookHandlers(
        engine=world.engine, client=world.client, config=world.config, inbound=inbound
    )
    report = process_webhook_events(engine=world.engine, handlers=handlers, now=world.clock.now)
    assert report.processed == 1

    printed = capsys.readouterr().err
    lines = [json.loads(line) for line in printed.splitlines() if line.strip()]
    assert any(line["logger"] == "dealfinder.webhooks" for line in lines)
    assert any("stored as event" in line["message"] for line in lines)
    assert any("webhook refused" in line["message"] for line in lines)
    for leak in (GHL_TOKEN, SLACK_TOKEN, "pit-0123", "xoxb-2222", PHONE, "my key is"):
        assert leak not in printed
