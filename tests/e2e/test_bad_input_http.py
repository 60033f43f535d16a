"""Hostile HTTP to `/slack/events` (and header garbage to `/ghl/webhooks`), over real HTTP.

Header values are checked as text before anything converts them: a 5,000-digit, negative,
non-numeric or non-ASCII-digit `X-Slack-Request-Timestamp` is a 401 with the reason, even when
the body is correctly signed with that very value. Signed bodies that are not requests Slack
sends get a 400 with the reason. A NUL typed into a command is answered with the usage before
any query (PostgreSQL refuses NUL in text). Nothing answers 500, nothing says "Traceback", and
after each request GHL (the emulator's control API), the store and Slack are as before.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from slack_bolt.request import BoltRequest
from slack_sdk.signature import SignatureVerifier as SlackSignatures
from sqlalchemy import Engine

from bot.slack import blocks
from bot.web.webhook_verify import SignatureVerifier, load_ed25519_key
from bot.web.webhooks import make_webhook_app
from sandbox.ghl_emulator import Emulator
from sandbox.slack_fake import SlackFake
from sandbox.slack_fake.payloads import block_actions_payload, button_action, form_body
from tests.fixtures.bot import SIGNING_SECRET, BotWorld, build_bot_world
from tests.fixtures.ops import webhook_payload
from tests.fixtures.world_state import said_to, world_state

pytestmark = pytest.mark.slow  # the whole HTTP bad-input sweep

FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def world(slack_fake: SlackFake, seeded_emulator: Emulator, engine: Engine) -> Iterator[BotWorld]:
    """The bot over HTTP on the store under test (SQLite and PostgreSQL)."""
    built = build_bot_world(slack=slack_fake, emulator=seeded_emulator, engine=engine)
    yield built
    built.http.stop()
    built.finish()
    built.ghl.close()


def post(
    world: BotWorld,
    body: bytes,
    *,
    content_type: str = FORM,
    timestamp: str | bytes | None = None,
    signature: str | bytes | None = None,
) -> requests.Response:
    """POST `body` to /slack/events, signed with the app's secret over `timestamp` as sent."""
    stamp = str(int(time.time())) if timestamp is None else timestamp
    text = stamp.decode("latin-1") if isinstance(stamp, bytes) else stamp
    if signature is None:
        base = b"v0:" + text.encode("latin-1", "replace") + b":" + body
        signature = "v0=" + hmac.new(SIGNING_SECRET.encode(), base, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature,
    }
    return requests.post(world.driver.bot_url, data=body, headers=headers, timeout=10)


def refused(answer: requests.Response, status: int, reason: str) -> None:
    assert answer.status_code == status, (answer.status_code, answer.text[:300])
    assert reason in answer.json()["error"], answer.text[:300]
    assert "Traceback" not in answer.text


def command_body(text: str, *, user_id: str = "U0BROKER1") -> bytes:
    return form_body(
        {
            "command": "/deal", "text": text, "user_id": user_id, "user_name": "dana.broker",
            "team_id": "T0DEAL", "channel_id": "C0DEALS", "channel_name": "deals",
            "api_app_id": "A0DEALAPP", "response_url": "", "trigger_id": "1.2.3",
        }
    )  # fmt: skip


# -- headers: checked as text before any conversion -----------------------------------------

NOW = str(int(time.time()))
TIMESTAMPS = {
    "5,000 digits": ("9" * 5000, "not a Unix time"),
    "non-numeric": ("yesterday", "not a Unix time"),
    "negative": ("-" + NOW, "not a Unix time"),
    "a float": (NOW + ".5", "not a Unix time"),
    "superscript digits": ("17000000²", "not a Unix time"),  # "²".isdigit() is True
    "Arabic-Indic digits": ("١٧٠٠٠٠٠٠٠٠".encode(), "not a Unix time"),  # raw UTF-8 bytes
    "empty": ("", "missing"),
    "stale": (str(int(NOW) - 600), "more than 5 minutes"),
    "from the future": (str(int(NOW) + 600), "more than 5 minutes"),
}


