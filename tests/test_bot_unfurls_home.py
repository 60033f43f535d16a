"""Link previews and the Home tab end to end: signed `link_shared` and `app_home_opened`
callbacks from the Slack driver to the bot on waitress, the bot's `chat.unfurl` and
`views.publish` to the strict Slack fake, GHL in the emulator, a real SQLite store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from bot.slack import blocks
from sandbox.ghl_emulator import DEMO_LOCATION_ID, Emulator
from sandbox.slack_fake import SlackFake
from sandbox.slack_fake.events import (
    click_unfurl_button,
    event_callback,
    home_view_of,
    open_app_home,
    record_share,
    send_event,
    share_link,
    unfurls_of,
)
from store.db import session_scope
from store.deals import get_opportunity_link
from tests.fixtures.bot import BotWorld, build_bot_world, wait_for

GHL = "https://app.gohighlevel.com"


def as_text(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def deal_link(world: BotWorld, mls_id: str = "TPA-1001") -> Any:
    with session_scope(world.engine, readonly=True) as session:
        link = get_opportunity_link(session=session, mls_id=mls_id, location_id=DEMO_LOCATION_ID)
    assert link is not None
    return link


def drained(world: BotWorld) -> BotWorld:
    """Let every piece of work after the acks finish (so "nothing happened" is final)."""
    world.finish()
    return world


def buttons(blocks_: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    found = {}
    for block in blocks_:
        for element in [*block.get("elements", []), block.get("accessory") or {}]:
            if element.get("type") == "button":
                found[element["action_id"]] = element
    return found


# -- link previews ----------------------------------------------------------------------------


def test_a_pasted_deal_link_unfurls_once_into_the_deal_card(bot_world: BotWorld) -> None:
    bot_world.add_deal("TPA-1001")
    url = bot_world.ghl.opportunity_url(deal_link(bot_world).opportunity_id)  # "Open in GHL"
    shared = share_link(bot_world.driver, text=f"what about this one? {url}", user_id="U0AGENT01")
    assert shared.delivery is not None and shared.delivery.acked_in_time

    unfurls = wait_for(lambda: unfurls_of(bot_world.slack, shared.unfurl_id), what="a preview")
    assert list(unfurls) == [url]
    card = unfurls[url]["blocks"]
    text = as_text(card)
    for shown in ("4812 W Bay Vista Ave", "score 93", "$265,000", "Maria Lopez", "nobody yet"):
        assert shown in text, shown
    assert "Priority Review" in text  # the stage, by its GHL name
    found = buttons(card)
    assert found[blocks.CLAIM]["value"] == "TPA-1001"
    assert found[blocks.OPEN_IN_GHL]["url"] == url

    # Slack retries the callback (same event_id): still one preview, one call.
    assert shared.delivery.payload is not None
    send_event(bot_world.driver, shared.delivery.payload, retry_num=1)
    [call] = drained(bot_world).slack.calls_to("chat.unfurl")
    assert (
        call.args["unfurl_id"] == shared.unfurl_id
        and call.args["source"] == "conversations_history"
    )


def test_a_contact_link_unfurls_its_deal_and_an_unknown_record_says_so(
    bot_world: BotWorld,
) -> None:
    bot_world.add_deal("TPA-1001")
    contact = deal_link(bot_world).contact_id
    ours = f"{GHL}/v2/location/{DEMO_LOCATION_ID}/contacts/detail/{contact}"
    stranger = f"{GHL}/v2/location/{DEMO_LOCATION_ID}/contacts/detail/not-a-deal-contact"
    elsewhere = f"{GHL}/v2/location/OTHERLOC/contacts/detail/{contact}"
    shared = share_link(bot_world.driver, text=f"{ours}\n{stranger}\n{elsewhere}")

    unfurls = wait_for(lambda: unfurls_of(bot_world.slack, shared.unfurl_id), what="previews")
    assert set(unfurls) == {ours, stranger}  # another location's link is left alone
    assert "4812 W Bay Vista Ave" in as_text(unfurls[ours])
    assert "Not a DealFinder deal" in as_text(unfurls[stranger])
    assert len(drained(bot_world).slack.calls_to("chat.unfurl")) == 1


def test_claim_from_a_preview_claims_in_ghl_and_updates_the_preview(bot_world: BotWorld) -> None:
    bot_world.add_deal("TPA-1001")
    link = deal_link(bot_world)
    url = bot_world.ghl.opportunity_url(link.opportunity_id)
    shared = share_link(bot_world.driver, text=url, user_id="U0AGENT02")
    wait_for(lambda: unfurls_of(bot_world.slack, shared.unfurl_id), what="the preview")

    click = click_unfurl_button(bot_world.driver, shared, url, blocks.CLAIM, user_id="U0AGENT01")
    assert click.acked_in_time
    bot_world.wait_for_ephemeral("U0AGENT01", "You claimed `TPA-1001`")
    james = next(u.id for u in bot_world.emulator.state.users.values()
                 if u.email == "james.carter@example.com")  # fmt: skip
    assert bot_world.emulator.state.opportunities[link.opportunity_id].assigned_to == james
    # The preview is sent again for the same link (replaced, not added) and names the claimer.
    updated = wait_for(
        lambda: "<@U0AGENT01>" in as_text(unfurls_of(bot_world.slack, shared.unfurl_id)),
        what="the preview to show the claim",
    )
    assert updated
    assert "James Carter" in as_text(unfurls_of(bot_world.slack, shared.unfurl_id)[url])
    calls = drained(bot_world).slack.calls_to("chat.unfurl")
    assert len(calls) == 2 and {c.args["unfurl_id"] for c in calls} == {shared.unfurl_id}


@pytest.fixture
def guarded_world(
    slack_fake: SlackFake, seeded_emulator: Emulator, sqlite_engine: Engine, tmp_path: Path
) -> Iterator[BotWorld]:
    """A team whose roles file names only some people: everyone else has no role."""
    roles = tmp_path / "roles.json"
    roles.write_text(json.dumps({
        "default_role": "none",
        "users": {"U0AGENT01": "agent", "U0BROKER1": "broker"},
        "ghl_users": {"U0BROKER1": "maria.lopez@example.com"},
    }))  # fmt: skip
    world = build_bot_world(slack=slack_fake, emulator=seeded_emulator, engine=sqlite_engine,
                            DEALFINDER_ROLES_FILE=str(roles))  # fmt: skip
    yield world
    world.http.stop()
    world.finish()
    world.ghl.close()


def test_a_person_who_may_not_see_deals_gets_no_preview(guarded_world: BotWorld) -> None:
    guarded_world.add_deal("TPA-1001")
    url = guarded_world.ghl.opportunity_url(deal_link(guarded_world).opportunity_id)
    shared = share_link(guarded_world.driver, text=url, user_id="U0AGENT02")  # no role
    assert shared.delivery is not None and shared.delivery.acked_in_time
    assert drained(guarded_world).slack.calls_to("chat.unfurl") == []
    assert unfurls_of(guarded_world.slack, shared.unfurl_id) == {}


def test_no_preview_in_a_channel_shared_with_other_organisations(bot_world: BotWorld) -> None:
    bot_world.add_deal("TPA-1001")
    url = bot_world.ghl.opportunity_url(deal_link(bot_world).opportunity_id)
    shared = record_share(bot_world.slack, text=url, user_id="U0AGENT01")
    assert shared.event is not None
    callback = event_callback(bot_world.slack, shared.event) | {"is_ext_shared_channel": True}
    assert send_event(bot_world.driver, callback).acked_in_time
    assert drained(bot_world).slack.calls_to("chat.unfurl") == []


@pytest.mark.slow  # over 0.5 s: the full run only (README, 'fast lane')
def test_a_forged_link_shared_is_refused_and_unfurls_nothing(bot_world: BotWorld) -> None:
    bot_world.add_deal("TPA-1001")
    url = bot_world.ghl.opportunity_url(deal_link(bot_world).opportunity_id)
    links = [{"domain": "app.gohighlevel.com", "url": url}]
    event = {"type": "link_shared", "channel": "C0DEALS", "user": "U0AGENT01",
             "message_ts": "1.000001", "links": links}  # fmt: skip
    sent = send_event(bot_world.driver, event_callback(bot_world.slack, event),
                      tamper="bad_signature")  # fmt: skip
    assert sent.status == 401
    assert drained(bot_world).slack.calls_to("chat.unfurl") == []


# -- the Home tab -----------------------------------------------------------------------------


def published(world: BotWorld, user_id: str) -> list[dict[str, Any]]:
    return [c.args for c in world.slack.calls_to("views.publish") if c.args["user_id"] == user_id]


def test_opening_home_publishes_my_claimed_deals(bot_world: BotWorld) -> None:
    bot_world.add_deal("TPA-1001")
    [card] = wait_for(bot_world.channel_messages, what="the hot-deal card")
    assert open_app_home(bot_world.driver, user_id="U0AGENT01").acked_in_time
    [empty] = wait_for(lambda: published(bot_world, "U0AGENT01"), what="a publish on open")
    assert "Your claimed deals (0)" in as_text(empty["view"])

    bot_world.clock.advance(minutes=1)  # past the per-person debounce window
    bot_world.driver.click_button(card, blocks.CLAIM, value="TPA-1001", user_id="U0AGENT01")
    bot_world.wait_for_ephemeral("U0AGENT01", "You claimed `TPA-1001`")
    # The claim refreshed the claimer's open tab at once (a change of theirs).
    wait_for(lambda: len(published(bot_world, "U0AGENT01")) == 2, what="a publish on the claim")
    assert "Your claimed deals (1)" in as_text(published(bot_world, "U0AGENT01")[-1]["view"])

    bot_world.clock.advance(minutes=1)
    assert open_app_home(bot_world.driver, user_id="U0AGENT01").acked_in_time
    wait_for(lambda: len(published(bot_world, "U0AGENT01")) == 3, what="a publish on open")
    view = home_view_of(bot_world.slack, "U0AGENT01")
    assert view is not None and view["type"] == "home" and len(view["blocks"]) <= 100
    text = as_text(view["blocks"])
    assert "Your claimed deals (1)" in text and "4812 W Bay Vista Ave" in text
    assert "Today's hot deals (1)" in text
    assert "Pipeline by stage (1 open deals)" in text and "Priority Review: *1*" in text
    assert "Tasks due for you" in text and "GHL health" in text
    assert "Waiting for a person" not in text  # agents do not see the outbox

    # Someone who claimed nothing sees their empty list, and a broker sees what waits.
    open_app_home(bot_world.driver, user_id="U0BROKER1")
    wait_for(lambda: published(bot_world, "U0BROKER1"), what="the broker's tab")
    broker = as_text(home_view_of(bot_world.slack, "U0BROKER1"))
    assert "Your claimed deals (0)" in broker and "Waiting for a person (0)" in broker


def test_the_home_tab_is_published_at_most_once_per_window(bot_world: BotWorld) -> None:
    home = bot_world.services.home
    assert home is not None
    home.min_interval = 0.3  # real seconds, so the trailing publish comes quickly
    for _ in range(3):  # a burst of changes
        home.request("U0AGENT02")
    # ">=": a slow poll may first look after the trailing publish (0.3 s later) landed too.
    wait_for(lambda: len(published(bot_world, "U0AGENT02")) >= 1, what="the first publish")
    wait_for(lambda: len(published(bot_world, "U0AGENT02")) >= 2, what="the trailing publish")
    assert len(published(drained(bot_world), "U0AGENT02")) == 2  # three requests, two publishes


def test_a_person_without_a_role_or_ghl_user_is_told_how_to_fix_it(
    guarded_world: BotWorld,
) -> None:
    open_app_home(guarded_world.driver, user_id="U0AGENT02")  # not on the team list
    open_app_home(guarded_world.driver, user_id="U0AGENT01")  # an agent with no GHL user
    for user_id in ("U0AGENT02", "U0AGENT01"):
        wait_for(lambda u=user_id: published(guarded_world, u), what=f"{user_id}'s tab")
    outsider = as_text(home_view_of(guarded_world.slack, "U0AGENT02"))
    assert "does not list you as a team member" in outsider and "claimed deals" not in outsider
    agent = as_text(home_view_of(guarded_world.slack, "U0AGENT01"))
    assert "not linked to a GHL user" in agent and "ghl_users" in agent


def test_an_event_without_unfurl_id_is_answered_by_channel_and_ts(bot_world: BotWorld) -> None:
    # Events from before Slack's 2021 change name the message only; the preview still lands.
    bot_world.add_deal("TPA-1001")
    url = bot_world.ghl.opportunity_url(deal_link(bot_world).opportunity_id)
    shared = record_share(bot_world.slack, text=url, user_id="U0AGENT01")
    assert shared.event is not None
    old_style = {k: v for k, v in shared.event.items() if k not in ("unfurl_id", "source")}
    assert send_event(bot_world.driver, event_callback(bot_world.slack, old_style)).acked_in_time
    wait_for(lambda: unfurls_of(bot_world.slack, shared.unfurl_id), what="the preview")
    [call] = drained(bot_world).slack.calls_to("chat.unfurl")
    assert (call.args["channel"], call.args["ts"]) == ("C0DEALS", shared.message_ts)


def test_the_events_url_answers_slacks_url_verification(bot_world: BotWorld) -> None:
    # What Slack sends when the manifest's event_subscriptions.request_url is saved (HTTP mode).
    challenge = {"token": "x", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
                 "type": "url_verification"}  # fmt: skip
    sent = bot_world.driver.post_signed(
        json.dumps(challenge).encode(), content_type="application/json"
    )
    assert sent.status == 200 and sent.json() == {"challenge": challenge["challenge"]}


def test_the_home_tab_lists_my_open_ghl_tasks_soonest_first(bot_world: BotWorld) -> None:
    bot_world.add_deal("TPA-1001")  # Tampa's owner is Maria Lopez, the broker's GHL user
    maria = next(u.id for u in bot_world.emulator.state.users.values()
                 if u.email == "maria.lopez@example.com")  # fmt: skip
    mine = [t for t in bot_world.emulator.state.tasks.values()
            if t.assigned_to == maria and not t.completed]  # fmt: skip
    assert mine  # the deal pipeline gave her tasks in GHL
    open_app_home(bot_world.driver, user_id="U0BROKER1")
    wait_for(lambda: published(bot_world, "U0BROKER1"), what="the broker's tab")
    text = as_text(home_view_of(bot_world.slack, "U0BROKER1"))
    assert f"Tasks due for you ({len(mine)})" in text
    for task in mine:
        assert task.title.removesuffix(" — TPA-1001") in text
    assert bot_world.emulator.count("GET", "/contacts/{contactId}/tasks") >= 1
