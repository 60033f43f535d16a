"""Rate limits, response_urls, trigger_ids, modals and request signing against the fake."""

from __future__ import annotations

import json
import time

import pytest
import requests
from freezegun import freeze_time
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import RateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier

from sandbox.slack_fake import BOT_TOKEN, FakeConfig, SlackFake, sign, verify

MODAL = {
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


@pytest.fixture
def client(slack_fake: SlackFake) -> WebClient:
    return WebClient(token=BOT_TOKEN, base_url=slack_fake.api_url)


def _post(url: str, payload: dict) -> requests.Response:
    return requests.post(url, json=payload, timeout=5)


@pytest.mark.parametrize(
    "slack_fake_config", [FakeConfig(post_message_burst=2, post_message_per_second=2.0)]
)
@pytest.mark.slow  # over 0.5 s: the full run only (README, 'fast lane')
def test_rate_limit_is_429_that_slack_sdk_waits_out(slack_fake: SlackFake) -> None:
    # slack_sdk sleeps Retry-After (1 s, Slack's smallest) plus jitter: this test takes 1-2 s.
    client = WebClient(
        token=BOT_TOKEN,
        base_url=slack_fake.api_url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2)],
    )
    for n in range(3):
        client.chat_postMessage(channel="C0DEALS", text=f"deal {n}")
    statuses = [c.status for c in slack_fake.calls_to("chat.postMessage")]
    assert statuses == [200, 200, 429, 200]
    limited = slack_fake.calls_to("chat.postMessage")[2]
    assert limited.response == {"ok": False, "error": "ratelimited"}
    assert [m.text for m in slack_fake.messages("C0DEALS")] == ["deal 0", "deal 1", "deal 2"]


@pytest.mark.parametrize("slack_fake_config", [FakeConfig(post_message_burst=1)])
def test_rate_limit_is_per_channel(slack_fake: SlackFake, client: WebClient) -> None:
    client.chat_postMessage(channel="C0DEALS", text="one")
    client.chat_postMessage(channel="C0OPS", text="other channel, own allowance")
    answer = requests.post(
        slack_fake.api_url + "chat.postMessage",
        headers={"Authorization": f"Bearer {BOT_TOKEN}"},
        json={"channel": "C0DEALS", "text": "two"},
        timeout=5,
    )
    assert answer.status_code == 429 and answer.headers["Retry-After"] == "1"


def test_response_url_allows_five_uses_in_thirty_minutes(slack_fake: SlackFake) -> None:
    slack_fake.expect_rejection("used_up", method="response_url")
    slack_fake.expect_rejection("expired_url", method="response_url")
    with freeze_time("2024-05-01 12:00:00") as frozen:
        url = slack_fake.new_response_url(channel_id="C0DEALS", user_id="U0AGENT01")
        for n in range(5):
            assert _post(url, {"text": f"update {n}"}).status_code == 200
        sixth = _post(url, {"text": "one too many"})
        assert sixth.status_code == 404 and sixth.json()["error"] == "used_up"

        fresh = slack_fake.new_response_url()
        frozen.tick(30 * 60 - 1)
        assert _post(fresh, {"text": "just in time"}).status_code == 200
        frozen.tick(2)
        late = _post(fresh, {"text": "too late"})
        assert late.status_code == 404 and late.json()["error"] == "expired_url"
    assert len(slack_fake.ephemerals(user_id="U0AGENT01")) == 5


def test_response_url_posts_replaces_and_deletes(slack_fake: SlackFake, client: WebClient) -> None:
    ts = client.chat_postMessage(channel="C0DEALS", text="Deal 7: pending")["ts"]
    url = slack_fake.new_response_url(channel_id="C0DEALS", message_ts=ts)
    _post(url, {"replace_original": True, "text": "Deal 7: approved"})
    assert slack_fake.find_message("C0DEALS", ts).text == "Deal 7: approved"
    _post(url, {"response_type": "in_channel", "text": "Everyone: deal 7 approved"})
    assert [m.text for m in slack_fake.messages("C0DEALS")][-1] == "Everyone: deal 7 approved"
    _post(url, {"delete_original": True})
    assert slack_fake.find_message("C0DEALS", ts) is None


def test_response_url_refuses_invalid_blocks(slack_fake: SlackFake) -> None:
    slack_fake.expect_rejection("invalid_blocks", method="response_url")
    url = slack_fake.new_response_url()
    answer = _post(url, {"text": "x", "blocks": [{"type": "divider"}] * 51})
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_blocks"