@pytest.mark.parametrize("name", list(TIMESTAMPS))
def test_a_bad_timestamp_is_401_with_the_reason_even_when_signed_with_it(
    bot_world: BotWorld, name: str
) -> None:
    value, reason = TIMESTAMPS[name]
    before = world_state(bot_world)
    answer = post(bot_world, command_body("hot"), timestamp=value)
    refused(answer, 401, reason)
    bot_world.finish()
    assert world_state(bot_world) == before
    assert bot_world.ephemerals("U0BROKER1") == []


SIGNATURES = {
    "missing": ("", "missing"),
    "not v0": ("v1=" + "0" * 64, "not v0="),
    "5,000 characters": ("v0=" + "a" * 5000, "not v0="),
    "upper-case hex": ("v0=" + "A" * 64, "not v0="),
    "non-ASCII": ("v0=" + "é" * 64, "not v0="),
    "well-formed but wrong": ("v0=" + "0" * 64, "does not match"),
}


@pytest.mark.parametrize("name", list(SIGNATURES))
def test_a_bad_signature_is_401_with_the_reason(bot_world: BotWorld, name: str) -> None:
    value, reason = SIGNATURES[name]
    before = world_state(bot_world)
    refused(post(bot_world, command_body("hot"), signature=value), 401, reason)
    bot_world.finish()
    assert world_state(bot_world) == before


# -- signed bodies that are not Slack's -----------------------------------------------------


def interaction(world: BotWorld, **changes: Any) -> dict[str, Any]:
    """A real Claim click's payload (from the fake), with `changes` applied."""
    message = world.services.alerts.client.chat_postMessage(
        channel="C0DEALS", text="x",
        blocks=[blocks.actions(blocks.button("Claim", blocks.CLAIM, value="TPA-1001"))],
    )  # fmt: skip
    found = world.slack.find_message("C0DEALS", message["ts"])
    assert found is not None
    store, fake = world.slack.store, world.slack
    channel = store.channel("C0DEALS")
    assert channel is not None
    response_url = fake.new_response_url(
        channel_id="C0DEALS", user_id="U0BROKER1", message_ts=found.ts, message_is_ephemeral=False
    )
    payload = block_actions_payload(
        config=fake.config, user=store.workspace.users["U0BROKER1"], channel=channel,
        message=found, response_url=response_url, trigger_id=fake.issue_trigger_id(),
        action=button_action(element=found.blocks[0]["elements"][0],
                             block_id=found.blocks[0]["block_id"], action_ts="1.2"),
    )  # fmt: skip
    return payload | changes


def view_submission(**view: Any) -> dict[str, Any]:
    base = {"id": "V0X", "type": "modal", "callback_id": blocks.ADD_FORM, "state": {"values": {}}}
    return {
        "type": "view_submission", "user": {"id": "U0BROKER1"}, "team": {"id": "T0DEAL"},
        "api_app_id": "A0DEALAPP", "view": {k: v for k, v in (base | view).items() if v != "-"},
    }  # fmt: skip


def as_payload(data: Any) -> bytes:
    return form_body({"payload": json.dumps(data)})


