"""Slack and several locations (issue 14): a channel bound to a location makes commands act
on it, an admin may name a location, and cards say which location when there are several.
The real bot over HTTP, the Slack fake, the GHL emulator with two seeded locations."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from bot.slack.locations import location_services_factory, split_location
from ghl.client import GHLClient
from sandbox.slack_fake import SlackFake
from sandbox.slack_fake.state import Channel
from services.property import PropertyRecord
from store.db import session_scope
from store.installs import record_install
from store.locations import update_location
from tests.fixtures.bot import BotWorld, build_bot_world, deal_row

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
BAY_TOKEN = "emu-bay-token"


@pytest.fixture
def agency_bot(slack_fake: SlackFake, seeded_emulator, sqlite_engine) -> Iterator[BotWorld]:
    """The bot for loc_demo, with loc_b installed too: its own channel #deals-bay, own data."""
    seeded_emulator.seed_demo(buyers=5, seed=2, location_id="loc_b")
    seeded_emulator.state.tokens[BAY_TOKEN] = "loc_b"
    members = {"U0ADMIN01", "U0BROKER1", "U0AGENT01", slack_fake.config.bot_user_id}
    slack_fake.add_channel(Channel("C0DEALSBAY", "deals-bay", members=members))
    with session_scope(sqlite_engine) as s:
        record_install(session=s, location_id="loc_b", now=NOW, name="Bay Team")
        update_location(
            session=s, location_id="loc_b", settings={"channels": {"deals": "C0DEALSBAY"}}
        )
        update_location(session=s, location_id="loc_demo", name="Demo Realty")
    world = build_bot_world(
        slack=slack_fake, emulator=seeded_emulator, engine=sqlite_engine,
        GHL_LOCATION_ID="loc_demo",
    )  # fmt: skip

    def bay_client(settings, location_id, *, engine):  # the app install's, in production
        assert location_id == "loc_b"
        return GHLClient(token=BAY_TOKEN, location_id="loc_b", base_url=seeded_emulator.url)

    desks = world.services.locations
    assert desks is not None
    desks.build = location_services_factory(
        world.services, world.services.alerts.client, client_for=bay_client
    )
    yield world
    world.http.stop()
    world.finish()
    world.ghl.close()


def _hot(world: BotWorld, user: str, channel: str, text: str = "hot") -> str:
    before = len(world.ephemerals(user))
    world.driver.slash_command(text=text, user_id=user, channel_id=channel)

    def answered() -> str | None:
        fresh = world.ephemerals(user)[before:]
        done = [m for m in fresh if "Hot deals today" in str(m.blocks) or "No hot" in m.text]
        return str(done[-1].blocks) if done else None

    from tests.fixtures.bot import wait_for

    return wait_for(answered, what=f"/deal {text} in {channel}")


def test_each_location_has_its_cards_channel_and_commands(agency_bot):
    world = agency_bot
    world.add_deal("TPA-1001")  # loc_demo, hot
    bay = world.services.locations.services_for("loc_b")  # type: ignore[union-attr]
    bay.actions.add(PropertyRecord.parse(deal_row("BAY-2001", city="Oakland", state="CA")))

    demo_card = world.channel_messages("C0DEALS")
    bay_card = world.channel_messages("C0DEALSBAY")
    assert len(demo_card) == 1 and len(bay_card) == 1
    assert "Location: Demo Realty (loc_demo)" in str(demo_card[0].blocks)
    assert "Location: Bay Team (loc_b)" in str(bay_card[0].blocks)
    assert bay_card[0].text.endswith("(Bay Team (loc_b))")
    # each deal went to its own location in GHL, and only there
    by_location = {
        loc: {o.name for o in world.emulator.state.opportunities.values() if o.location_id == loc}
        for loc in ("loc_demo", "loc_b")
    }
    assert any("4812 W Bay Vista" in n for n in by_location["loc_b"])
    assert len(by_location["loc_demo"]) == 1 and len(by_location["loc_b"]) == 1

    in_bay = _hot(world, "U0BROKER1", "C0DEALSBAY")
    assert "BAY-2001" in in_bay and "TPA-1001" not in in_bay
    in_deals = _hot(world, "U0BROKER1", "C0DEALS")
    assert "TPA-1001" in in_deals and "BAY-2001" not in in_deals
    named = _hot(world, "U0ADMIN01", "C0DEALS", "hot --location loc_b")
    assert "BAY-2001" in named and "TPA-1001" not in named


