"""Editing a deal from Slack end to end (issue 15): signed requests from the Slack driver to
the bot on waitress, GHL in the emulator. Each edit is checked against the clicker's role when
the work runs, done in GHL, recorded in the card's thread, and the card is updated in place."""

from __future__ import annotations

import json
from pathlib import Path

from bot.slack import blocks_edit as edit
from sandbox.slack_fake import Message
from sandbox.slack_fake.payloads import block_actions_payload, button_action, form_body
from sandbox.slack_fake.view_state import find_element
from tests.fixtures.bot import BotWorld, wait_for
from tests.fixtures.people import (
    current,
    ghl_user_id,
    hot_card,
    opportunity,
    stage_name,
    thread_texts,
)
from tests.test_bot_authz import GatedWork


def stale_click(
    world: BotWorld, card: Message, action_id: str, *, user_id: str, action: dict | None = None
) -> None:
    """Slack's request for a click on `card` as it was when first posted (signed); `action`:
    a hand-made `actions[0]` instead (a forged request)."""
    fake = world.slack
    user, channel = fake.store.workspace.users[user_id], fake.store.workspace.channels[card.channel]
    element, block_id = find_element(card.blocks, action_id)
    payload = block_actions_payload(
        config=fake.config, user=user, channel=channel, message=card,
        action=action or button_action(element=element, block_id=block_id, action_ts="1.0"),
        response_url=fake.new_response_url(channel_id=channel.id, user_id=user_id,
                                           message_ts=card.ts),
        trigger_id=fake.issue_trigger_id(user_id=user_id),
    )  # fmt: skip
    sent = world.driver.post_signed(form_body({"payload": json.dumps(payload)}), payload=payload)
    assert sent.status == 200


