"""SlackDriver against a real bolt app over HTTP, with the fake as its Web API."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from werkzeug.serving import make_server

from sandbox.slack_fake import BOT_TOKEN, FakeConfig, SlackDriver, SlackFake

SECRET = "test-signing-secret"
NEW_DEAL_MODAL = {
    "type": "modal",
    "callback_id": "new_deal",
    "title": {"type": "plain_text", "text": "New deal"},
    "submit": {"type": "plain_text", "text": "Save"},
    "blocks": [
        {
            "type": "input",
            "block_id": "price",
            "label": {"type": "plain_text", "text": "Asking price"},
            "element": {"type": "plain_text_input", "action_id": "price_input"},
        }
    ],
}


def _deal_blocks(address: str) -> list[dict]:
    approve = {
        "type": "button",
        "action_id": "approve",
        "value": address,
        "text": {"type": "plain_text", "text": "Approve"},
    }
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{address}*"}},
        {"type": "actions", "elements": [approve]},
    ]


def _bolt_app(api_url: str) -> App:
    """A tiny bolt app exercising what the driver sends; the real bot is tested elsewhere."""
    app = App(
        client=WebClient(token=BOT_TOKEN, base_url=api_url),
        signing_secret=SECRET,
        process_before_response=True,  # answer after the listener, so tests need no waiting
    )

    @app.command("/deal")
    def deal(ack, command, client):
        ack(f"Looking up {command['text']}")
        client.chat_postMessage(
            channel=command["channel_id"],
            text=command["text"],
            blocks=_deal_blocks(command["text"]),
        )

    @app.action("approve")
    def approve(ack, body, respond):
        ack()
        respond(replace_original=True, text=f"Approved by <@{body['user']['id']}>")

    @app.command("/newdeal")
    def new_deal(ack, body, client):
        ack()
        client.views_open(trigger_id=body["trigger_id"], view=NEW_DEAL_MODAL)

    @app.shortcut("new_deal_shortcut")
    def new_deal_shortcut(ack, shortcut, client):
        ack()
        client.views_open(trigger_id=shortcut["trigger_id"], view=NEW_DEAL_MODAL)

    @app.view("new_deal")
    def submitted(ack, view):
        price = view["state"]["values"]["price"]["price_input"]["value"]
        if not price.isdigit():
            ack(response_action="errors", errors={"price": "Digits only"})
            return
        ack()

    @app.command("/slow")
    def slow(ack):
        time.sleep(0.2)  # a handler slower than the (shortened) ack deadline
        ack()

    return app


@pytest.fixture
def bolt_url(slack_fake: SlackFake) -> Iterator[str]:
    server = make_server(
        "127.0.0.1", 0, SlackRequestHandler(_bolt_app(slack_fake.api_url)), threaded=True
    )
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01})
    thread.start()
    yield f"http://127.0.0.1:{server.socket.getsockname()[1]}/slack/events"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def driver(bolt_url: str, slack_fake: SlackFake) -> SlackDriver:
    return SlackDriver(bolt_url, SECRET, slack_fake)


def test_slash_command_payload_and_ack_message(driver: SlackDriver, slack_fake: SlackFake) -> None:
    sent = driver.slash_command(command="/deal", text="12 Oak St", user_id="U0AGENT01")
    assert sent.status == 200 and sent.acked_in_time
    assert list(sent.payload) == [
        "token", "team_id", "team_domain", "channel_id", "channel_name", "user_id", "user_name",
        "command", "text", "api_app_id", "is_enterprise_install", "response_url", "trigger_id",
    ]  # fmt: skip
    assert sent.payload["response_url"].startswith(slack_fake.url + "/response/")
    [ack_message] = slack_fake.ephemerals(user_id="U0AGENT01")
    assert (ack_message.text, ack_message.via) == ("Looking up 12 Oak St", "ack")
    [posted] = slack_fake.messages("C0DEALS")
    assert posted.text == "12 Oak St"


def test_button_click_replaces_the_original(driver: SlackDriver, slack_fake: SlackFake) -> None:
    driver.slash_command(command="/deal", text="12 Oak St")
    [posted] = slack_fake.messages("C0DEALS")
    sent = driver.click_button(posted, "approve", value="12 Oak St", user_id="U0AGENT02")
    assert sent.acked_in_time
    assert sent.payload["type"] == "block_actions"
    assert sent.payload["container"] == {
        "type": "message",
        "message_ts": posted.ts,
        "channel_id": "C0DEALS",
        "is_ephemeral": False,
    }
    assert sent.payload["actions"][0]["block_id"] == posted.blocks[1]["block_id"]
    assert slack_fake.find_message("C0DEALS", posted.ts).text == "Approved by <@U0AGENT02>"


def test_clicking_what_is_not_there_is_a_test_bug(
    driver: SlackDriver, slack_fake: SlackFake
) -> None:
    driver.slash_command(command="/deal", text="12 Oak St")
    [posted] = slack_fake.messages("C0DEALS")
    with pytest.raises(ValueError, match="no element"):
        driver.click_button(posted, "reject")
    with pytest.raises(ValueError, match="value"):
        driver.click_button(posted, "approve", value="somewhere else")


def test_modal_submission_errors_then_closes(driver: SlackDriver, slack_fake: SlackFake) -> None:
    driver.slash_command(command="/newdeal")
    [view] = slack_fake.views("U0BROKER1")
    with pytest.raises(ValueError, match="required"):
        driver.submit_view(view, {})

    driver.submit_view(view, {"price": {"price_input": "a lot"}})
    assert [v["id"] for v in slack_fake.views("U0BROKER1")] == [view["id"]]  # errors keep it
    sent = driver.submit_view(view, {"price": {"price_input": "250000"}})
    assert sent.payload["view"]["state"]["values"] == {
        "price": {"price_input": {"type": "plain_text_input", "value": "250000"}}
    }
    assert slack_fake.views("U0BROKER1") == []


def test_global_shortcut_opens_a_modal(driver: SlackDriver, slack_fake: SlackFake) -> None:
    sent = driver.shortcut("new_deal_shortcut", user_id="U0ADMIN01")
    assert sent.acked_in_time and sent.payload["type"] == "shortcut"
    assert [v["callback_id"] for v in slack_fake.views("U0ADMIN01")] == ["new_deal"]


@pytest.mark.parametrize("tamper", ["stale", "bad_signature", "no_signature"])
def test_badly_signed_requests_are_refused(
    driver: SlackDriver, slack_fake: SlackFake, tamper: str
) -> None:
    sent = driver.slash_command(command="/deal", text="x", tamper=tamper)
    assert sent.status == 401
    assert slack_fake.messages("C0DEALS") == []


@pytest.mark.parametrize("slack_fake_config", [FakeConfig(ack_timeout_seconds=0.05)])
def test_late_ack_counts_as_operation_timeout(driver: SlackDriver, slack_fake: SlackFake) -> None:
    slack_fake.expect_rejection("operation_timeout")
    sent = driver.slash_command(command="/slow")
    assert sent.status == 200 and not sent.acked_in_time
    assert [c.error for c in slack_fake.rejections()] == ["operation_timeout"]


def test_unhandled_command_is_a_dispatch_failure(
    driver: SlackDriver, slack_fake: SlackFake
) -> None:
    slack_fake.expect_rejection("dispatch_failed", method="slash_command /nope")
    assert driver.slash_command(command="/nope").status == 404
    assert [c.method for c in slack_fake.rejections()] == ["slash_command /nope"]
