"""The bot end to end over HTTP: signed slash commands from the Slack driver, the real bot on
waitress, the GHL emulator behind it. The fake records what the bot said; the emulator what
changed in GHL."""

from __future__ import annotations

import json

import pytest

from sandbox.slack_fake import SlackFake
from tests.fixtures.bot import BotWorld, wait_for

ADD_LINE = (
    "TPA-1001 | 4812 W Bay Vista Ave | Tampa | FL | 33611 | 265000 | 3 | 93 | dana@example.com"
)


def as_text(blocks: object) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def opportunities_named(world: BotWorld, mls_id: str) -> list:
    return [o for o in world.emulator.state.opportunities.values() if o.name.startswith(mls_id)]


def test_help_and_usage_are_answered_in_the_ack(bot_world: BotWorld) -> None:
    sent = bot_world.driver.slash_command(text="help", user_id="U0AGENT01")
    assert sent.acked_in_time and sent.json()["response_type"] == "ephemeral"
    assert "/deal match MLS-ID" in sent.json()["text"]
    bad = bot_world.driver.slash_command(text="match", user_id="U0AGENT01")
    assert bad.acked_in_time
    assert bad.json()["text"].endswith("Usage: `/deal match MLS-ID [how-many, 1-25]`")
    unknown = bot_world.driver.slash_command(command="/ghl", text="reboot", user_id="U0AGENT01")
    assert (
        "not a /ghl subcommand" in unknown.json()["text"]
        and "/ghl validate" in unknown.json()["text"]
    )
    shown = [m.text for m in bot_world.ephemerals("U0AGENT01")]
    assert len(shown) == 3 and all("Usage" in t or "commands" in t for t in shown)


@pytest.mark.parametrize("tamper", ["bad_signature", "stale", "no_signature"])
def test_unsigned_or_stale_requests_are_rejected(bot_world: BotWorld, tamper: str) -> None:
    sent = bot_world.driver.slash_command(text="hot", user_id="U0AGENT01", tamper=tamper)  # type: ignore[arg-type]
    assert sent.status == 401
    card = {"type": "actions", "elements": [{"type": "button", "action_id": "deal_claim",
            "text": {"type": "plain_text", "text": "Claim"}, "value": "TPA-1001"}]}  # fmt: skip
    posted = bot_world.services.alerts.client.chat_postMessage(
        channel="C0DEALS", text="x", blocks=[card]
    )
    message = bot_world.slack.find_message("C0DEALS", posted["ts"])
    assert message is not None
    click = bot_world.driver.click_button(message, "deal_claim", tamper=tamper)  # type: ignore[arg-type]
    assert click.status == 401
    bot_world.finish()
    assert bot_world.ephemerals("U0AGENT01") == []
    assert bot_world.slack.calls_to("response_url") == []


def test_add_one_line_creates_the_deal_in_ghl_and_alerts_brokers(bot_world: BotWorld) -> None:
    sent = bot_world.driver.slash_command(text=f"add {ADD_LINE}", user_id="U0AGENT01")
    assert sent.acked_in_time
    answer = bot_world.wait_for_ephemeral("U0AGENT01", "created in GHL")
    [opp] = opportunities_named(bot_world, "TPA-1001")
    text = as_text(answer.blocks)
    assert "Priority Review" in text and "Maria Lopez" in text
    assert "Review hot deal — TPA-1001" in text
    assert f"opportunityId={opp.id}" in text  # the Open in GHL link
    [card] = wait_for(lambda: bot_world.channel_messages(), what="the hot-deal alert")
    assert card.blocks[0]["block_id"] == "deal:TPA-1001"
    assert "4812 W Bay Vista Ave" in card.text
    # Again: the same deal is found, not created twice; the card is updated, not re-posted.
    bot_world.driver.slash_command(text=f"add {ADD_LINE}", user_id="U0AGENT01")
    bot_world.wait_for_ephemeral("U0AGENT01", "already in GHL, unchanged")
    assert len(opportunities_named(bot_world, "TPA-1001")) == 1
    assert len(bot_world.channel_messages()) == 1


def test_add_with_a_bad_field_answers_with_the_usage(bot_world: BotWorld) -> None:
    sent = bot_world.driver.slash_command(
        text="add " + ADD_LINE.replace("33611", "3361X"), user_id="U0AGENT01"
    )
    assert "zip" in sent.json()["text"] and "Usage: `/deal add" in sent.json()["text"]
    bot_world.finish()
    assert opportunities_named(bot_world, "TPA-1001") == []


def test_the_add_form_validates_inline_then_saves(bot_world: BotWorld) -> None:
    sent = bot_world.driver.slash_command(text="add", user_id="U0AGENT02")
    assert sent.acked_in_time and not sent.response.content  # the ack says nothing
    [view] = wait_for(lambda: bot_world.slack.views("U0AGENT02"), what="the add form")
    values = {
        "mls_id": {"mls_id": "PHX-77"}, "address": {"address": "900 N Central Ave"},
        "city": {"city": "Phoenix"}, "state": {"state": "AZ"}, "zip": {"zip": "8500"},
        "list_price": {"list_price": "$310,000"}, "deal_score": {"deal_score": "82"},
        "seller_contact": {"seller_contact": "not-a-phone"},
    }  # fmt: skip
    refused = bot_world.driver.submit_view(view, values, user_id="U0AGENT02")
    errors = refused.json()["errors"]
    assert refused.json()["response_action"] == "errors"
    assert set(errors) == {"zip", "seller_contact"} and "ZIP" in errors["zip"]
    assert bot_world.slack.views("U0AGENT02")  # still open, showing the errors
    values["zip"] = {"zip": "85004"}
    values["seller_contact"] = {"seller_contact": "seller@example.com"}
    saved = bot_world.driver.submit_view(view, values, user_id="U0AGENT02")
    assert saved.acked_in_time and not bot_world.slack.views("U0AGENT02")
    bot_world.wait_for_ephemeral("U0AGENT02", "PHX-77` created in GHL")
    [opp] = opportunities_named(bot_world, "PHX-77")
    assert opp.monetary_value == 310_000