def as_text(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def test_the_stage_select_moves_the_deal_in_ghl_and_says_so_in_the_thread(
    people_world: BotWorld,
) -> None:
    world = people_world
    card = hot_card(world)
    before = stage_name(world, opportunity(world))
    assert before != "Under Contract"
    click = world.driver.choose(card, edit.STAGE_SELECT, "Under Contract", user_id="U0AGENT01")
    assert click.acked_in_time
    world.wait_for_ephemeral("U0AGENT01", "to *Under Contract* in GHL")
    assert stage_name(world, opportunity(world)) == "Under Contract"
    [entry] = wait_for(lambda: thread_texts(world, card), what="the thread entry")
    assert "<@U0AGENT01> moved the deal to stage *Under Contract*" in entry

    # The card, updated in place, shows the new stage as the select's current option.
    def shown() -> str | None:
        blocks = current(world, card).blocks
        row = next(b for b in blocks if b.get("block_id") == "edit:TPA-1001")
        return (row["elements"][0].get("initial_option") or {}).get("value")

    wait_for(lambda: shown() == "Under Contract", what="the card to show the stage")
    assert len(world.channel_messages()) == 1


def test_deal_stage_command_matches_the_stage_name_case_insensitively(
    people_world: BotWorld,
) -> None:
    world = people_world
    card = hot_card(world)
    world.driver.slash_command(text="stage TPA-1001 showing   BOOKED", user_id="U0AGENT01")
    world.wait_for_ephemeral("U0AGENT01", "to *Showing Booked* in GHL")
    assert stage_name(world, opportunity(world)) == "Showing Booked"
    wait_for(lambda: any("Showing Booked" in t for t in thread_texts(world, card)),
             what="the thread entry")  # fmt: skip


def test_an_unknown_stage_gets_the_usage_and_the_valid_names_and_changes_nothing(
    people_world: BotWorld,
) -> None:
    world = people_world
    hot_card(world)
    before = stage_name(world, opportunity(world))
    puts = world.emulator.count("PUT", "/opportunities/{id}")
    world.driver.slash_command(text="stage TPA-1001 Negotiating", user_id="U0AGENT01")
    answer = world.wait_for_ephemeral("U0AGENT01", "is not a stage of the pipeline")
    assert (
        "`Under Contract`" in answer.text
        and "Usage: `/deal stage MLS-ID STAGE NAME`" in answer.text
    )
    assert stage_name(world, opportunity(world)) == before
    assert world.emulator.count("PUT", "/opportunities/{id}") == puts
    # The stage name missing altogether: usage in the ack, nothing runs.
    world.driver.slash_command(text="stage TPA-1001", user_id="U0AGENT01")
    world.wait_for_ephemeral("U0AGENT01", "the stage name is missing")


def test_reassign_makes_the_selected_users_ghl_user_the_owner(people_world: BotWorld) -> None:
    world = people_world
    card = hot_card(world)
    james = ghl_user_id(world, "james.carter@example.com")
    assert opportunity(world).assigned_to != james  # type: ignore[attr-defined]
    # U0AGENT01's Slack email is James's GHL email: the match the refresh job stored.
    world.driver.choose(card, edit.OWNER_SELECT, "U0AGENT01", user_id="U0BROKER1")
    world.wait_for_ephemeral("U0BROKER1", "James Carter now owns `TPA-1001` in GHL")
    assert opportunity(world).assigned_to == james  # type: ignore[attr-defined]
    wait_for(lambda: any("<@U0BROKER1> made James Carter the owner" in t
                         for t in thread_texts(world, card)), what="the thread entry")  # fmt: skip
    wait_for(lambda: "James Carter" in as_text(current(world, card).blocks), what="the owner")


def test_reassign_to_a_slack_user_without_a_ghl_user_says_how_to_fix_it(
    people_world: BotWorld,
) -> None:
    world = people_world
    card = hot_card(world)
    owner = opportunity(world).assigned_to  # type: ignore[attr-defined]
    world.driver.choose(card, edit.OWNER_SELECT, "U0AGENT02", user_id="U0BROKER1")
    answer = world.wait_for_ephemeral("U0BROKER1", "does not know which GHL user that is")
    assert "<@U0AGENT02>'s Slack email (bea@dealfinder.example)" in answer.text
    assert "same email in Slack and in GHL" in answer.text and "ghl_users" in answer.text
    assert opportunity(world).assigned_to == owner  # type: ignore[attr-defined]
    assert thread_texts(world, card) == []


def test_won_and_lost_ask_for_confirmation_and_are_for_brokers(people_world: BotWorld) -> None:
    world = people_world
    card = hot_card(world)
    row = next(b for b in card.blocks if b.get("block_id") == "edit:TPA-1001")
    buttons = {e["action_id"]: e for e in row["elements"] if e["type"] == "button"}
    assert buttons[edit.MARK_WON]["confirm"]["confirm"]["text"] == "Mark won"
    assert buttons[edit.MARK_LOST]["confirm"]["style"] == "danger"

    world.driver.click_button(card, edit.MARK_WON, user_id="U0AGENT01")
    world.wait_for_ephemeral("U0AGENT01", "Only brokers and admins can mark deals won or lost")
    assert opportunity(world).status == "open"  # type: ignore[attr-defined]

    world.driver.click_button(card, edit.MARK_LOST, user_id="U0BROKER1")
    world.wait_for_ephemeral("U0BROKER1", "Marked `TPA-1001` *lost* in GHL")
    assert opportunity(world).status == "lost"  # type: ignore[attr-defined]
    wait_for(lambda: any("<@U0BROKER1> marked the deal *lost*" in t
                         for t in thread_texts(world, card)), what="the thread entry")  # fmt: skip
    # Once lost, the card shows it and offers no Won / Lost any more.
    updated = wait_for(lambda: "GHL status: lost" in as_text(current(world, card).blocks)
                       and current(world, card), what="the card to show lost")  # fmt: skip
    assert edit.MARK_WON not in as_text(updated.blocks)


def test_mark_won_from_a_card(people_world: BotWorld) -> None:
    world = people_world
    card = hot_card(world)
    world.driver.click_button(card, edit.MARK_WON, value="TPA-1001", user_id="U0ADMIN01")
    world.wait_for_ephemeral("U0ADMIN01", "Marked `TPA-1001` *won* in GHL")
    assert opportunity(world).status == "won"  # type: ignore[attr-defined]
    wait_for(lambda: thread_texts(world, card), what="the thread entry")
    wait_for(lambda: edit.MARK_WON not in as_text(current(world, card).blocks),
             what="the card without Won")  # fmt: skip
    # A second click on a copy of the card from before (a stale client, a double click) changes
    # and records nothing more.
    puts = world.emulator.count("PUT", "/opportunities/{id}/status")
    stale_click(world, card, edit.MARK_WON, user_id="U0ADMIN01")
    world.wait_for_ephemeral("U0ADMIN01", "is already marked won; nothing changed")
    world.finish()
    assert world.emulator.count("PUT", "/opportunities/{id}/status") == puts
    assert len(thread_texts(world, card)) == 1


def test_a_user_without_the_role_is_refused_and_ghl_is_unchanged(people_world: BotWorld) -> None:
    world = people_world
    card = hot_card(world)
    opp = opportunity(world)
    before = (opp.assigned_to, opp.status, opp.stage_id)  # type: ignore[attr-defined]
    puts = world.emulator.count("PUT", "/opportunities/{id}")
    world.driver.choose(card, edit.OWNER_SELECT, "U0AGENT01", user_id="U0AGENT02")
    world.wait_for_ephemeral("U0AGENT02", "Only brokers and admins can reassign deals")
    world.driver.click_button(card, edit.MARK_LOST, user_id="U0AGENT02")
    world.wait_for_ephemeral("U0AGENT02", "Only brokers and admins can mark deals won or lost")
    world.finish()
    opp = opportunity(world)
    assert (opp.assigned_to, opp.status, opp.stage_id) == before  # type: ignore[attr-defined]
    assert world.emulator.count("PUT", "/opportunities/{id}") == puts
    assert thread_texts(world, card) == []


def test_the_note_modal_saves_a_ghl_note_on_the_deals_contact(people_world: BotWorld) -> None:
    world = people_world
    card = hot_card(world)
    world.driver.click_button(card, edit.ADD_NOTE, user_id="U0AGENT01")
    [view] = wait_for(lambda: world.slack.views("U0AGENT01"), what="the note modal")
    assert view["callback_id"] == edit.NOTE_FORM
    note = "Seller wants to close by May <!channel>"
    sent = world.driver.submit_view(view, {edit.NOTE_BLOCK: {edit.NOTE_BLOCK: note}},
                                    user_id="U0AGENT01")  # fmt: skip
    assert sent.acked_in_time
    world.wait_for_ephemeral("U0AGENT01", "Note saved in GHL")
    contact_id = opportunity(world).contact_id  # type: ignore[attr-defined]
    [saved] = [n for n in world.emulator.state.notes.values()
               if n.contact_id == contact_id and n.body.startswith("Seller")]  # fmt: skip
    assert saved.body.startswith(note) and "TPA-1001" in saved.body
    assert saved.user_id == ghl_user_id(world, "james.carter@example.com")  # the author
    [entry] = wait_for(lambda: thread_texts(world, card), what="the thread entry")
    assert "<@U0AGENT01> added a note" in entry
    assert "&lt;!channel&gt;" in entry and "<!channel>" not in entry  # shown literally


def test_an_empty_note_keeps_the_modal_open_and_saves_nothing(people_world: BotWorld) -> None:
    world = people_world
    card = hot_card(world)
    world.driver.click_button(card, edit.ADD_NOTE, user_id="U0AGENT01")
    [view] = wait_for(lambda: world.slack.views("U0AGENT01"), what="the note modal")
    notes = len(world.emulator.state.notes)
    sent = world.driver.submit_view(view, {edit.NOTE_BLOCK: {edit.NOTE_BLOCK: "   "}},
                                    user_id="U0AGENT01")  # fmt: skip
    assert json.loads(sent.body)["response_action"] == "errors"
    world.finish()
    assert len(world.emulator.state.notes) == notes
    assert world.slack.views("U0AGENT01") == [view]  # still open, with the error under it


def test_a_deal_without_a_card_records_the_edit_in_its_replies_thread(
    people_world: BotWorld,
) -> None:
    world = people_world
    result = world.add_deal("TPA-2002", deal_score=75)  # a good deal: GHL opportunity, no card
    assert result.opportunity_id and world.channel_messages() == []
    world.driver.slash_command(text="stage TPA-2002 Under Contract", user_id="U0AGENT01")
    world.wait_for_ephemeral("U0AGENT01", "Moved `TPA-2002` to *Under Contract* in GHL")
    assert stage_name(world, opportunity(world, "TPA-2002")) == "Under Contract"
    [start] = wait_for(world.channel_messages, what="the deal's replies thread")
    assert "TPA-2002" in as_text(start.blocks) or "TPA-2002" in start.text
    [entry] = wait_for(lambda: thread_texts(world, start), what="the thread entry")
    assert "<@U0AGENT01> moved the deal to stage *Under Contract*" in entry
    # The next edit joins the same thread.
    world.driver.slash_command(text="stage TPA-2002 closed", user_id="U0AGENT01")
    wait_for(lambda: len(thread_texts(world, start)) == 2, what="the second entry")
    assert "<@U0AGENT01> moved the deal to stage *Closed*" in thread_texts(world, start)[1]
    assert len(world.channel_messages()) == 1


def test_forged_select_values_get_a_clear_answer_and_change_nothing(
    people_world: BotWorld,
) -> None:
    world = people_world
    card = hot_card(world)
    opp = opportunity(world)
    before = (opp.assigned_to, opp.stage_id)  # type: ignore[attr-defined]
    forged_stage = {"action_id": edit.STAGE_SELECT, "block_id": "edit:TPA-1001",
                    "type": "static_select", "action_ts": "1.0",
                    "selected_option": {"text": {"type": "plain_text", "text": "x"},
                                        "value": "<!channel> Sold"}}  # fmt: skip
    stale_click(world, card, edit.STAGE_SELECT, user_id="U0AGENT01", action=forged_stage)
    answer = world.wait_for_ephemeral("U0AGENT01", "is not a stage of the pipeline")
    assert "&lt;!channel&gt; Sold" in answer.text and "<!channel>" not in answer.text
    forged_owner = {"action_id": edit.OWNER_SELECT, "block_id": "edit:NOPE-1",
                    "type": "users_select", "action_ts": "1.0",
                    "selected_user": "U0AGENT01"}  # fmt: skip
    stale_click(world, card, edit.OWNER_SELECT, user_id="U0BROKER1", action=forged_owner)
    world.wait_for_ephemeral("U0BROKER1", "No deal `NOPE-1` in DealFinder")
    world.finish()
    opp = opportunity(world)
    assert (opp.assigned_to, opp.stage_id) == before  # type: ignore[attr-defined]
    assert thread_texts(world, card) == []


def test_the_role_is_checked_when_the_work_runs_not_only_at_the_click(
    people_world: BotWorld, tmp_path: Path
) -> None:
    world = people_world
    card = hot_card(world)
    before = stage_name(world, opportunity(world))
    gate = GatedWork(world.services.work)
    world.services.work = gate  # type: ignore[assignment]
    sent = world.driver.choose(card, edit.STAGE_SELECT, "Under Contract", user_id="U0AGENT01")
    assert sent.acked_in_time  # the ack saw an agent
    wait_for(lambda: gate.pending, what="the work after the ack")
    roles = json.loads((tmp_path / "roles.json").read_text(encoding="utf-8"))
    roles |= {"default_role": "none", "users": {"U0ADMIN01": "admin"}}  # the agent is gone
    (tmp_path / "roles.json").write_text(json.dumps(roles), encoding="utf-8")
    gate.release()
    world.wait_for_ephemeral("U0AGENT01", "Only team members can move deals between stages")
    world.finish()
    assert stage_name(world, opportunity(world)) == before
    assert thread_texts(world, card) == []
