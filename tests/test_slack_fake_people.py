"""The Slack fake's people methods and the card's new elements, strictly as Slack answers them:
scopes read from the spec, `profile.email` only with `users:read.email`, confirm dialogs
validated, and selects chosen only among what they offer."""

from __future__ import annotations

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from sandbox.slack_fake import BOT_TOKEN, FakeConfig, SlackFake
from sandbox.slack_fake.spec import required_scope
from tests.fixtures.bot import BotWorld
from tests.fixtures.people import hot_card


@pytest.fixture
def client(slack_fake: SlackFake) -> WebClient:
    return WebClient(token=BOT_TOKEN, base_url=slack_fake.api_url)


def _error(call) -> dict:
    with pytest.raises(SlackApiError) as raised:
        call()
    return raised.value.response.data


def test_the_spec_names_the_scopes_of_the_people_methods() -> None:
    assert required_scope("users.lookupByEmail") == "users:read.email"
    assert required_scope("users.info") == "users:read"


def test_lookup_by_email_finds_the_member_case_insensitively(
    client: WebClient, slack_fake: SlackFake
) -> None:
    found = client.users_lookupByEmail(email="ARI@dealfinder.example")
    assert found["user"]["id"] == "U0AGENT01"
    assert found["user"]["profile"]["email"] == "ari@dealfinder.example"
    assert _error(lambda: client.users_lookupByEmail(email="nobody@x.example"))["error"] == (
        "users_not_found"
    )
    assert slack_fake.unexpected_rejections() == []  # "nobody" is an answer, not a refusal
    slack_fake.expect_rejection("invalid_arguments", method="users.lookupByEmail")
    assert _error(lambda: client.api_call("users.lookupByEmail", params={}))["error"] == (
        "invalid_arguments"
    )


@pytest.mark.parametrize(
    "slack_fake_config", [FakeConfig(bot_scopes=frozenset({"commands", "users:read"}))]
)
def test_without_users_read_email(client: WebClient, slack_fake: SlackFake) -> None:
    slack_fake.expect_rejection("missing_scope", method="users.lookupByEmail")
    body = _error(lambda: client.users_lookupByEmail(email="ari@dealfinder.example"))
    assert (body["error"], body["needed"]) == ("missing_scope", "users:read.email")
    assert body["provided"] == "commands,users:read"
    user = client.users_info(user="U0AGENT01")["user"]
    assert "email" not in user["profile"] and user["profile"]["real_name"] == "Ari Agent"


@pytest.mark.parametrize("slack_fake_config", [FakeConfig(bot_scopes=frozenset({"commands"}))])
def test_users_info_needs_users_read(client: WebClient, slack_fake: SlackFake) -> None:
    slack_fake.expect_rejection("missing_scope", method="users.info")
    assert _error(lambda: client.users_info(user="U0AGENT01"))["needed"] == "users:read"


def test_a_confirm_dialog_without_its_buttons_is_invalid_blocks(
    client: WebClient, slack_fake: SlackFake
) -> None:
    slack_fake.expect_rejection("invalid_blocks", method="chat.postMessage")
    dialog = {"title": {"type": "plain_text", "text": "Sure?"},
              "text": {"type": "mrkdwn", "text": "Really"},
              "confirm": {"type": "plain_text", "text": "Yes"}}  # fmt: skip
    button = {"type": "button", "action_id": "a", "text": {"type": "plain_text", "text": "Go"},
              "confirm": dialog}  # fmt: skip
    row = [{"type": "actions", "elements": [button]}]
    body = _error(lambda: client.chat_postMessage(channel="C0DEALS", text="x", blocks=row))
    assert "missing required field: deny" in str(body)
    dialog["deny"] = {"type": "plain_text", "text": "No"}
    assert client.chat_postMessage(channel="C0DEALS", text="x", blocks=row)["ok"]


def test_selects_can_only_be_set_to_what_they_offer(people_world: BotWorld) -> None:
    card = hot_card(people_world)
    driver = people_world.driver
    with pytest.raises(ValueError, match="not an option"):
        driver.choose(card, "deal_stage", "Sold Yesterday", user_id="U0AGENT01")
    with pytest.raises(ValueError, match="no user"):
        driver.choose(card, "deal_owner", "U0NOBODY", user_id="U0BROKER1")
    with pytest.raises(ValueError, match="not a select"):
        driver.choose(card, "deal_won", "x", user_id="U0BROKER1")
    assert people_world.slack.calls_to("views.open") == []
