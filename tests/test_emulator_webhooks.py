"""The emulator's webhooks out: GHL's formats (webhooks/*.md) for what API calls and GHL-side
happenings change, Ed25519-signed with the test key, and GHL's retry rule (only 429, every
10 minutes, 6 retries; anything else final) on the emulator's clock. A recording receiver
stands in for the product, over real HTTP; nothing sleeps."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from bot.web.webhook_verify import SignatureVerifier
from ghl.client import GHLClient
from sandbox.ghl_emulator import DEFAULT_TOKEN, DEMO_LOCATION_ID
from sandbox.ghl_emulator.webhook_keys import TEST_PUBLIC_KEY
from sandbox.ghl_emulator.webhooks_out import MAX_RETRIES, next_attempt
from tests.fixtures.notify import Clock

DOCS = Path(__file__).resolve().parents[1] / "sandbox" / "ghl_emulator" / "openapi" / "webhooks"


@pytest.mark.parametrize(
    ("status", "retries_done", "again"),
    [
        (429, 0, True),
        (429, 5, True),
        (429, 6, False),  # the sixth retry was the last
        (500, 0, False),  # GHL never retries a 5xx
        (503, 0, False),
        (200, 0, False),
        (401, 0, False),
        (None, 0, False),  # no answer at all
    ],
)
def test_ghl_retries_only_a_429_six_times(status, retries_done, again):
    assert next_attempt(status=status, retries_done=retries_done) is again


class Receiver:
    """A WSGI endpoint answering the statuses it is given (then 200), keeping what it got."""

    def __init__(self) -> None:
        self.statuses: list[int] = []
        self.got: list[tuple[bytes, dict[str, str]]] = []

    def __call__(self, environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)
        headers = {
            k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")
        }
        self.got.append((body, headers))
        status = self.statuses.pop(0) if self.statuses else 200
        start_response(f"{status} X", [("Content-Type", "application/json")])
        return [b"{}"]

    def events(self) -> list[dict]:
        return [json.loads(body) for body, _ in self.got]


@pytest.fixture
def world(make_emulator, serve_wsgi):
    clock = Clock(datetime(2027, 1, 15, 15, 0, tzinfo=UTC))
    emulator = make_emulator(clock=clock, sleep=clock.sleep, webhook_retry_jitter_s=0.0)
    emulator.seed_demo(buyers=2, seed=1)
    receiver = Receiver()
    emulator.webhooks.url = serve_wsgi(receiver)
    client = GHLClient(token=DEFAULT_TOKEN, location_id=DEMO_LOCATION_ID, base_url=emulator.url)
    contact = client.contacts.upsert({"firstName": "Sam", "phone": "+12125550199"}).contact
    return emulator, receiver, client, clock, contact.id


def documented_fields(doc: str) -> set[str]:
    """The top-level properties of the event's first json_schema block in GHL's doc."""
    text = (DOCS / f"{doc}.md").read_text(encoding="utf-8")
    block = re.search(r"```json json_schema\n(.*?)```", text, re.S)
    assert block is not None
    return set(json.loads(block.group(1))["properties"]) | {"timestamp", "webhookId"}


def test_a_429_is_retried_every_ten_minutes_six_times_with_the_same_signed_body(world):
    emulator, receiver, _client, clock, contact_id = world
    receiver.statuses = [429] * 10
    requests.post(
        f"{emulator.url}/_emulator/simulate/inbound-sms",
        json={"contactId": contact_id, "body": "Is it available?"},
        timeout=10,
    )
    made = []
    for minute in range(0, 80):
        made += [(minute, a.status, a.final) for a in emulator.webhooks.deliver_due()]
        clock.now += timedelta(minutes=1)
    assert [m for m, _, _ in made] == [0, 10, 20, 30, 40, 50, 60]  # 1 + MAX_RETRIES
    assert len(made) == 1 + MAX_RETRIES and made[-1] == (60, 429, True)
    bodies = {body for body, _ in receiver.got}
    assert len(bodies) == 1  # every attempt the same bytes: same webhookId and timestamp
    verifier = SignatureVerifier.from_settings(public_key=TEST_PUBLIC_KEY, legacy_rsa=False)
    body, headers = receiver.got[-1]
    assert verifier.verify(body, headers).ok


@pytest.mark.parametrize("status", [500, 400, 401, 200])
def test_any_other_answer_ends_the_delivery(world, status):
    emulator, receiver, client, clock, contact_id = world
    receiver.statuses = [status]
    client.contacts.add_tags(contact_id, ["vip"])
    (attempt,) = emulator.webhooks.deliver_due()
    assert (attempt.status, attempt.final) == (status, True)
    clock.now += timedelta(hours=2)
    assert emulator.webhooks.deliver_due() == []


def test_no_answer_ends_the_delivery_too(world):
    emulator, _receiver, client, _clock, contact_id = world
    emulator.webhooks.url = "http://127.0.0.1:9/ghl/webhooks"  # nothing listens on port 9
    client.contacts.add_tags(contact_id, ["vip"])
    (attempt,) = emulator.webhooks.deliver_due()
    assert (attempt.status, attempt.final) == (None, True)


def test_api_changes_raise_ghls_events_in_ghls_formats(world):
    emulator, receiver, client, clock, contact_id = world
    client.contacts.set_sms_dnd(contact_id, active=True)
    client.contacts.add_tags(contact_id, ["vip"])
    client.contacts.remove_tags(contact_id, ["vip"])
    client.contacts.update(contact_id, {"firstName": "Samuel"})  # neither DND nor tags: none
    pipeline = client.opportunities.pipelines()[0]
    opp = client.opportunities.create(
        {
            "pipelineId": pipeline.id,
            "pipelineStageId": pipeline.stages[0].id,
            "name": "12 Oak St",
            "contactId": contact_id,
        }
    )
    client.opportunities.update(opp.id, {"pipelineStageId": pipeline.stages[1].id})
    client.opportunities.update_status(opp.id, "won")
    task = client.contacts.create_task(
        contact_id, title="Call seller", due=clock.now + timedelta(days=1)
    )
    client.contacts.complete_task(contact_id, task.id)
    emulator.webhooks.deliver_due()
    events = receiver.events()
    assert [e["type"] for e in events] == [
        "ContactDndUpdate",
        "ContactTagUpdate",
        "ContactTagUpdate",
        "OpportunityStageUpdate",
        "OpportunityStatusUpdate",
        "TaskComplete",
    ]
    for event in events:
        assert set(event) <= documented_fields(event["type"]), event["type"]
        assert event["locationId"] == DEMO_LOCATION_ID and event["webhookId"]
    assert events[0]["dndSettings"]["SMS"]["status"] == "active" and events[0]["id"] == contact_id
    assert events[1]["tags"] == ["vip"] and events[2]["tags"] == []
    assert events[3]["pipelineStageId"] == pipeline.stages[1].id and events[3]["id"] == opp.id
    assert events[4]["status"] == "won"
    assert (events[5]["title"], events[5]["contactId"]) == ("Call seller", contact_id)
    assert len({e["webhookId"] for e in events}) == len(events)


def test_simulated_happenings_raise_their_events_and_show_in_the_conversation(world):
    emulator, receiver, client, clock, contact_id = world
    sms = requests.post(
        f"{emulator.url}/_emulator/simulate/inbound-sms",
        json={"contactId": contact_id, "body": "STOP", "deliver": True},
        timeout=10,
    ).json()
    events = receiver.events()
    assert [e["type"] for e in events] == ["InboundMessage", "ContactDndUpdate"]  # GHL's own DND
    inbound = events[0]
    assert set(inbound) <= documented_fields("InboundMessage")
    assert (inbound["messageId"], inbound["direction"], inbound["messageType"]) == (
        sms["messageId"],
        "inbound",
        "SMS",
    )
    page = client.conversations.messages(sms["conversationId"])
    assert [(m.id, m.direction, m.body) for m in page.messages] == [
        (sms["messageId"], "inbound", "STOP")
    ]
    (conversation,) = client.conversations.recently_active()
    assert conversation.last_message_date == int(clock.now.timestamp() * 1000)
    assert emulator.unexpected_violations() == []


def test_with_no_webhook_url_nothing_is_queued(make_emulator):
    emulator = make_emulator()
    emulator.seed_demo(buyers=1, seed=1)
    client = GHLClient(token=DEFAULT_TOKEN, location_id=DEMO_LOCATION_ID, base_url=emulator.url)
    contact = client.contacts.upsert({"firstName": "Sam", "phone": "+12125550198"}).contact
    client.contacts.add_tags(contact.id, ["vip"])
    assert emulator.webhooks.deliveries == [] and emulator.webhooks.deliver_due() == []


def test_the_control_api_sets_the_url_and_refuses_bad_input(make_emulator):
    emulator = make_emulator()
    base = f"{emulator.url}/_emulator"
    assert requests.post(
        f"{base}/webhooks", json={"url": "http://127.0.0.1:9/x"}, timeout=10
    ).json() == {"url": "http://127.0.0.1:9/x"}
    assert requests.get(f"{base}/webhooks", timeout=10).json()["url"] == "http://127.0.0.1:9/x"
    bad = requests.post(f"{base}/simulate/inbound-sms", json={"body": "STOP"}, timeout=10)
    assert bad.status_code == 400 and "contactId is required" in bad.json()["error"]
    unknown = requests.post(
        f"{base}/simulate/inbound-sms", json={"contactId": "nope", "body": "x"}, timeout=10
    )
    assert unknown.status_code == 400 and "no contact nope" in unknown.json()["error"]
    assert requests.post(f"{base}/simulate/weather", json={}, timeout=10).status_code == 404
    assert requests.post(f"{base}/webhooks", json={"url": 5}, timeout=10).status_code == 400
    assert emulator.webhooks.url == "http://127.0.0.1:9/x"


@pytest.mark.slow  # a subprocess emulator
def test_the_emulator_command_sends_signed_webhooks_to_the_given_url(serve_wsgi, tmp_path):
    """`dealfinder emulator --webhook-url URL`: a separate process, its delivery loop running,
    the STOP of a contact arrives signed with the key it prints."""
    import os
    import socket
    import subprocess
    import sys
    import time

    receiver = Receiver()
    url = serve_wsgi(receiver) + "/ghl/webhooks"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GHL_", "DEALFINDER_"))}
    exe = Path(sys.executable).with_name("dealfinder")
    command = [str(exe), "emulator", "--port", str(port), "--buyers", "3", "--webhook-url", url]
    proc = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        state = None
        for _ in range(100):  # waiting for another process to start, not for time to pass
            try:
                state = requests.get(f"{base}/_emulator/state", timeout=1).json()
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        assert state is not None, "the emulator did not start"
        contact_id = state["contacts"][0]["id"]
        requests.post(
            f"{base}/_emulator/simulate/inbound-sms",
            json={"contactId": contact_id, "body": "STOP", "deliver": True},
            timeout=10,
        )
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    assert f"GHL_WEBHOOK_PUBLIC_KEY={TEST_PUBLIC_KEY}" in " ".join(out.split())
    inbound = [(b, h) for b, h in receiver.got if json.loads(b)["type"] == "InboundMessage"]
    assert len(inbound) == 1  # the loop and the explicit delivery never send one twice
    verifier = SignatureVerifier.from_settings(public_key=TEST_PUBLIC_KEY, legacy_rsa=False)
    assert verifier.verify(*inbound[0]).ok
