"""The Slack fake's chat.unfurl and views.publish, through slack_sdk's real WebClient over
HTTP: they accept what Slack accepts and refuse, with Slack's documented errors, what Slack
refuses (arguments from Slack's OpenAPI file and method pages, Block Kit limits)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from sandbox.slack_fake import BOT_TOKEN, Channel, SlackFake
from sandbox.slack_fake.events import home_view_of, record_share, unfurls_of
from sandbox.slack_fake.links import on_domains, urls_in

DEAL_URL = "https://app.gohighlevel.com/v2/location/L1/opportunities/list?opportunityId=o1"
BLOCKS = [{"type": "section", "text": {"type": "mrkdwn", "text": "*12 Oak St* · score 93"}}]


@pytest.fixture
def client(slack_fake: SlackFake) -> WebClient:
    return WebClient(token=BOT_TOKEN, base_url=slack_fake.api_url)


def _error(slack_fake: SlackFake, error: str, method: str, call: Any) -> dict[str, Any]:
    slack_fake.expect_rejection(error, method=method)
    with pytest.raises(SlackApiError) as raised:
        call()
    body = raised.value.response.data
    assert body["error"] == error, body
    return body


# -- what Slack sends link_shared for -------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"see {DEAL_URL}", [DEAL_URL]),
        (f"<{DEAL_URL}|the deal> and again <{DEAL_URL}>", [DEAL_URL]),
        ("https://example.com/x and https://evil-app.gohighlevel.com.example.org/y", []),
        ("https://eu.app.gohighlevel.com/v2/location/L1/contacts/detail/c1", [
            "https://eu.app.gohighlevel.com/v2/location/L1/contacts/detail/c1"]),
        ("no link here", []),
    ],
)  # fmt: skip
def test_only_links_on_the_apps_domains_are_shared(text: str, expected: list[str]) -> None:
    assert on_domains(urls_in(text), ["app.gohighlevel.com"]) == expected


def test_a_message_without_the_apps_links_sends_no_event(slack_fake: SlackFake) -> None:
    shared = record_share(slack_fake, text="lunch? https://example.com/menu")
    assert shared.event is None and shared.unfurl_id is None
    assert [m.text for m in slack_fake.messages("C0DEALS")] == ["lunch? https://example.com/menu"]


# -- chat.unfurl ------------------------------------------------------------------------------


def test_unfurl_by_unfurl_id_and_source_replaces_never_adds(
    client: WebClient, slack_fake: SlackFake
) -> None:
    shared = record_share(slack_fake, text=f"look {DEAL_URL}", user_id="U0AGENT01")
    assert shared.event is not None and shared.event["links"] == [
        {"domain": "app.gohighlevel.com", "url": DEAL_URL}
    ]
    args = {"unfurl_id": shared.unfurl_id, "source": "conversations_history"}
    assert client.chat_unfurl(unfurls={DEAL_URL: {"blocks": BLOCKS}}, **args)["ok"]
    again = [{"type": "context", "elements": [{"type": "mrkdwn", "text": "claimed"}]}]
    assert client.chat_unfurl(unfurls={DEAL_URL: {"blocks": again}}, **args)["ok"]
    [(url, unfurl)] = unfurls_of(slack_fake, shared.unfurl_id).items()
    assert url == DEAL_URL and unfurl["blocks"][0]["type"] == "context"


def test_unfurl_by_channel_and_ts_and_from_the_composer(
    client: WebClient, slack_fake: SlackFake
) -> None:
    posted = record_share(slack_fake, text=DEAL_URL)
    assert client.chat_unfurl(channel="C0DEALS", ts=posted.message_ts,
                              unfurls={DEAL_URL: {"blocks": BLOCKS}})["ok"]  # fmt: skip
    composing = record_share(slack_fake, text=DEAL_URL, source="composer")
    assert composing.channel == "COMPOSER"
    assert client.chat_unfurl(unfurl_id=composing.unfurl_id, source="composer",
                              unfurls={DEAL_URL: {"blocks": BLOCKS}})["ok"]  # fmt: skip
    assert unfurls_of(slack_fake, composing.unfurl_id)[DEAL_URL]["blocks"][0]["block_id"]


def test_unfurl_refuses_what_slack_refuses(client: WebClient, slack_fake: SlackFake) -> None:
    shared = record_share(slack_fake, text=DEAL_URL)
    ok_unfurls = {DEAL_URL: {"blocks": BLOCKS}}
    target = {"unfurl_id": shared.unfurl_id, "source": "conversations_history"}

    def call(**args: Any) -> Any:
        return lambda: client.api_call("chat.unfurl", json=args)

    body = _error(slack_fake, "invalid_arguments", "chat.unfurl", call(unfurls=ok_unfurls))
    assert "missing required field: channel" in json.dumps(body)
    _error(slack_fake, "invalid_arguments", "chat.unfurl",
           call(unfurl_id=shared.unfurl_id, unfurls=ok_unfurls))  # fmt: skip
    _error(slack_fake, "missing_unfurls", "chat.unfurl", call(**target))
    _error(slack_fake, "invalid_unfurls_format", "chat.unfurl", call(unfurls="{not json", **target))
    _error(slack_fake, "invalid_unfurls_format", "chat.unfurl", call(unfurls=[1], **target))
    other = "https://app.gohighlevel.com/v2/location/L1/contacts/detail/c2"
    _error(slack_fake, "cannot_unfurl_url", "chat.unfurl",
           call(unfurls={other: {"blocks": BLOCKS}}, **target))  # fmt: skip
    unknown = {"unfurl_id": "C0DEALS.1.nope", "source": "conversations_history"}
    _error(slack_fake, "cannot_unfurl_url", "chat.unfurl", call(unfurls=ok_unfurls, **unknown))
    too_many = {DEAL_URL: {"blocks": [{"type": "divider"}] * 51}}
    body = _error(slack_fake, "invalid_arguments", "chat.unfurl", call(unfurls=too_many, **target))
    assert "no more than 50 items allowed" in json.dumps(body)
    _error(slack_fake, "cannot_find_channel", "chat.unfurl",
           call(channel="C0NOPE", ts="1.000001", unfurls=ok_unfurls))  # fmt: skip
    _error(slack_fake, "cannot_find_message", "chat.unfurl",
           call(channel="C0DEALS", ts="1.000001", unfurls=ok_unfurls))  # fmt: skip
    in_general = record_share(slack_fake, text=DEAL_URL, channel_id="C0GENERAL")
    _error(slack_fake, "no_permission", "chat.unfurl",
           call(channel="C0GENERAL", ts=in_general.message_ts, unfurls=ok_unfurls))  # fmt: skip
    assert unfurls_of(slack_fake, shared.unfurl_id) == {}  # nothing refused was kept


# -- views.publish ----------------------------------------------------------------------------


def _home(blocks: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "home", "blocks": blocks}


def test_publish_a_home_tab_and_replace_it(client: WebClient, slack_fake: SlackFake) -> None:
    first = client.views_publish(user_id="U0AGENT01", view=_home(BLOCKS))["view"]
    assert first["type"] == "home" and first["blocks"][0]["block_id"]
    second = client.views_publish(user_id="U0AGENT01", view=_home(BLOCKS * 1), hash=first["hash"])
    assert second["view"]["id"] == first["id"]  # one Home tab per person, replaced in place
    assert home_view_of(slack_fake, "U0AGENT01") == second["view"]
    assert home_view_of(slack_fake, "U0AGENT02") is None


def test_publish_refuses_what_slack_refuses(client: WebClient, slack_fake: SlackFake) -> None:
    def call(**args: Any) -> Any:
        return lambda: client.api_call("views.publish", json=args)

    _error(slack_fake, "invalid_arguments", "views.publish", call(view=_home(BLOCKS)))
    _error(slack_fake, "invalid_arguments", "views.publish", call(user_id="U0AGENT01"))
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "x"}, "blocks": BLOCKS}
    _error(slack_fake, "invalid_arguments", "views.publish", call(user_id="U0AGENT01", view=modal))
    divider = {"type": "divider"}
    body = _error(slack_fake, "invalid_arguments", "views.publish",
                  call(user_id="U0AGENT01", view=_home([divider] * 101)))  # fmt: skip
    assert "no more than 100 items allowed [json-pointer:/view/blocks]" in json.dumps(body)
    assert client.views_publish(user_id="U0AGENT01", view=_home([divider] * 100))["ok"]
    long_text = {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}
    _error(slack_fake, "invalid_arguments", "views.publish",
           call(user_id="U0AGENT01", view=_home([long_text])))  # fmt: skip
    _error(slack_fake, "user_not_found", "views.publish",
           call(user_id="U0NOBODY", view=_home(BLOCKS)))  # fmt: skip
    _error(slack_fake, "user_not_found", "views.publish",
           call(user_id=slack_fake.config.bot_user_id, view=_home(BLOCKS)))  # fmt: skip
    _error(slack_fake, "hash_conflict", "views.publish",
           call(user_id="U0AGENT01", view=_home(BLOCKS), hash="1.stale"))  # fmt: skip
    assert len(home_view_of(slack_fake, "U0AGENT01")["blocks"]) == 100  # refusals kept nothing


def test_a_bot_outside_the_channel_is_told_so(slack_fake: SlackFake) -> None:
    slack_fake.add_channel(Channel("C0PRIV", "private-deals", members={"U0AGENT01"}))
    shared = record_share(slack_fake, text=DEAL_URL, channel_id="C0PRIV")
    assert shared.event is not None and shared.event["is_bot_user_member"] is False


def test_the_fakes_state_shows_home_tabs_and_previews(
    client: WebClient, slack_fake: SlackFake
) -> None:
    shared = record_share(slack_fake, text=DEAL_URL)
    client.chat_unfurl(unfurl_id=shared.unfurl_id, source="conversations_history",
                       unfurls={DEAL_URL: {"blocks": BLOCKS}})  # fmt: skip
    client.views_publish(user_id="U0AGENT01", view=_home(BLOCKS))
    state = slack_fake.snapshot()
    assert state["home_views"]["U0AGENT01"]["type"] == "home"
    [shown] = state["unfurls"]
    assert (shown["channel"], shown["message_ts"]) == ("C0DEALS", shared.message_ts)
    assert list(shown["unfurls"]) == [DEAL_URL]