def test_naming_a_location_is_for_admins_and_active_locations(agency_bot):
    world = agency_bot
    world.driver.slash_command(text="hot --location loc_b", user_id="U0AGENT01")
    refused = world.wait_for_ephemeral("U0AGENT01", ":no_entry: Only")
    assert "name another location" in refused.text
    world.driver.slash_command(text="hot --location loc_zz", user_id="U0ADMIN01")
    unknown = world.wait_for_ephemeral("U0ADMIN01", "no active location")
    assert "`loc_b`" in unknown.text and "`loc_demo`" in unknown.text


def test_a_single_location_bot_names_no_location(bot_world):
    bot_world.add_deal("TPA-1001")
    (card,) = bot_world.channel_messages("C0DEALS")
    assert "Location:" not in str(card.blocks) and "loc_demo" not in card.text


@pytest.mark.parametrize(
    ("text", "split"),
    [
        ("hot", ("hot", None)),
        ("hot --location loc_b", ("hot", "loc_b")),
        ("--location=loc_b show TPA-1", ("show TPA-1", "loc_b")),
        ("show TPA-1 --location  loc_b extra", ("show TPA-1 extra", "loc_b")),
    ],
)
def test_split_location(text, split):
    assert split_location(text) == split


def test_a_locations_own_roles_decide_in_its_channel(agency_bot, tmp_path):
    world = agency_bot
    roles = tmp_path / "bay_roles.json"
    roles.write_text('{"default_role": "none", "users": {"U0ADMIN01": "admin"}}')
    with session_scope(world.engine) as s:  # before loc_b's services are first built
        update_location(session=s, location_id="loc_b", settings={"roles_file": str(roles)})
    world.driver.slash_command(text="hot", user_id="U0BROKER1", channel_id="C0DEALSBAY")
    refused = world.wait_for_ephemeral("U0BROKER1", ":no_entry: Only")
    assert "you are not on the team list" in refused.text
    assert "No hot deals yet today" in _hot(world, "U0ADMIN01", "C0DEALSBAY")
    # the same broker in the default location's channel keeps the deployment's roles
    assert "No hot deals yet today" in _hot(world, "U0BROKER1", "C0DEALS")


def _field(blocks, label: str) -> str:
    """A card's field value ("*Stage*\nNew Lead" -> "New Lead")."""
    blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
    for block in blocks:
        for item in block.get("fields") or []:
            if item["text"].startswith(f"*{label}*\n"):
                return item["text"].split("\n", 1)[1]
    raise AssertionError(f"no {label} field in the card")