def test_trigger_id_expires_after_three_seconds(slack_fake: SlackFake, client: WebClient) -> None:
    slack_fake.expect_rejection("expired_trigger_id", method="views.open")
    slack_fake.expect_rejection("exchanged_trigger_id", method="views.open")
    with freeze_time("2024-05-01 12:00:00") as frozen:
        late = slack_fake.issue_trigger_id(user_id="U0BROKER1")
        frozen.tick(3.5)
        with pytest.raises(SlackApiError) as raised:
            client.views_open(trigger_id=late, view=MODAL)
        assert raised.value.response["error"] == "expired_trigger_id"

        prompt = slack_fake.issue_trigger_id(user_id="U0BROKER1")
        frozen.tick(2.5)
        view = client.views_open(trigger_id=prompt, view=MODAL)["view"]
        assert view["id"].startswith("V") and view["callback_id"] == "new_deal"
        with pytest.raises(SlackApiError) as raised:
            client.views_open(trigger_id=prompt, view=MODAL)
        assert raised.value.response["error"] == "exchanged_trigger_id"
    assert [v["id"] for v in slack_fake.views("U0BROKER1")] == [view["id"]]


def test_views_push_update_and_hash(slack_fake: SlackFake, client: WebClient) -> None:
    slack_fake.expect_rejection("hash_conflict")
    slack_fake.expect_rejection("push_limit_reached")
    root = client.views_open(trigger_id=slack_fake.issue_trigger_id(), view=MODAL)["view"]
    for _ in range(2):
        client.views_push(trigger_id=slack_fake.issue_trigger_id(), view=MODAL)
    with pytest.raises(SlackApiError) as raised:
        client.views_push(trigger_id=slack_fake.issue_trigger_id(), view=MODAL)
    assert raised.value.response["error"] == "push_limit_reached"

    renamed = {**MODAL, "title": {"type": "plain_text", "text": "Edit deal"}}
    updated = client.views_update(view_id=root["id"], hash=root["hash"], view=renamed)["view"]
    assert updated["title"]["text"] == "Edit deal" and updated["hash"] != root["hash"]
    with pytest.raises(SlackApiError) as raised:
        client.views_update(view_id=root["id"], hash=root["hash"], view=renamed)
    assert raised.value.response["error"] == "hash_conflict"


def test_views_refuse_invalid_modals(slack_fake: SlackFake, client: WebClient) -> None:
    slack_fake.expect_rejection("invalid_arguments", method="views.open")
    too_many = {**MODAL, "blocks": [{"type": "divider"}] * 101}
    with pytest.raises(SlackApiError) as raised:
        client.views_open(trigger_id=slack_fake.issue_trigger_id(), view=too_many)
    assert raised.value.response["response_metadata"]["messages"] == [
        "[ERROR] no more than 100 items allowed [json-pointer:/view/blocks]"
    ]


def test_signatures_are_accepted_by_slack_sdk() -> None:
    secret = "8f742231b10e8888abcd99yyyzzz85a5"
    body = b"token=x&command=%2Fdeal&text=42+Oak+St"
    now = int(time.time())
    verifier = SignatureVerifier(secret)
    assert verifier.is_valid_request(body, sign(signing_secret=secret, body=body, timestamp=now))
    assert not verifier.is_valid_request(
        body + b"&x=1", sign(signing_secret=secret, body=body, timestamp=now)
    )
    assert not verifier.is_valid_request(
        body, sign(signing_secret="another-secret", body=body, timestamp=now)
    )


def test_stale_signatures_are_refused_by_slack_sdk() -> None:
    secret = "8f742231b10e8888abcd99yyyzzz85a5"
    body = json.dumps({"type": "block_actions"}).encode()
    now = int(time.time())
    stale = sign(signing_secret=secret, body=body, timestamp=now - 5 * 60 - 1)
    assert not SignatureVerifier(secret).is_valid_request(body, stale)
    fresh = sign(signing_secret=secret, body=body, timestamp=now - 5 * 60 + 5)
    assert SignatureVerifier(secret).is_valid_request(body, fresh)
    for headers, accepted in ((stale, False), (fresh, True)):
        assert (
            verify(
                signing_secret=secret,
                body=body,
                timestamp=headers["X-Slack-Request-Timestamp"],
                received=headers["X-Slack-Signature"],
                now=now,
            )
            is accepted
        )
