"""Bad input to the Slack bot, over signed HTTP like Slack sends it: malformed, huge, unicode and
markup-laden slash commands, buttons for unknown actions or deals, and payloads that are not
Slack's. Every one is answered with a specific private message (or a 4xx), markup is shown
literally, nothing says "Traceback", and nothing answers 500.
"""

from __future__ import annotations

import json

import pytest

from bot.slack import blocks
from sandbox.slack_fake.payloads import form_body
from tests.fixtures.bot import BotWorld

HELP = "DealFinder commands"
LONG = "x" * 5000
MARKUP = ("<!channel>", "<!here>", "<@U0ADMIN01>", "<https://evil.example|", "<#C0DEALS>")
ADD_TAIL = "Tampa | FL | 33611 | 265000 | 3 | 95 | seller@example.com"

# (command, text, what the answer must say)
MALFORMED = [
    ("/deal", "frobnicate", ("`frobnicate` is not a /deal subcommand", HELP)),
    ("/deal", "match", ("the MLS id is missing", "Usage: `/deal match")),
    ("/deal", "match TPA-1 5 6", ("too many arguments", "Usage: `/deal match")),
    ("/deal", "match TPA-1 99", ("how-many is a number from 1 to 25",)),
    ("/deal", "notify", ("the MLS id is missing", "Usage: `/deal notify")),
    ("/deal", "notify TPA-1 TPA-2", ("too many arguments", "Usage: `/deal notify")),
    ("/deal", "hot today please", ("/deal hot takes no arguments", "Usage: `/deal hot`")),
    ("/deal", "show", ("say which deal", "Usage: `/deal show")),
    ("/deal", f"show {LONG}", ("longer than 200 characters", "Usage: `/deal show")),
    ("/deal", LONG, (f"`{'x' * 40}` is not a /deal subcommand", HELP)),
    ("/deal", "add " + "|".join("a" * 3000), ("expected 9 fields", "Usage: `/deal add")),
    ("/deal", f"add TPA-9 | {'A' * 5000} | {ADD_TAIL}", ("address:", "at most 200 characters")),
    ("/deal", "add TPA-9 | 1 Main St | Tampa | FL | 33611 | abc | -1 | 150 | nobody",
     ("list_price:", "beds:", "deal_score:")),
    ("/deal", "\u202eshow TPA-1", ("is not a /deal subcommand", HELP)),  # right-to-left override
    ("/deal", "sh\u200bow TPA-1", ("is not a /deal subcommand", HELP)),  # zero-width space
    ("/deal", "🏠🔥 عقار", ("`🏠🔥` is not a /deal subcommand", HELP)),
    ("/deal", "<!channel> look", ("`&lt;!channel&gt;` is not a /deal subcommand",)),
    ("/deal", "<@U0ADMIN01>", ("`&lt;@u0admin01&gt;` is not a /deal subcommand",)),
    ("/deal", "<https://evil.example|click>", ("`&lt;https://evil.example|click&gt;`",)),
    ("/deal", "&amp;&lt;", ("`&amp;amp;&amp;lt;` is not a /deal subcommand",)),
    ("/deal", "match <!here>", ("an MLS id is letters", "Usage: `/deal match")),
    ("/ghl", "bogus", ("`bogus` is not a /ghl subcommand", HELP)),
    ("/ghl", "health now", ("/ghl health takes no arguments", "Usage: `/ghl health`")),
]  # fmt: skip


def answer_text(sent) -> str:
    body = sent.json()
    assert isinstance(body, dict) and body.get("response_type") == "ephemeral", sent.response.text
    return body["text"]


def assert_literal(text: str) -> None:
    """No Slack markup of the user's survives unescaped, and no internals leak."""
    assert not any(raw in text for raw in MARKUP), text
    assert "Traceback" not in text and "Error(" not in text, text


@pytest.mark.parametrize(("command", "text", "says"), MALFORMED,
                         ids=[f"{c}-{t[:20]!r}" for c, t, _ in MALFORMED])  # fmt: skip
def test_a_malformed_command_is_answered_in_the_ack_with_usage(
    bot_world: BotWorld, command: str, text: str, says: tuple[str, ...]
) -> None:
    sent = bot_world.driver.slash_command(command=command, text=text, user_id="U0BROKER1")
    assert sent.acked_in_time, (sent.status, sent.elapsed)
    shown = answer_text(sent)
    for words in says:
        assert words in shown, shown
    assert_literal(shown)
    assert len(shown) < 4000, "the answer echoes the whole input"
    bot_world.finish()  # the work after the ack has run: it must not answer a second time
    assert [m.via for m in bot_world.ephemerals("U0BROKER1")] == ["ack"]


@pytest.mark.parametrize("text", ["", "   ", "help", "HELP"])
def test_an_empty_command_gets_the_help(bot_world: BotWorld, text: str) -> None:
    sent = bot_world.driver.slash_command(text=text, user_id="U0AGENT01")
    assert sent.acked_in_time and HELP in answer_text(sent)


