"""The Slack Web API fake through slack_sdk's real WebClient over HTTP."""

from __future__ import annotations

import pytest
import requests
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import ConnectionErrorRetryHandler, FixedValueRetryIntervalCalculator
from slack_sdk.http_retry.builtin_handlers import ServerErrorRetryHandler

from sandbox.slack_fake import APP_TOKEN, BOT_TOKEN, SlackFake


@pytest.fixture
def client(slack_fake: SlackFake) -> WebClient:
    return WebClient(token=BOT_TOKEN, base_url=slack_fake.api_url)


def _error(call) -> dict:
    with pytest.raises(SlackApiError) as raised:
        call()
    return raised.value.response.data


def test_post_and_update_a_message(client: WebClient, slack_fake: SlackFake) -> None:
    posted = client.chat_postMessage(channel="C0DEALS", text="New deal: 12 Oak St")
    assert posted["ok"] and posted["channel"] == "C0DEALS"
    assert posted["message"]["bot_id"] == slack_fake.config.bot_id

    client.chat_update(channel="C0DEALS", ts=posted["ts"], text="Deal: 12 Oak St (under contract)")

    [message] = slack_fake.messages("C0DEALS")
    assert message.ts == posted["ts"]
    assert message.text == "Deal: 12 Oak St (under contract)"
    assert message.edited_ts is not None
    assert slack_fake.find_message("C0DEALS", posted["ts"]) == message


def test_timestamps_are_unique_increasing_and_in_slack_form(
    client: WebClient, slack_fake: SlackFake
) -> None:
    stamps = [client.chat_postMessage(channel="C0OPS", text=str(n))["ts"] for n in range(3)]
    assert all(len(ts.split(".")[1]) == 6 for ts in stamps)
    assert stamps == sorted(stamps, key=float) and len(set(stamps)) == 3


def test_missing_channel_is_refused_like_slack(client: WebClient, slack_fake: SlackFake) -> None:
    slack_fake.expect_rejection("invalid_arguments", method="chat.postMessage")
    body = _error(lambda: client.api_call("chat.postMessage", json={"text": "hi"}))
    assert body["error"] == "invalid_arguments"
    assert body["response_metadata"]["messages"] == ["[ERROR] missing required field: channel"]
    assert slack_fake.messages("C0DEALS") == []


def test_message_needs_text_or_blocks(client: WebClient, slack_fake: SlackFake) -> None:
    slack_fake.expect_rejection("no_text")
    no_content = {"channel": "C0DEALS"}
    assert _error(lambda: client.api_call("chat.postMessage", json=no_content))["error"] == (
        "no_text"
    )


@pytest.mark.parametrize(
    ("token", "error"),
    [
        ("xoxb-someone-else", "invalid_auth"),
        (APP_TOKEN, "not_allowed_token_type"),
        ("", "not_authed"),
    ],
)
def test_tokens_are_checked(slack_fake: SlackFake, token: str, error: str) -> None:
    slack_fake.expect_rejection(error)
    client = WebClient(token=token or None, base_url=slack_fake.api_url)
    assert _error(client.auth_test)["error"] == error


def test_token_as_form_field_is_accepted(slack_fake: SlackFake) -> None:
    answer = requests.post(
        slack_fake.api_url + "conversations.info",
        data={"token": BOT_TOKEN, "channel": "C0OPS"},
        timeout=5,
    ).json()
    assert answer["ok"] and answer["channel"]["name"] == "ops-alerts"
    assert "token" not in slack_fake.calls[-1].args  # the token never reaches the call log


def test_unknown_things_are_not_found(client: WebClient, slack_fake: SlackFake) -> None:
    for error in ("unknown_method", "channel_not_found", "message_not_found", "user_not_found"):
        slack_fake.expect_rejection(error)
    assert _error(lambda: client.api_call("deals.list"))["error"] == "unknown_method"
    assert _error(lambda: client.chat_postMessage(channel="C0NOPE", text="x"))["error"] == (
        "channel_not_found"
    )
    missing = _error(lambda: client.chat_update(channel="C0DEALS", ts="1.000001", text="x"))
    assert missing["error"] == "message_not_found"
    assert _error(lambda: client.users_info(user="U0NOBODY"))["error"] == "user_not_found"


def test_bot_must_join_before_posting_to_general(client: WebClient, slack_fake: SlackFake) -> None:
    slack_fake.expect_rejection("not_in_channel", method="chat.postMessage")
    first = _error(lambda: client.chat_postMessage(channel="C0GENERAL", text="hello"))
    assert first["error"] == "not_in_channel"
    client.conversations_join(channel="C0GENERAL")
    client.chat_postMessage(channel="#general", text="hello")  # names work for postMessage
    assert [m.text for m in slack_fake.messages("C0GENERAL")] == ["hello"]


def test_threads_history_and_replies(client: WebClient, slack_fake: SlackFake) -> None:
    parent = client.chat_postMessage(channel="C0DEALS", text="Deal 1")["ts"]
    client.chat_postMessage(channel="C0DEALS", text="Deal 2")
    client.chat_postMessage(channel="C0DEALS", text="buyer found", thread_ts=parent)

    history = client.conversations_history(channel="C0DEALS", limit=1)
    assert [m["text"] for m in history["messages"]] == ["Deal 2"]
    assert history["has_more"]
    more = client.conversations_history(
        channel="C0DEALS", limit=1, cursor=history["response_metadata"]["next_cursor"]
    )
    assert more["messages"][0]["reply_count"] == 1
    replies = client.conversations_replies(channel="C0DEALS", ts=parent)
    assert [m["text"] for m in replies["messages"]] == ["Deal 1", "buyer found"]
    assert [m.text for m in slack_fake.replies("C0DEALS", parent)] == ["buyer found"]


