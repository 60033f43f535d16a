"""The hot-deal message's buttons end to end: clicks signed by the Slack driver, the bot on
waitress, GHL in the emulator. Claim assigns the opportunity in GHL, Notify texts buyers after
a confirmation (brokers only), Pass is recorded, and the message is updated in place."""

from __future__ import annotations

import json

from bot.slack import blocks
from sandbox.slack_fake import Message
from tests.fixtures.bot import BotWorld, wait_for


def as_text(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def user_id_of(world: BotWorld, email: str) -> str:
    return next(u.id for u in world.emulator.state.users.values() if u.email == email)


def hot_card(world: BotWorld) -> Message:
    """Add a hot deal and return its message in #deals."""
    world.add_deal("TPA-1001")
    [card] = wait_for(world.channel_messages, what="the hot-deal message")
    return card


def current(world: BotWorld, message: Message) -> Message:
    found = world.slack.find_message(message.channel, message.ts)
    assert found is not None
    return found


def opportunity(world: BotWorld) -> object:
    return next(o for o in world.emulator.state.opportunities.values()
                if o.name.startswith("TPA-1001"))  # fmt: skip


def test_claim_assigns_the_deal_in_ghl_and_updates_the_message(bot_world: BotWorld) -> None:
    card = hot_card(bot_world)
    assert opportunity(bot_world).assigned_to == user_id_of(bot_world, "maria.lopez@example.com")
    click = bot_world.driver.click_button(card, blocks.CLAIM, value="TPA-1001",
                                          user_id="U0AGENT01")  # fmt: skip
    assert click.acked_in_time
    bot_world.wait_for_ephemeral("U0AGENT01", "You claimed `TPA-1001`")
    james = user_id_of(bot_world, "james.carter@example.com")
    assert opportunity(bot_world).assigned_to == james
    assert bot_world.emulator.count("PUT", "/opportunities/{id}") >= 1
    updated = wait_for(lambda: "<@U0AGENT01>" in as_text(current(bot_world, card).blocks),
                       what="the message to show the claim")  # fmt: skip
    assert updated
    assert "James Carter" in as_text(current(bot_world, card).blocks)  # owner, read from GHL

    # Another agent cannot take it; a broker can.
    bot_world.driver.click_button(card, blocks.CLAIM, user_id="U0AGENT02")
    bot_world.wait_for_ephemeral("U0AGENT02", "is claimed by <@U0AGENT01>")
    assert opportunity(bot_world).assigned_to == james
    bot_world.driver.click_button(card, blocks.CLAIM, user_id="U0BROKER1")
    bot_world.wait_for_ephemeral("U0BROKER1", "You took `TPA-1001` over from <@U0AGENT01>")
    assert opportunity(bot_world).assigned_to == user_id_of(bot_world, "maria.lopez@example.com")
    assert len(bot_world.channel_messages()) == 1  # updated in place, never re-posted


def test_notify_is_for_brokers_and_texts_buyers_after_confirmation(bot_world: BotWorld) -> None:
    card = hot_card(bot_world)
    bot_world.driver.click_button(card, blocks.NOTIFY, user_id="U0AGENT01")
    bot_world.wait_for_ephemeral("U0AGENT01", "Only brokers and admins can text buyers")
    assert bot_world.emulator.state.messages == []

    bot_world.driver.click_button(card, blocks.NOTIFY, user_id="U0BROKER1")
    confirm = bot_world.wait_for_ephemeral("U0BROKER1", "Nothing is sent until you confirm")
    assert "Texted now" in as_text(confirm.blocks)
    assert bot_world.emulator.state.messages == []  # the preview sends nothing

    click = bot_world.driver.click_button(confirm, blocks.NOTIFY_CONFIRM, user_id="U0BROKER1")
    assert click.acked_in_time
    done = bot_world.wait_for_ephemeral("U0BROKER1", "Buyers notified")
    assert "texted now" in done.text
    texts = bot_world.emulator.state.messages
    assert texts and all("4812 W Bay Vista Ave" in t.body for t in texts)
    # The confirmation was replaced by the outcome, not answered beside it.
    assert bot_world.slack.find_message(confirm.channel, confirm.ts).text == done.text  # type: ignore[union-attr]
    wait_for(lambda: f"{len(texts)} texted" in as_text(current(bot_world, card).blocks),
             what="the message to count the texts")  # fmt: skip

    # The buttons are gone; asking again shows everyone as done, and a repeated confirm (a
    # double click that slipped through) texts nobody twice.
    again = bot_world.slack.find_message(confirm.channel, confirm.ts)
    assert again is not None and "actions" not in {b["type"] for b in again.blocks}
    bot_world.driver.slash_command(text="notify TPA-1001", user_id="U0BROKER1")
    second = bot_world.wait_for_ephemeral("U0BROKER1", "Already texted or queued")
    assert "actions" not in {b["type"] for b in second.blocks}
    repeated = bot_world.services.actions.notify("TPA-1001")
    assert repeated is not None and repeated.enqueued.queued == []
    assert len(bot_world.emulator.state.messages) == len(texts)


def test_cancel_texts_nobody(bot_world: BotWorld) -> None:
    bot_world.add_deal("TPA-1001")
    bot_world.driver.slash_command(text="notify TPA-1001", user_id="U0ADMIN01")
    confirm = bot_world.wait_for_ephemeral("U0ADMIN01", "Nothing is sent until you confirm")
    bot_world.driver.click_button(confirm, blocks.NOTIFY_CANCEL, user_id="U0ADMIN01")
    bot_world.wait_for_ephemeral("U0ADMIN01", "Cancelled: no buyer was texted")
    bot_world.finish()
    assert bot_world.emulator.state.messages == []


def test_pass_is_recorded_and_shown(bot_world: BotWorld) -> None:
    card = hot_card(bot_world)
    bot_world.driver.click_button(card, blocks.SKIP_DEAL, user_id="U0AGENT01")
    bot_world.wait_for_ephemeral("U0AGENT01", "Only brokers and admins can pass on deals")
    bot_world.driver.click_button(card, blocks.SKIP_DEAL, user_id="U0BROKER1")
    bot_world.wait_for_ephemeral("U0BROKER1", "you passed on `TPA-1001`")
    wait_for(lambda: "Passed by <@U0BROKER1>" in as_text(current(bot_world, card).blocks),
             what="the pass on the message")  # fmt: skip
    assert bot_world.services.actions.marks("TPA-1001")["passed_by"] == ["U0BROKER1"]


def test_open_in_ghl_is_a_link_whose_click_is_only_acked(bot_world: BotWorld) -> None:
    card = hot_card(bot_world)
    click = bot_world.driver.click_button(card, blocks.OPEN_IN_GHL, user_id="U0AGENT01")
    assert click.acked_in_time
    bot_world.finish()
    assert bot_world.ephemerals("U0AGENT01") == []


def test_an_unknown_button_is_acked_and_answered_with_the_commands(bot_world: BotWorld) -> None:
    old = blocks.actions(blocks.button("Approve (v0)", "approve_deal_v0", value="TPA-1"))
    posted = bot_world.services.alerts.client.chat_postMessage(
        channel="C0DEALS", text="an old message", blocks=[old]
    )
    message = bot_world.slack.find_message("C0DEALS", posted["ts"])
    assert message is not None
    click = bot_world.driver.click_button(message, "approve_deal_v0", user_id="U0AGENT01")
    assert click.acked_in_time
    answer = bot_world.wait_for_ephemeral("U0AGENT01", "older version of DealFinder")
    assert "/deal help" in answer.text


def test_a_stage_moved_in_ghl_shows_on_the_message(bot_world: BotWorld) -> None:
    card = hot_card(bot_world)
    opp = opportunity(bot_world)
    pipeline = next(iter(bot_world.emulator.state.pipelines.values()))
    opp.stage_id = next(s.id for s in pipeline.stages if s.name == "Under Contract")
    # What the operations' opportunity webhook does when GHL reports the change:
    assert bot_world.services.alerts.refresh_opportunity(opp.id) is True
    assert "Under Contract" in as_text(current(bot_world, card).blocks)
    assert bot_world.services.alerts.refresh_opportunity("no-such-opportunity") is False
    assert len(bot_world.channel_messages()) == 1