def test_show_finds_a_deal_by_mls_id_or_address(bot_world: BotWorld) -> None:
    bot_world.add_deal()
    bot_world.driver.slash_command(text="show TPA-1001", user_id="U0AGENT01")
    card = bot_world.wait_for_ephemeral("U0AGENT01", "deal:TPA-1001")
    text = as_text(card.blocks)
    for expected in ("Priority Review", "Maria Lopez", "$265,000", "Top matched buyers",
                     "Open tasks", "deal_claim"):  # fmt: skip
        assert expected in text
    bot_world.driver.slash_command(text="show bay vista", user_id="U0AGENT02")
    bot_world.wait_for_ephemeral("U0AGENT02", "deal:TPA-1001")
    bot_world.driver.slash_command(text="show 1 Nowhere Rd", user_id="U0AGENT02")
    bot_world.wait_for_ephemeral("U0AGENT02", "No deal matches `1 Nowhere Rd`")


def test_show_still_answers_from_the_store_when_ghl_fails(bot_world: BotWorld) -> None:
    bot_world.add_deal()
    bot_world.emulator.queue_fault("GET", "/opportunities/*", "server_error", times=10)
    bot_world.driver.slash_command(text="show TPA-1001", user_id="U0AGENT01")
    card = bot_world.wait_for_ephemeral("U0AGENT01", "deal:TPA-1001", timeout=30)
    text = as_text(card.blocks)
    assert "GHL could not be read" in text and "Priority Review" in text  # the stored stage


def test_match_lists_buyers_with_reasons_freshness_and_exclusions(bot_world: BotWorld) -> None:
    # Tampa buyers lose their SMS consent tag in GHL: still matched, but never texted.
    for contact in bot_world.emulator.state.contacts.values():
        if contact.extra.get("city") == "Tampa":
            contact.tags = [t for t in contact.tags if t != "sms_opt_in"]
    bot_world.sync_buyers()
    bot_world.add_deal()
    bot_world.driver.slash_command(text="match TPA-1001 3", user_id="U0AGENT01")
    answer = bot_world.wait_for_ephemeral("U0AGENT01", "Buyers for `TPA-1001`")
    text = as_text(answer.blocks)
    assert "budget 40/40" in text and "location 30/30" in text
    assert "buyers synced 0 min ago" in text
    assert "*Not texted (" in text
    assert "— has not agreed to texts: no SMS consent tag (sms_opt_in) in GHL" in text
    assert "no_opt_in" not in text
    bot_world.driver.slash_command(text="match NOPE-1", user_id="U0AGENT01")
    bot_world.wait_for_ephemeral("U0AGENT01", "No deal matches `NOPE-1`")


@pytest.mark.slow  # over 0.5 s: the full run only (README, 'fast lane')
def test_hot_lists_todays_hot_deals_only(bot_world: BotWorld) -> None:
    bot_world.add_deal("TPA-1")
    bot_world.add_deal("TPA-2", deal_score=60, address="1 Cold St")
    bot_world.driver.slash_command(text="hot", user_id="U0AGENT01")
    answer = bot_world.wait_for_ephemeral("U0AGENT01", "Hot deals today")
    text = as_text(answer.blocks)
    assert "TPA-1" in text and "TPA-2" not in text and "(Fri 15 Jan): 1" in text


def test_ghl_health_and_validate(bot_world: BotWorld) -> None:
    bot_world.driver.slash_command(command="/ghl", text="health", user_id="U0AGENT01")
    health = bot_world.wait_for_ephemeral("U0AGENT01", "GHL is healthy")
    assert "DealFinder Demo Realty" in as_text(health.blocks)
    assert "Rate-limit headroom: burst" in as_text(health.blocks)
    refused = bot_world.driver.slash_command(command="/ghl", text="validate", user_id="U0AGENT01")
    assert "Only brokers and admins can validate GHL" in refused.json()["text"]
    bot_world.driver.slash_command(command="/ghl", text="validate", user_id="U0BROKER1")
    report = bot_world.wait_for_ephemeral("U0BROKER1", "matches the mapping")
    assert "pipeline" in as_text(report.blocks)


def test_ghl_down_is_said_with_its_state(bot_world: BotWorld, slack_fake: SlackFake) -> None:
    bot_world.emulator.queue_fault("GET", "/locations/*", "server_error", times=20)
    bot_world.driver.slash_command(command="/ghl", text="health", user_id="U0AGENT01")
    answer = bot_world.wait_for_ephemeral("U0AGENT01", "GHL is down", timeout=60)
    assert "unreachable or failing" in as_text(answer.blocks)