def test_ephemeral_delete_and_permalink(client: WebClient, slack_fake: SlackFake) -> None:
    client.chat_postEphemeral(channel="C0DEALS", user="U0AGENT01", text="only you")
    [ephemeral] = slack_fake.ephemerals(user_id="U0AGENT01")
    assert ephemeral.text == "only you" and slack_fake.messages("C0DEALS") == []

    ts = client.chat_postMessage(channel="C0DEALS", text="oops")["ts"]
    link = client.chat_getPermalink(channel="C0DEALS", message_ts=ts)["permalink"]
    assert link.endswith("/archives/C0DEALS/p" + ts.replace(".", ""))
    client.chat_delete(channel="C0DEALS", ts=ts)
    assert slack_fake.find_message("C0DEALS", ts) is None


def test_directory_lookups(client: WebClient) -> None:
    broker = client.users_info(user="U0BROKER1")["user"]
    assert broker["tz"] == "America/New_York" and broker["profile"]["email"]
    found = client.users_lookupByEmail(email="CASEY@dealfinder.example")["user"]
    assert found["id"] == "U0ADMIN01" and found["is_admin"]
    assert client.usergroups_users_list(usergroup="S0BROKERS")["users"] == ["U0BROKER1"]
    assert client.auth_test()["user_id"] == "U0DEALBOT"


def test_server_error_fault_is_retried_by_slack_sdk(slack_fake: SlackFake) -> None:
    slack_fake.queue_fault("chat.postMessage", "server_error")
    no_wait = FixedValueRetryIntervalCalculator(fixed_internal=0.0)
    client = WebClient(
        token=BOT_TOKEN,
        base_url=slack_fake.api_url,
        retry_handlers=[ServerErrorRetryHandler(interval_calculator=no_wait)],
    )
    assert client.chat_postMessage(channel="C0DEALS", text="after a 500")["ok"]
    assert [c.status for c in slack_fake.calls_to("chat.postMessage")] == [500, 200]


def test_dropped_connection_is_retried_by_slack_sdk(slack_fake: SlackFake) -> None:
    slack_fake.queue_fault("chat.postMessage", "drop")
    no_wait = FixedValueRetryIntervalCalculator(fixed_internal=0.0)
    client = WebClient(
        token=BOT_TOKEN,
        base_url=slack_fake.api_url,
        retry_handlers=[ConnectionErrorRetryHandler(interval_calculator=no_wait)],
    )
    assert client.chat_postMessage(channel="C0DEALS", text="after a drop")["ok"]
    assert [c.fault for c in slack_fake.calls_to("chat.postMessage")] == ["drop", None]
    assert len(slack_fake.messages("C0DEALS")) == 1


def test_injected_rate_limit_answers_429_with_retry_after(slack_fake: SlackFake) -> None:
    slack_fake.queue_fault("*", "ratelimited", times=2)
    url = slack_fake.api_url + "auth.test"
    headers = {"Authorization": f"Bearer {BOT_TOKEN}"}
    answers = [requests.post(url, headers=headers, timeout=5) for _ in range(3)]
    assert [a.status_code for a in answers] == [429, 429, 200]
    assert answers[0].headers["Retry-After"] == "1"
    assert answers[0].json() == {"ok": False, "error": "ratelimited"}


def test_slow_fault_delays_the_answer() -> None:
    delays: list[float] = []
    fake = SlackFake(sleep=delays.append)
    with fake.serve():
        fake.queue_fault("users.info", "slow", delay_seconds=4.5)
        client = WebClient(token=BOT_TOKEN, base_url=fake.api_url)
        assert client.users_info(user="U0AGENT02")["user"]["name"] == "bea.agent"
    assert delays == [4.5]


def test_control_api_shows_state_and_calls_and_resets(
    client: WebClient, slack_fake: SlackFake
) -> None:
    client.chat_postMessage(channel="C0DEALS", text="visible")
    state = requests.get(slack_fake.url + "/_fake/state", timeout=5).json()
    deals = next(c for c in state["channels"] if c["id"] == "C0DEALS")
    assert [m["text"] for m in deals["messages"]] == ["visible"]
    calls = requests.get(slack_fake.url + "/_fake/calls", timeout=5).json()
    assert calls[-1]["method"] == "chat.postMessage" and "token" not in calls[-1]["args"]

    assert requests.post(slack_fake.url + "/_fake/reset", timeout=5).json() == {"ok": True}
    assert slack_fake.messages("C0DEALS") == [] and slack_fake.calls == []


def test_undeclared_rejections_are_reported(client: WebClient, slack_fake: SlackFake) -> None:
    slack_fake.expect_rejection("channel_not_found")
    _error(lambda: client.chat_postMessage(channel="C0NOPE", text="x"))
    _error(lambda: client.api_call("chat.postMessage", json={"channel": "C0DEALS"}))  # no_text
    assert [c.error for c in slack_fake.unexpected_rejections()] == ["no_text"]
    slack_fake.expect_rejection("no_text")  # declared now, so the fixture's teardown passes
    assert slack_fake.unexpected_rejections() == []
