"""Block Kit limits: the fake refuses what Slack refuses, with Slack's error lines."""

from __future__ import annotations

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from sandbox.slack_fake import BOT_TOKEN, SlackFake
from sandbox.slack_fake.blocks import message_block_problems, view_problems


def _section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _button(label: str, action_id: str = "approve") -> dict:
    text = {"type": "plain_text", "text": label}
    return {
        "type": "actions",
        "elements": [{"type": "button", "text": text, "action_id": action_id}],
    }


def _modal(blocks: list[dict]) -> dict:
    title = {"type": "plain_text", "text": "New deal"}
    return {"type": "modal", "title": title, "submit": title, "blocks": blocks}


@pytest.mark.parametrize(
    ("blocks", "message"),
    [
        (
            [{"type": "divider"}] * 51,
            "[ERROR] no more than 50 items allowed [json-pointer:/blocks]",
        ),
        (
            [_section("x" * 3001)],
            "[ERROR] must be less than 3001 characters [json-pointer:/blocks/0/text/text]",
        ),
        (
            [_button("b" * 76)],
            "[ERROR] must be less than 76 characters [json-pointer:/blocks/0/elements/0/text/text]",
        ),
    ],
    ids=["51-blocks", "3001-char-section", "76-char-button"],
)
def test_postmessage_refuses_invalid_blocks(
    slack_fake: SlackFake, blocks: list[dict], message: str
) -> None:
    slack_fake.expect_rejection("invalid_blocks", method="chat.postMessage")
    client = WebClient(token=BOT_TOKEN, base_url=slack_fake.api_url)
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="C0DEALS", text="deal", blocks=blocks)
    body = raised.value.response.data
    assert body["error"] == "invalid_blocks"
    assert body["response_metadata"]["messages"] == [message]
    assert slack_fake.messages("C0DEALS") == []


def test_limits_themselves_are_accepted(slack_fake: SlackFake) -> None:
    client = WebClient(token=BOT_TOKEN, base_url=slack_fake.api_url)
    blocks = [_section("x" * 3000), _button("b" * 75)] + [{"type": "divider"}] * 48
    client.chat_postMessage(channel="C0DEALS", text="deal", blocks=blocks)
    [message] = slack_fake.messages("C0DEALS")
    assert len(message.blocks) == 50
    # Slack fills in the block_ids an app leaves out; payloads carry them later.
    assert all(block["block_id"] for block in message.blocks)


def test_long_text_is_truncated_not_refused(slack_fake: SlackFake) -> None:
    client = WebClient(token=BOT_TOKEN, base_url=slack_fake.api_url)
    client.chat_postMessage(channel="C0DEALS", text="y" * 40_001)
    [message] = slack_fake.messages("C0DEALS")
    assert len(message.text) == 40_000 and message.truncated


@pytest.mark.parametrize(
    ("block", "pointer", "what"),
    [
        ({"type": "header", "text": {"type": "plain_text", "text": "h" * 151}},
         "/blocks/0/text/text", "must be less than 151 characters"),
        ({"type": "header", "text": {"type": "mrkdwn", "text": "*h*"}},
         "/blocks/0/text/type", "must be a valid enum value"),
        ({"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11},
         "/blocks/0/fields", "no more than 10 items allowed"),
        ({"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2001}]},
         "/blocks/0/fields/0/text", "must be less than 2001 characters"),
        ({**_button("ok", action_id="a" * 256)},
         "/blocks/0/elements/0/action_id", "must be less than 256 characters"),
        ({"type": "divider", "block_id": "b" * 256},
         "/blocks/0/block_id", "must be less than 256 characters"),
        ({"type": "section", "text": {"type": "mrkdwn", "text": ""}},
         "/blocks/0/text/text", "must be more than 0 characters"),
        ({"type": "section"}, "/blocks/0", "must provide either text or fields"),
        ({"type": "carousel"}, "/blocks/0/type", "unsupported type: carousel"),
    ],
    ids=["header-151", "header-mrkdwn", "11-fields", "2001-char-field", "256-char-action_id",
         "256-char-block_id", "empty-text", "empty-section", "unknown-block"],
)  # fmt: skip
def test_block_problems(block: dict, pointer: str, what: str) -> None:
    assert message_block_problems([block]) == [f"[ERROR] {what} [json-pointer:{pointer}]"]


def test_duplicate_block_ids_are_refused() -> None:
    blocks = [{"type": "divider", "block_id": "d"}, {"type": "divider", "block_id": "d"}]
    assert message_block_problems(blocks) == [
        "[ERROR] duplicate block_id [json-pointer:/blocks/1/block_id]"
    ]


def test_views_allow_100_blocks_not_101() -> None:
    assert view_problems(_modal([{"type": "divider"}] * 100)) == []
    assert view_problems(_modal([{"type": "divider"}] * 101)) == [
        "[ERROR] no more than 100 items allowed [json-pointer:/view/blocks]"
    ]


def test_modal_title_limit_and_submit_needed_for_inputs() -> None:
    too_long = _modal([])
    too_long["title"] = {"type": "plain_text", "text": "t" * 25}
    assert view_problems(too_long) == [
        "[ERROR] must be less than 25 characters [json-pointer:/view/title/text]"
    ]
    field = {"type": "plain_text_input", "action_id": "price_input"}
    no_submit = _modal([{"type": "input", "label": {"type": "plain_text", "text": "Price"},
                         "element": field}])  # fmt: skip
    del no_submit["submit"]
    assert view_problems(no_submit) == [
        "[ERROR] must provide submit when using input blocks [json-pointer:/view]"
    ]
