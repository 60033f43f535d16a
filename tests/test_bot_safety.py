"""Input and output safety end to end: hostile names from GHL are shown literally in Slack, and
a failure is always answered (never a stack trace, never silence), before or after the ack."""

from __future__ import annotations

import json
import logging

import pytest
from slack_bolt import BoltContext, BoltResponse
from sqlalchemy import text

from bot.slack.listeners.errors import handle_error
from ghl.errors import GHLServerError
from tests.fixtures.bot import BotWorld, wait_for

HOSTILE_NAME = "<!channel>"
HOSTILE_LAST = "<@U0ADMIN01> & <https://evil.example|co>"


def test_hostile_buyer_names_from_ghl_are_shown_literally(bot_world: BotWorld) -> None:
    for contact in bot_world.emulator.state.contacts.values():
        if contact.extra.get("city") == "Tampa":
            contact.first_name, contact.last_name = HOSTILE_NAME, HOSTILE_LAST
    bot_world.sync_buyers()
    bot_world.add_deal("TPA-1001")
    [card] = wait_for(bot_world.channel_messages, what="the hot-deal message")
    shown = json.dumps(card.blocks) + card.text
    assert "&lt;!channel&gt;" in shown and "&lt;@U0ADMIN01&gt; &amp;" in shown
    assert "<!channel>" not in shown and "<@U0ADMIN01>" not in shown
    assert "<https://evil" not in shown
    bot_world.driver.slash_command(text="match TPA-1001", user_id="U0AGENT01")
    answer = bot_world.wait_for_ephemeral("U0AGENT01", "Buyers for")
    assert "<!channel>" not in json.dumps(answer.blocks)


def test_a_failure_after_the_ack_is_told_to_the_user(
    bot_world: BotWorld, caplog: pytest.LogCaptureFixture
) -> None:
    with bot_world.engine.begin() as connection:  # the store breaks under the running bot
        connection.execute(text("DROP TABLE properties"))
    with caplog.at_level(logging.ERROR, logger="dealfinder.bot"):
        sent = bot_world.driver.slash_command(text="hot", user_id="U0AGENT01")
        assert sent.acked_in_time
        answer = bot_world.wait_for_ephemeral("U0AGENT01", "Something went wrong on our side")
    assert "reference" in answer.text and "Traceback" not in answer.text
    assert "properties" not in answer.text  # no internals in Slack
    reference = answer.text.split("`")[1]
    assert any(reference in record.getMessage() for record in caplog.records)


def test_the_error_handler_answers_within_the_ack(bot_world: BotWorld) -> None:
    context = BoltContext({"services": bot_world.services})
    response = BoltResponse(status=500)
    answer = handle_error(RuntimeError("boom xoxb-123"), {"type": "block_actions"}, context,
                          response)  # fmt: skip
    assert answer.status == 200
    body = json.loads(answer.body)
    assert body["response_type"] == "ephemeral" and "reference" in body["text"]
    assert "boom" not in body["text"] and "xoxb" not in body["text"]
    down = handle_error(GHLServerError("GHL answered 503"), {}, context, BoltResponse(status=500))
    assert "GHL is unreachable" in json.loads(down.body)["text"]
    closed = handle_error(RuntimeError("x"), {"type": "view_submission"}, context,
                          BoltResponse(status=500))  # fmt: skip
    assert closed.status == 200 and closed.body == ""