def test_another_locations_alert_is_posted_and_kept_current_by_its_own_location(agency_bot):
    """A hot deal of loc_b queued by a process without Slack (an import, a worker): the
    default location's poster never takes it; serve's recovery job posts it in loc_b's
    channel, rendered from loc_b's GHL; its refreshes go through loc_b too."""
    from bot.ops.jobs import JOB_SLACK_CARDS, JOB_SLACK_RECOVER
    from services.ghl_map import GHLMapSource
    from services.hot_alerts import alert_state, mark_cards_changed
    from services.pipeline.core import DealPipeline

    world = agency_bot
    bay = world.services.locations.services_for("loc_b")  # type: ignore[union-attr]
    no_slack = DealPipeline(  # as `dealfinder import` or a worker without SLACK_BOT_TOKEN
        bay.ghl, world.engine, bay.config, GHLMapSource(bay.ghl, bay.config).get(),
        rules=bay.rules, clock=world.clock,
    )  # fmt: skip
    queued = no_slack.process(PropertyRecord.parse(deal_row("BAY-2001", city="Oakland")))
    assert queued.hot and queued.alert == "queued"

    world.add_deal("TPA-1001")  # loc_demo posts its own card: it drains only its own alerts
    assert len(world.channel_messages("C0DEALS")) == 1
    assert world.channel_messages("C0DEALSBAY") == []
    assert alert_state(world.engine, location_id="loc_b", mls_id="BAY-2001") == "queued"

    assert world.runtime.ops.scheduler.run_now(JOB_SLACK_RECOVER) == "ok"
    (card,) = world.channel_messages("C0DEALSBAY")
    assert "Location: Bay Team (loc_b)" in str(card.blocks)
    assert _field(card.blocks, "Stage") != "—"  # rendered with loc_b's opportunity
    assert len(world.channel_messages("C0DEALS")) == 1  # nothing of loc_b's in loc_demo's
    assert alert_state(world.engine, location_id="loc_b", mls_id="BAY-2001") == "posted"

    updates = len(world.slack.calls_to("chat.update"))
    mark_cards_changed(world.engine, ["BAY-2001"], now=world.clock())
    world.clock.advance(seconds=5)
    assert world.runtime.ops.scheduler.run_now(JOB_SLACK_CARDS) == "ok"
    [update] = world.slack.calls_to("chat.update")[updates:]
    assert update.args["channel"] == "C0DEALSBAY" and update.args["ts"] == card.ts
    assert "Location: Bay Team (loc_b)" in str(update.args["blocks"])
    assert _field(update.args["blocks"], "Stage") == _field(card.blocks, "Stage")

    opportunity = next(
        o for o in world.emulator.state.opportunities.values() if o.location_id == "loc_b"
    )
    assert world.services.alerts.refresh_opportunity(opportunity.id)  # a loc_b webhook's refresh
    assert world.slack.calls_to("chat.update")[-1].args["channel"] == "C0DEALSBAY"


def test_one_listing_worked_by_two_locations_is_each_ones_own(agency_bot):
    """The same listing imported at loc_demo and at loc_b: each has its own card in its own
    channel naming it, each keeps it in its hot list, and a change updates both cards."""
    from bot.ops.jobs import JOB_SLACK_CARDS
    from services.hot_alerts import mark_cards_changed

    world = agency_bot
    world.add_deal("TPA-1001")
    bay = world.services.locations.services_for("loc_b")  # type: ignore[union-attr]
    bay.actions.add(PropertyRecord.parse(deal_row("TPA-1001")))

    (demo_card,) = world.channel_messages("C0DEALS")
    (bay_card,) = world.channel_messages("C0DEALSBAY")
    assert "Location: Demo Realty (loc_demo)" in str(demo_card.blocks)
    assert "Location: Bay Team (loc_b)" in str(bay_card.blocks)
    assert "TPA-1001" in _hot(world, "U0BROKER1", "C0DEALS")
    assert "TPA-1001" in _hot(world, "U0BROKER1", "C0DEALSBAY")

    updates = len(world.slack.calls_to("chat.update"))
    mark_cards_changed(world.engine, ["TPA-1001"], now=world.clock())
    world.clock.advance(seconds=5)
    assert world.runtime.ops.scheduler.run_now(JOB_SLACK_CARDS) == "ok"
    updated = {c.args["channel"]: c.args for c in world.slack.calls_to("chat.update")[updates:]}
    assert set(updated) == {"C0DEALS", "C0DEALSBAY"}
    assert "Location: Demo Realty (loc_demo)" in str(updated["C0DEALS"]["blocks"])
    assert "Location: Bay Team (loc_b)" in str(updated["C0DEALSBAY"]["blocks"])


def test_a_locations_deals_are_not_found_from_another(agency_bot):
    world = agency_bot
    bay = world.services.locations.services_for("loc_b")  # type: ignore[union-attr]
    bay.actions.add(PropertyRecord.parse(deal_row("BAY-2001", city="Oakland", state="CA")))
    assert bay.desk.find("BAY-2001") == ["BAY-2001"]
    assert bay.desk.find("Bay Vista") == ["BAY-2001"]
    assert world.services.desk.find("BAY-2001") == []  # loc_demo's desk: not its deal
    assert world.services.desk.find("Bay Vista") == []
