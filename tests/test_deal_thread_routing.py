"""Routing by market and each deal's one thread, end to end: the real bot between the Slack
fake and the GHL emulator over HTTP, a mapping with a `slack_routing` section, GHL's signed
webhooks into the bot's `/ghl/webhooks`.

A Florida deal's card goes to #deals-fl and a Texas deal's to the default channel; a reply
about a Florida deal goes to the Florida channel's thread; a claim, a stage move (signed
webhook) and a notify batch each add one entry to the deal's single thread.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.slack.deal_thread import record_in_deal_thread
from bot.slack.reply_threads import thread_key
from bot.web.webhook_verify import SignatureVerifier
from bot.web.webhooks import make_webhook_app, process_webhook_events
from sandbox.ghl_emulator import Emulator
from sandbox.ghl_emulator.webhook_keys import TEST_PUBLIC_KEY
from sandbox.slack_fake import SlackFake
from sandbox.slack_fake.state import Channel
from services.config import DEFAULT_MAPPING
from services.ghl_map import GHLMap
from store import state as store_state
from store.db import session_scope
from tests.fixtures.bot import BotWorld, build_bot_world
from tests.fixtures.events import simulate

FL_CHANNEL = "C0DEALSFL"
OPS_CHANNEL = "C0OPSROUTED"
ROUTING = {
    "events": {"ops": "#ops-routed"},
    "markets": [
        {"state": "FL", "channels": {"hot_deal": "#deals-fl", "buyer_reply": "#deals-fl"}},
    ],
}
TEXAS = {"address": "900 Congress Ave", "city": "Austin", "state": "TX", "zip": "78701"}


@pytest.fixture
def routed(
    slack_fake: SlackFake, seeded_emulator: Emulator, sqlite_engine: Engine, tmp_path: Path
) -> Iterator[BotWorld]:
    """The bot with a mapping that sends Florida's hot deals and replies to #deals-fl."""
    everyone = set(slack_fake.store.workspace.users)
    slack_fake.add_channel(Channel(FL_CHANNEL, "deals-fl", members=everyone))
    slack_fake.add_channel(Channel(OPS_CHANNEL, "ops-routed", members=everyone))
    mapping = json.loads(DEFAULT_MAPPING.read_text(encoding="utf-8"))
    path = tmp_path / "mapping.json"
    path.write_text(json.dumps(mapping | {"slack_routing": ROUTING}), encoding="utf-8")
    world = build_bot_world(
        slack=slack_fake, emulator=seeded_emulator, engine=sqlite_engine,
        DEALFINDER_MAPPING_FILE=str(path),
    )  # fmt: skip
    world.sync_buyers()
    yield world
    world.http.stop()
    world.finish()
    world.ghl.close()


def cards_in(world: BotWorld, channel: str, mls_id: str) -> list:
    return [m for m in world.slack.messages(channel) if f"deal:{mls_id}" in str(m.blocks)]


def thread_texts(world: BotWorld, channel: str, ts: str) -> list[str]:
    return [m.text for m in world.slack.replies(channel, ts)]


def test_a_florida_deal_goes_to_deals_fl_and_a_texas_deal_to_the_default(routed: BotWorld):
    routed.add_deal("TPA-1")
    routed.add_deal("AUS-1", **TEXAS)
    assert len(cards_in(routed, FL_CHANNEL, "TPA-1")) == 1
    assert cards_in(routed, "C0DEALS", "TPA-1") == []
    assert len(cards_in(routed, "C0DEALS", "AUS-1")) == 1
    assert cards_in(routed, FL_CHANNEL, "AUS-1") == []
    # A re-run updates the card where it is (no second post in either channel).
    routed.add_deal("TPA-1", list_price=255_000)
    assert len(cards_in(routed, FL_CHANNEL, "TPA-1")) == 1