def test_a_search_with_markup_and_unicode_is_answered_literally_after_the_ack(
    bot_world: BotWorld,
) -> None:
    sent = bot_world.driver.slash_command(
        text="show <!channel> 🏠 \u202e <@U0ADMIN01> &amp;", user_id="U0AGENT01"
    )
    assert sent.acked_in_time
    answer = bot_world.wait_for_ephemeral("U0AGENT01", "No deal matches")
    shown = answer.text + json.dumps(answer.blocks, ensure_ascii=False)
    assert_literal(shown)
    assert "&lt;!channel&gt; 🏠" in answer.text and "&amp;amp;" in answer.text


# -- buttons --------------------------------------------------------------------------------


def posted_buttons(world: BotWorld, *buttons: dict) -> object:
    """A message in #deals carrying `buttons`, as an older or hand-made card would."""
    posted = world.services.alerts.client.chat_postMessage(
        channel="C0DEALS", text="a deal card", blocks=[blocks.actions(*buttons)]
    )
    message = world.slack.find_message("C0DEALS", posted["ts"])
    assert message is not None
    return message


@pytest.mark.parametrize(
    ("action_id", "value", "says"),
    [
        (blocks.CLAIM, "NOPE-404", "There is no deal `NOPE-404` in DealFinder"),
        (blocks.SKIP_DEAL, "NOPE-404", "No deal matches `NOPE-404`"),
        (blocks.NOTIFY, "NOPE-404", "No deal matches `NOPE-404`"),
        (blocks.CLAIM, "<!channel>", "There is no deal `&lt;!channel&gt;` in DealFinder"),
        (blocks.SKIP_DEAL, "<@U0ADMIN01> 🏠" + "y" * 1500, "No deal matches `&lt;@U0ADMIN01&gt;"),
        ("deal_approve_v0", "TPA-1", "older version of DealFinder"),
        ("🏠<!here>", "x", "older version of DealFinder"),
    ],
)
def test_a_button_for_an_unknown_deal_or_action_is_answered(
    bot_world: BotWorld, action_id: str, value: str, says: str
) -> None:
    message = posted_buttons(bot_world, blocks.button("Do it", action_id, value=value))
    click = bot_world.driver.click_button(message, action_id, user_id="U0BROKER1")
    assert click.acked_in_time, click.status
    answer = bot_world.wait_for_ephemeral("U0BROKER1", says.split("`")[0])
    assert says in answer.text
    assert_literal(answer.text + json.dumps(answer.blocks, ensure_ascii=False))


def test_a_button_without_a_value_is_answered(bot_world: BotWorld) -> None:
    message = posted_buttons(bot_world, blocks.button("Claim", blocks.CLAIM))
    click = bot_world.driver.click_button(message, blocks.CLAIM, user_id="U0BROKER1")
    assert click.acked_in_time
    answer = bot_world.wait_for_ephemeral("U0BROKER1", "no deal")
    assert_literal(answer.text)


BROKEN_BODIES = {
    "payload is not JSON": {"payload": "{not json"},
    "payload is a JSON list": {"payload": "[1, 2, 3]"},
    "payload of no known type": {"payload": json.dumps({"type": "nonsense"})},
    "block_actions without user or actions": {"payload": json.dumps({"type": "block_actions"})},
    "block_actions with an empty action": {
        "payload": json.dumps(
            {
                "type": "block_actions",
                "actions": [{}],
                "user": {"id": "U0X"},
                "team": {"id": "T0DEAL"},
                "api_app_id": "A0DEALAPP",
            }
        ),
    },
    "no payload, no command": {"hello": "world"},
    "a command nobody registered": {
        "command": "/nope",
        "text": "x",
        "user_id": "U0BROKER1",
        "team_id": "T0DEAL",
        "channel_id": "C0DEALS",
    },
}


@pytest.mark.parametrize("name", list(BROKEN_BODIES))
def test_a_signed_body_that_is_not_slacks_never_gets_a_500(bot_world: BotWorld, name: str) -> None:
    sent = bot_world.driver.post_signed(form_body(BROKEN_BODIES[name]))
    assert sent.status < 500, (sent.status, sent.response.text[:300])
    assert "Traceback" not in sent.response.text
    if sent.status == 200 and sent.response.content:
        body = sent.json()
        assert isinstance(body, dict) and body.get("response_type") == "ephemeral", body


def test_a_signed_body_that_is_not_even_text_never_gets_a_500(bot_world: BotWorld) -> None:
    sent = bot_world.driver.post_signed(b"\xff\xfe\x00payload=%7B" + bytes(range(256)))
    assert sent.status < 500, (sent.status, sent.response.text[:300])


@pytest.mark.parametrize("name", ["payload is not JSON", "payload is a JSON list"])
def test_an_unsigned_body_that_is_not_slacks_is_refused_as_unsigned(
    bot_world: BotWorld, name: str
) -> None:
    sent = bot_world.driver.post_signed(form_body(BROKEN_BODIES[name]), tamper="no_signature")
    assert sent.status == 401, (sent.status, sent.response.text[:300])
