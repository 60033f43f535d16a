"""Private answers (`bot.slack.replies.PrivateReply`) against the Slack fake over HTTP: a
response_url carries at most 5 messages within 30 minutes; past that, or when Slack refuses it or
keeps failing, the answer still arrives — an ephemeral where the user asked, else a DM from the app.
Then the same through the real bot: a slash command whose response_url fails is answered."""

from __future__ import annotations

import pytest
from slack_bolt import BoltContext
from slack_sdk import WebClient
from slack_sdk.http_retry import RateLimitErrorRetryHandler

from bot.slack.listeners.errors import handle_error
from bot.slack.replies import RESPONSE_URL_USES, PrivateReply
from sandbox.slack_fake import BOT_TOKEN, SlackFake
from tests.fixtures.bot import BotWorld, wait_for

USER = "U0AGENT01"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def _client(fake: SlackFake) -> WebClient:
    return WebClient(
        token=BOT_TOKEN, base_url=fake.api_url, retry_handlers=[RateLimitErrorRetryHandler()]
    )


def _reply(fake: SlackFake, *, channel: str = "C0DEALS", clock: Clock | None = None):
    url = fake.new_response_url(channel_id=channel, user_id=USER)
    return PrivateReply(
        client=_client(fake), user_id=USER, channel_id=channel, response_url=url,
        clock=clock or Clock(), backoff_factor=0.01,  # retry waits of milliseconds
    )  # fmt: skip


def _texts(fake: SlackFake, via: str) -> list[str]:
    return [m.text for m in fake.ephemerals(user_id=USER) if m.via == via]


def test_five_answers_through_the_response_url_then_ephemerals(slack_fake: SlackFake) -> None:
    reply = _reply(slack_fake)
    routes = [reply(text=f"answer {i}") for i in range(7)]
    assert routes == ["response_url"] * RESPONSE_URL_USES + ["ephemeral"] * 2
    assert _texts(slack_fake, "response_url") == [f"answer {i}" for i in range(5)]
    assert _texts(slack_fake, "api") == ["answer 5", "answer 6"]
    # Slack was never asked for a sixth use it would refuse.
    assert len(slack_fake.calls_to("response_url")) == RESPONSE_URL_USES


def test_after_thirty_minutes_the_response_url_is_not_tried(slack_fake: SlackFake) -> None:
    clock = Clock()
    reply = _reply(slack_fake, clock=clock)
    assert reply(text="quick") == "response_url"
    clock.now += 30 * 60
    assert reply(text="late") == "ephemeral"
    assert _texts(slack_fake, "api") == ["late"]
    assert len(slack_fake.calls_to("response_url")) == 1


def test_a_response_url_slack_refuses_is_dropped_for_the_web_api(slack_fake: SlackFake) -> None:
    slack_fake.expect_rejection("expired_url", method="response_url")
    clock = Clock()
    reply = _reply(slack_fake, clock=clock)
    slack_fake.store.clock = lambda: 10**12  # Slack's clock says the URL has expired
    assert reply(text="first") == "ephemeral"
    assert reply(text="second") == "ephemeral"
    assert _texts(slack_fake, "api") == ["first", "second"]
    assert [c.error for c in slack_fake.calls_to("response_url")] == ["expired_url"]


@pytest.mark.slow  # over 0.5 s: the full run only (README, 'fast lane')
def test_server_errors_are_retried_then_given_up_for_an_ephemeral(slack_fake: SlackFake) -> None:
    slack_fake.queue_fault("response_url", "server_error", times=2)
    assert _reply(slack_fake)(text="after two 500s") == "response_url"
    slack_fake.queue_fault("response_url", "server_error", times=3)
    assert _reply(slack_fake)(text="after three 500s") == "ephemeral"
    assert _texts(slack_fake, "response_url") == ["after two 500s"]
    assert _texts(slack_fake, "api") == ["after three 500s"]


@pytest.mark.slow  # over 0.5 s: the full run only (README, 'fast lane')
def test_a_dropped_connection_is_retried(slack_fake: SlackFake) -> None:
    slack_fake.queue_fault("response_url", "drop", times=1)
    assert _reply(slack_fake)(text="after a drop") == "response_url"
    assert _texts(slack_fake, "response_url") == ["after a drop"]


@pytest.mark.slow  # over 0.5 s: the full run only (README, 'fast lane')
def test_where_the_bot_cannot_post_the_answer_is_a_direct_message(slack_fake: SlackFake) -> None:
    # C0GENERAL: the user is a member, the bot is not; the response_url has failed.
    slack_fake.expect_rejection("not_in_channel", method="chat.postEphemeral")
    slack_fake.queue_fault("response_url", "server_error", times=3)
    reply = _reply(slack_fake, channel="C0GENERAL")
    assert (
        reply(text="psst", blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "psst"}}])
        == "direct message"
    )
    [dm] = slack_fake.messages("D" + USER[1:])
    assert dm.text == "psst" and dm.blocks[0]["text"]["text"] == "psst"


def test_a_modal_submit_without_response_url_answers_by_ephemeral(slack_fake: SlackFake) -> None:
    reply = PrivateReply(client=_client(slack_fake), user_id=USER, channel_id="C0DEALS",
                         response_url=None)  # fmt: skip
    assert reply(text="saved") == "ephemeral"
    assert slack_fake.calls_to("response_url") == []


@pytest.mark.slow  # over 0.5 s: the full run only (README, 'fast lane')
def test_the_bot_answers_a_command_whose_response_url_keeps_failing(bot_world: BotWorld) -> None:
    bot_world.slack.queue_fault("response_url", "server_error", times=3)
    line = "TPA-1001 | 4812 W Bay Vista Ave | Tampa | FL | 33611 | 265000 | 3 | 93 | d@example.com"
    sent = bot_world.driver.slash_command(text=f"add {line}", user_id=USER)
    assert sent.acked_in_time
    answer = bot_world.wait_for_ephemeral(USER, "created in GHL")
    assert answer.via == "api"  # chat.postEphemeral, after the response_url failed 3 times
    failed = wait_for(
        lambda: [c for c in bot_world.slack.calls_to("response_url") if c.fault] or None,
        what="the failed response_url posts",
    )
    assert len(failed) == 3


def test_a_failure_after_the_ack_is_told_privately_even_without_response_url(
    slack_fake: SlackFake,
) -> None:
    context = BoltContext({"client": _client(slack_fake), "user_id": USER, "channel_id": "C0DEALS"})
    assert (
        handle_error(RuntimeError("boom xoxb-1"), {"type": "block_actions"}, context, None) is None
    )
    [told] = slack_fake.ephemerals(user_id=USER)
    assert "Something went wrong on our side" in told.text and "xoxb" not in told.text