# name -> (body builder, content type, reason)
BODIES: dict[str, tuple[Any, str, str]] = {
    "a JSON array body": (lambda w: b"[1, 2, 3]", "application/json", "not a JSON object"),
    "a JSON array body, form type": (lambda w: b'[{"command": "/deal"}]', FORM,
                                     "neither a slash command nor an interaction"),
    "a form body sent as JSON": (lambda w: command_body("hot"), "application/json",
                                 "not valid JSON (a form body sent as application/json?)"),
    "payload not JSON": (lambda w: form_body({"payload": "{nope"}), FORM,
                         "payload is not valid JSON"),
    "payload a JSON string": (lambda w: as_payload("block_actions"), FORM,
                              "payload is not a JSON object"),
    "payload nested 100,000 deep": (lambda w: form_body({"payload": "[" * 100_000}), FORM,
                                    "nested too deeply"),
    '"actions": []': (lambda w: as_payload(interaction(w, actions=[])), FORM,
                      "block_actions without actions"),
    "an action without action_id": (lambda w: as_payload(interaction(w, actions=[{"v": 1}])),
                                     FORM, "every action needs an action_id"),
    "a channel that is a string": (lambda w: as_payload(interaction(w, channel="C0DEALS")),
                                   FORM, "channel is not an object"),
    "a click without a user": (lambda w: as_payload(interaction(w, user=None)), FORM,
                               "without user.id"),
    "a view without type": (lambda w: as_payload(view_submission(type="-")), FORM,
                            "the view has no type"),
    "a view without callback_id": (lambda w: as_payload(view_submission(callback_id="-")),
                                   FORM, "the view has no callback_id"),
    "a view whose state is a list": (lambda w: as_payload(view_submission(state={"values": []})),
                                     FORM, "view.state.values"),
    "no view at all": (lambda w: as_payload(view_submission() | {"view": None}), FORM,
                       "without a view"),
    "an unknown interaction type": (lambda w: as_payload(interaction(w, type="nonsense")), FORM,
                                    "unknown interaction type 'nonsense'"),
    "a type that is not text": (lambda w: as_payload(interaction(w, type=["block_actions"])),
                                FORM, "unknown interaction type"),
    "neither command nor type": (lambda w: b'{"hello": "world"}', "application/json",
                                 "neither a slash command nor an interaction"),
    "a command without user": (lambda w: form_body({"command": "/deal", "text": "hot"}), FORM,
                               "a slash command without user_id"),
}  # fmt: skip


@pytest.mark.parametrize("name", list(BODIES))
def test_a_signed_malformed_body_is_400_with_the_reason(bot_world: BotWorld, name: str) -> None:
    build, content_type, reason = BODIES[name]
    body = build(bot_world)
    before = world_state(bot_world)
    refused(post(bot_world, body, content_type=content_type), 400, reason)
    bot_world.finish()
    assert world_state(bot_world) == before
    assert said_to(bot_world, "U0BROKER1") == []


def test_the_same_click_well_formed_is_taken(bot_world: BotWorld) -> None:
    # The control for the table above: the payload they spoil is one the bot acts on.
    answer = post(bot_world, as_payload(interaction(bot_world)))
    assert answer.status_code == 200
    bot_world.wait_for_ephemeral("U0BROKER1", "TPA-1001")


# -- NUL and other control characters: usage before any query -------------------------------

CONTROL_TEXTS = ["show TPA\x00-1001", "show \x00", "match TPA-1001\x00 5", "notify TPA-1001\x00",
                 "show 4812 W Bay\x1b[31m Vista", "add TPA-9 | 1 Main\x00 St | Tampa | FL | "
                 "33611 | 200000 | 3 | 95 | s@example.com"]  # fmt: skip


@pytest.mark.parametrize("text", CONTROL_TEXTS, ids=range(len(CONTROL_TEXTS)))
def test_a_control_character_in_a_command_is_answered_with_usage(
    world: BotWorld, text: str
) -> None:
    world.add_deal("TPA-1001")
    before = world_state(world)
    answer = post(world, command_body(text))
    assert answer.status_code == 200, answer.text[:300]
    shown = answer.json()["text"]
    assert "control character (such as NUL)" in shown and "Usage: `/deal" in shown, shown
    assert "\x00" not in shown
    world.finish()
    assert world_state(world) == before
    assert said_to(world, "U0BROKER1") == []  # nothing after the ack: no query ran


def test_a_nul_in_a_button_value_is_400_and_changes_nothing(world: BotWorld) -> None:
    world.add_deal("TPA-1001")
    payload = interaction(world)
    payload["actions"][0]["value"] = "TPA-1001\x00"
    before = world_state(world)
    refused(post(world, as_payload(payload)), 400, "an action carries a NUL character")
    world.finish()
    assert world_state(world) == before
    assert said_to(world, "U0BROKER1") == []