def _texted_contact(world: BotWorld, mls_id: str) -> str:
    from sqlmodel import col, select

    from store.models import SmsLog

    with session_scope(world.engine, readonly=True) as session:
        row = session.exec(
            select(SmsLog).where(SmsLog.mls_id == mls_id, col(SmsLog.message_id).is_not(None))
        ).first()
    assert row is not None, f"nobody was texted about {mls_id}"
    return row.contact_id


def test_a_reply_about_a_florida_deal_without_a_card_goes_to_the_fl_replies_thread(
    routed: BotWorld,
):
    routed.add_deal("TPA-2", deal_score=80)  # good, not hot: no card
    assert cards_in(routed, FL_CHANNEL, "TPA-2") == []
    assert routed.services.actions.notify("TPA-2") is not None
    contact = _texted_contact(routed, "TPA-2")
    handlers = routed.runtime.ops.context.handlers
    body = {"type": "InboundMessage", "locationId": routed.ghl.location_id,
            "contactId": contact, "body": "Still available?", "messageType": "SMS",
            "direction": "inbound", "messageId": "m-fl-1"}  # fmt: skip
    outcome = handlers.handle("InboundMessage", body, routed.clock())
    assert FL_CHANNEL in outcome, outcome
    (start,) = [
        m for m in routed.slack.messages(FL_CHANNEL) if thread_key("TPA-2") in str(m.blocks)
    ]
    texts = thread_texts(routed, FL_CHANNEL, start.ts)
    assert texts[0].startswith("SMS batch:")  # the notify's entry started the deal's thread
    assert "Still available?" in texts[-1]
    assert not [m for m in routed.slack.messages("C0DEALS") if "TPA-2" in str(m.blocks)]


def _webhooks_into_the_bot(world: BotWorld, serve_wsgi) -> None:
    verifier = SignatureVerifier.from_settings(public_key=TEST_PUBLIC_KEY, legacy_rsa=False)
    url = serve_wsgi(make_webhook_app(engine=world.engine, verifier=verifier)) + "/ghl/webhooks"
    world.emulator.webhooks.url = url
    world.emulator.webhooks.jitter_s = 0.0


@pytest.mark.slow  # over 0.5 s: the full run only (README, 'fast lane')
def test_claim_stage_move_and_notify_each_add_one_entry_to_the_deal_s_one_thread(
    routed: BotWorld, serve_wsgi
):
    world = routed
    world.add_deal("TPA-3")
    (card,) = cards_in(world, FL_CHANNEL, "TPA-3")
    actions = world.services.actions

    claim = actions.claim(
        "TPA-3", actor="U0BROKER1", ghl_email="maria.lopez@example.com", override=True
    )
    assert claim.ok
    assert thread_texts(world, FL_CHANNEL, card.ts) == ["<@U0BROKER1> claimed the deal"]
    # Clicking Claim again on one's own deal adds nothing.
    actions.claim("TPA-3", actor="U0BROKER1", ghl_email="maria.lopez@example.com", override=True)
    assert len(thread_texts(world, FL_CHANNEL, card.ts)) == 1

    # A stage moved in GHL: its signed webhook reaches the bot, the job processes it.
    _webhooks_into_the_bot(world, serve_wsgi)
    ghl_map = GHLMap.resolve(world.ghl, world.services.config)
    with session_scope(world.engine, readonly=True) as session:
        from store.deals import get_opportunity_link

        link = get_opportunity_link(
            session=session, mls_id="TPA-3", location_id=world.ghl.location_id
        )
    assert link is not None
    simulate(world, "opportunity", id=link.opportunity_id,
             stageId=ghl_map.stage_ids["contract"], deliver=True)  # fmt: skip
    handlers = world.runtime.ops.context.handlers
    process_webhook_events(engine=world.engine, handlers=handlers, now=datetime.now(UTC))
    texts = thread_texts(world, FL_CHANNEL, card.ts)
    names = {ghl_map.stage_ids[key]: name for key, name in ghl_map.stage_names.items()}
    assert texts[1] == f"In GHL: stage {names[link.stage_id]} → Under Contract", texts
    # GHL delivers the same event again (its retry): nothing new in the thread.
    with session_scope(world.engine) as session:
        from sqlmodel import select

        from store.models import WebhookEvent

        event = session.exec(select(WebhookEvent)).one()
        webhook_id = event.payload["webhookId"]
    handlers.handle("OpportunityStageUpdate", dict(event.payload), world.clock())
    assert len(thread_texts(world, FL_CHANNEL, card.ts)) == 2
    with session_scope(world.engine, readonly=True) as session:
        assert store_state.get_sync_state(
            session=session, key=f"slack_reply:entry:stage:{webhook_id}"
        )

    outcome = actions.notify("TPA-3")
    assert outcome is not None
    texts = thread_texts(world, FL_CHANNEL, card.ts)
    assert len(texts) == 3 and texts[2].startswith("SMS batch: ")
    sent = outcome.delivered.counts.get("sent", 0)
    assert f"{sent} texted now" in texts[2]

    # Another feature's entry, escaped, with the actor's mention.
    record_in_deal_thread(world.services, "TPA-3", "Note: <!channel> & more", actor="U0AGENT01")
    assert thread_texts(world, FL_CHANNEL, card.ts)[3] == (
        "<@U0AGENT01>: Note: &lt;!channel&gt; &amp; more"
    )
    # All of it in the card's thread: no replies thread was started anywhere.
    for channel in (FL_CHANNEL, "C0DEALS"):
        assert not [m for m in world.slack.messages(channel) if "replies:TPA-3" in str(m.blocks)]


def test_ops_alerts_go_to_the_routed_ops_channel(routed: BotWorld):
    post_ops = routed.runtime.ops.context.post_ops
    assert post_ops("GHL is down") is True
    assert [m.text for m in routed.slack.messages(OPS_CHANNEL)] == ["GHL is down"]
    assert routed.slack.messages("C0OPS") == []


def test_a_stage_move_made_on_a_completed_ghl_task_is_one_entry(routed: BotWorld):
    routed.add_deal("TPA-4")
    (card,) = cards_in(routed, FL_CHANNEL, "TPA-4")
    with session_scope(routed.engine, readonly=True) as session:
        from store.deals import get_opportunity_link

        link = get_opportunity_link(
            session=session, mls_id="TPA-4", location_id=routed.ghl.location_id
        )
    assert link is not None
    handlers = routed.runtime.ops.context.handlers
    body = {"type": "TaskComplete", "locationId": routed.ghl.location_id,
            "contactId": link.contact_id, "title": "Schedule showing — TPA-4",
            "webhookId": "wh-task-1"}  # fmt: skip
    outcome = handlers.handle("TaskComplete", body, routed.clock())
    assert outcome == "1 deal(s) moved", outcome
    (entry,) = thread_texts(routed, FL_CHANNEL, card.ts)
    assert entry.startswith("Task “Schedule showing — TPA-4” done: stage ")
    assert entry.endswith("→ Showing Booked")
    handlers.handle("TaskComplete", body, routed.clock())  # GHL's redelivery
    assert len(thread_texts(routed, FL_CHANNEL, card.ts)) == 1


def test_an_import_process_routes_cards_as_the_bot_does(routed: BotWorld):
    from bot.runtime import Runtime
    from services.desk import DealCard

    # As `dealfinder import` builds it: its own runtime from the same settings.
    runtime = Runtime(routed.settings, engine=routed.engine, ghl=routed.ghl)
    alerts = runtime.alerts
    assert runtime.deal_pipeline.on_hot_deal == [alerts.on_hot_deal]
    florida = DealCard(mls_id="TPA-9", address="1 A St", city="Tampa", state="FL", zip="33611")
    texas = DealCard(
        mls_id="AUS-9", address="2 B St", **{k: TEXAS[k] for k in TEXAS if k != "address"}
    )
    assert alerts.channel_for(florida) == "#deals-fl"
    assert alerts.channel_for(texas) == "C0DEALS"