def test_a_nul_past_the_http_checks_never_reaches_a_query(world: BotWorld) -> None:
    # Socket Mode envelopes skip the HTTP checks: the listener itself keeps NUL from the store.
    world.add_deal("TPA-1001")
    payload = interaction(world)
    payload["actions"][0]["value"] = "TPA-1001\x00"
    body = as_payload(payload).decode()
    stamp = str(int(time.time()))
    signature = SlackSignatures(SIGNING_SECRET).generate_signature(timestamp=stamp, body=body)
    before = world_state(world)
    answer = world.app.dispatch(
        BoltRequest(body=body, headers={"content-type": FORM, "x-slack-request-timestamp": stamp,
                                        "x-slack-signature": signature or ""})
    )  # fmt: skip
    assert answer.status == 200
    told = world.wait_for_ephemeral("U0BROKER1", "TPA-1001\ufffd")
    assert "went wrong" not in told.text, told.text
    world.finish()
    assert world_state(world) == before


# -- the GHL webhook endpoint: header values that are not text -------------------------------


@pytest.mark.parametrize(
    "signature",
    ["é" * 88, "9" * 5000, "\u00a0" * 10 + "AAAA", "A" * 87 + "\u00b2"],
    ids=["latin-1 letters", "5,000 digits", "non-breaking spaces", "superscript"],
)
def test_a_webhook_signature_header_that_is_not_base64_is_401(
    sqlite_engine: Engine, ed25519_pair: Any, serve_wsgi: Any, signature: str
) -> None:
    verifier = SignatureVerifier(ed25519_key=load_ed25519_key(ed25519_pair.public_pem))
    url = serve_wsgi(make_webhook_app(engine=sqlite_engine, verifier=verifier))
    body = json.dumps(webhook_payload("InboundMessage")).encode()
    headers = {"Content-Type": "application/json", "X-GHL-Signature": signature.encode("latin-1")}
    answer = requests.post(url, data=body, headers=headers, timeout=10)
    assert answer.status_code == 401, answer.text[:300]
    assert answer.json() == {"error": "invalid signature"}


# -- what bolt misreads -----------------------------------------------------------------------


@pytest.mark.parametrize("text", ["show 12 payload ln", "show payload=1&payload", "match payload"])
def test_a_command_containing_the_word_payload_is_run(bot_world: BotWorld, text: str) -> None:
    # Bolt reads any form body containing "payload" as an interaction and finds nothing in it.
    sent = bot_world.driver.slash_command(text=text, user_id="U0AGENT01")
    assert sent.status == 200 and sent.acked_in_time, sent.response.text[:300]
    if text.startswith("match"):
        assert "an MLS id is letters" not in sent.json()["text"]
        bot_world.wait_for_ephemeral("U0AGENT01", "No deal matches `payload`")
    else:
        query = " ".join(text.split()[1:]).replace("&", "&amp;")  # shown escaped
        bot_world.wait_for_ephemeral("U0AGENT01", f"No deal matches `{query}`")


# -- headers waitress converts itself -------------------------------------------------------


def raw_request(url: str, path: str, head: str) -> bytes:
    """Send a hand-written request head (requests would not send these) and read the answer."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(f"POST {path} HTTP/1.1\r\nHost: {host}\r\n{head}\r\n\r\n".encode("latin-1"))
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    return answer


@pytest.mark.parametrize("path", ["/slack/events", "/ghl/webhooks", "/healthz"])
@pytest.mark.parametrize(
    ("length", "reason"),
    [("9" * 5000, b"a header value cannot be read"), ("-1", b"Content-Length is invalid"),
     ("\xb2", b"Content-Length is invalid"), ("1e3", b"Content-Length is invalid")],
    ids=["5,000 digits", "negative", "superscript", "exponent"],
)  # fmt: skip
def test_a_content_length_that_is_not_a_number_is_400_not_a_dropped_connection(
    bot_world: BotWorld, path: str, length: str, reason: bytes
) -> None:
    answer = raw_request(bot_world.http.url, path, f"Content-Length: {length}\r\nConnection: close")
    assert answer.startswith(b"HTTP/1.1 400 Bad Request"), answer[:200]
    assert reason in answer and b"Traceback" not in answer
