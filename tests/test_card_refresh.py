"""Deal cards kept current: changes marked in the store by any process, one debounced
`chat.update` per card from a process with Slack (`bot.slack.card_refresh`), Slack's 429 honoured.

The bot is the served bot of `tests.fixtures.bot` (real store, Slack fake, GHL emulator);
time is the world's clock, moved by hand; nothing sleeps.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk import WebClient
from sqlalchemy import Engine
from sqlmodel import col, select

from bot.ops.jobs import release_deferred_sms
from bot.slack.alerts import DealAlerts
from bot.slack.card_refresh import DEBOUNCE, CardRefresher
from bot.slack.messages import notified_line
from sandbox.slack_fake import BOT_TOKEN
from services.hot_alerts import mark_cards_changed
from store import cards
from store.db import session_scope
from tests.fixtures.bot import BotWorld

T0 = datetime(2027, 1, 15, 15, 0, tzinfo=UTC)


# -- the store: marks, claims, leases (SQLite and PostgreSQL) -----------------------------


def test_a_burst_of_changes_is_one_due_card_and_one_claimer(engine: Engine) -> None:
    for i in range(10):
        mark_cards_changed(engine, ["TPA-1"], now=T0 + timedelta(milliseconds=100 * i))
    with session_scope(engine) as session:
        first = cards.claim_due(session=session, now=T0, worker_id="a", lease=DEBOUNCE)
    with session_scope(engine) as session:
        second = cards.claim_due(session=session, now=T0, worker_id="b", lease=DEBOUNCE)
    assert first == [cards.DueCard("TPA-1", 10)] and second == []


def test_a_change_made_while_the_card_renders_stays_pending(engine: Engine) -> None:
    mark_cards_changed(engine, ["TPA-1"], now=T0)
    with session_scope(engine) as session:
        [due] = cards.claim_due(session=session, now=T0, worker_id="a", lease=DEBOUNCE)
    mark_cards_changed(engine, ["TPA-1"], now=T0)  # e.g. a text delivered meanwhile
    rest = T0 + DEBOUNCE
    with session_scope(engine) as session:
        cards.shown(session=session, mls_id="TPA-1", worker_id="a", changes=due.changes,
                    next_at=rest, now=T0)  # fmt: skip
        assert cards.pending(session=session, mls_id="TPA-1") == 1
        assert cards.claim_due(session=session, now=T0, worker_id="a", lease=DEBOUNCE) == []
    with session_scope(engine) as session:
        again = cards.claim_due(session=session, now=rest, worker_id="b", lease=DEBOUNCE)
    assert again == [cards.DueCard("TPA-1", 2)]


def test_a_lost_worker_s_lease_runs_out(engine: Engine) -> None:
    mark_cards_changed(engine, ["TPA-1"], now=T0)
    with session_scope(engine) as session:
        assert cards.claim_due(session=session, now=T0, worker_id="dies", lease=DEBOUNCE)
    later = T0 + DEBOUNCE + timedelta(seconds=1)
    with session_scope(engine) as session:
        assert cards.claim_due(session=session, now=later, worker_id="b", lease=DEBOUNCE)


# -- the bot: debounced updates, true counts, Slack's limits --------------------------------


def _updates(world: BotWorld, ts: str) -> int:
    return len([c for c in world.slack.calls_to("chat.update") if c.args.get("ts") == ts])


def _card_ts(world: BotWorld, mls_id: str = "TPA-1001") -> str:
    ref = world.services.alerts.message_for(mls_id)
    assert ref is not None
    return ref.ts


def test_ten_changes_in_a_second_cost_at_most_two_updates(bot_world: BotWorld) -> None:
    world = bot_world
    world.add_deal()
    ts = _card_ts(world)
    refresher = CardRefresher(world.services.alerts)  # the world's clock, as in the bot
    for _ in range(10):  # marks from anywhere, the job running after each one
        mark_cards_changed(world.engine, ["TPA-1001"], now=world.clock())
        refresher.flush()
        world.clock.advance(seconds=0.1)
    assert _updates(world, ts) == 1
    world.clock.advance(seconds=DEBOUNCE.total_seconds())
    assert refresher.flush() == 1  # the changes after the first update, in one
    assert refresher.flush() == 0
    assert _updates(world, ts) == 2


def test_a_claim_shows_the_claimer_and_a_notify_the_true_counts(bot_world: BotWorld) -> None:
    world = bot_world
    world.add_deal()
    ts = _card_ts(world)
    refresher = CardRefresher(world.services.alerts)
    actions = world.services.actions
    refused = actions.claim("TPA-1001", actor="U0BROKER1", ghl_email=None, override=True)
    assert refused.code == "no_ghl_user" and refresher.flush() == 0  # nothing to show
    claim = actions.claim(
        "TPA-1001", actor="U0BROKER1", ghl_email="maria.lopez@example.com", override=True
    )
    assert claim.ok and refresher.flush() == 1  # no click's own refresh: the job shows it
    claimed = json.dumps(world.slack.find_message("C0DEALS", ts).blocks)
    assert "U0BROKER1" in claimed and (claim.owner or "?") in claimed
    world.clock.advance(seconds=DEBOUNCE.total_seconds())
    outcome = actions.notify("TPA-1001")  # from the desk, as a worker or the CLI does
    assert outcome is not None
    world.clock.advance(seconds=DEBOUNCE.total_seconds())
    assert refresher.flush() == 1
    with session_scope(world.engine, readonly=True) as session:
        counts = world.services.desk._sms_counts(session, "TPA-1001")
    assert sum(counts) > 0
    shown = json.dumps(world.slack.find_message("C0DEALS", ts).blocks)
    assert notified_line(*counts) in shown
    actions.pass_deal("TPA-1001", actor="U0AGENT01")
    world.clock.advance(seconds=DEBOUNCE.total_seconds())
    assert refresher.flush() == 1
    assert _updates(world, ts) == 3


@pytest.mark.parametrize("times", [1, 3])
def test_a_429_postpones_the_card_by_retry_after(bot_world: BotWorld, times: int) -> None:
    world = bot_world
    world.add_deal()
    ts = _card_ts(world)
    # No slack_sdk retry handler here: the refresher itself must honour Retry-After.
    plain = WebClient(token=BOT_TOKEN, base_url=world.slack.api_url)
    alerts = DealAlerts(plain, world.engine, "C0DEALS", cards=world.services.desk.card,
                        clock=world.clock, location_id=world.ghl.location_id)  # fmt: skip
    refresher = CardRefresher(alerts)
    mark_cards_changed(world.engine, ["TPA-1001"], now=world.clock())
    world.slack.queue_fault("chat.update", "ratelimited", times=times)
    for _ in range(times):
        assert refresher.flush() == 0  # refused, and postponed by Retry-After (1 s)
        assert refresher.flush() == 0  # not asked again before Retry-After
        world.clock.advance(seconds=1)
    assert refresher.flush() == 1
    assert _updates(world, ts) == times + 1  # each refusal asked once, then the update


def test_a_card_with_no_message_yet_is_settled_without_a_call(bot_world: BotWorld) -> None:
    world = bot_world
    mark_cards_changed(world.engine, ["NOT-POSTED"], now=world.clock())
    assert CardRefresher(world.services.alerts).flush() == 0
    with session_scope(world.engine, readonly=True) as session:
        assert cards.pending(session=session, mls_id="NOT-POSTED") == 0
    assert world.slack.calls_to("chat.update") == []


def test_the_morning_release_shows_on_the_card_with_no_click(bot_world: BotWorld) -> None:
    """The issue's morning: texts deferred overnight go out at 08:00; the card follows."""
    world = bot_world
    world.clock.advance(hours=-11)  # Thursday 23:00 in New York: quiet hours
    world.add_deal()
    ts = _card_ts(world)
    services = world.services
    assert services.actions.notify("TPA-1001") is not None
    refresher = CardRefresher(services.alerts)
    assert refresher.flush() == 1
    with session_scope(world.engine, readonly=True) as session:
        night = services.desk._sms_counts(session, "TPA-1001")
    assert night[0] == 0 and night[1] > 0  # nobody texted at night, some waiting
    assert notified_line(*night) in json.dumps(world.slack.find_message("C0DEALS", ts).blocks)
    world.clock.advance(hours=11)  # Friday 10:00: the release job sends what is due
    release_deferred_sms(
        engine=world.engine, client=world.ghl, rules=services.rules, config=services.config,
        now=world.clock(), worker_id="release-job",
    )  # fmt: skip
    assert refresher.flush() == 1
    with session_scope(world.engine, readonly=True) as session:
        morning = services.desk._sms_counts(session, "TPA-1001")
    assert morning[0] > 0 and morning != night
    assert notified_line(*morning) in json.dumps(world.slack.find_message("C0DEALS", ts).blocks)


def test_a_buyer_s_reply_marks_the_card_changed(bot_world: BotWorld) -> None:
    from store.models import SmsLog

    world = bot_world
    world.add_deal()
    assert world.services.actions.notify("TPA-1001") is not None
    CardRefresher(world.services.alerts).flush()
    with session_scope(world.engine, readonly=True) as session:
        texted = session.exec(
            select(SmsLog).where(SmsLog.mls_id == "TPA-1001", col(SmsLog.message_id).is_not(None))
        ).first()
        assert texted is not None and cards.pending(session=session, mls_id="TPA-1001") == 0
    handlers = world.runtime.ops.context.handlers
    body = {"type": "InboundMessage", "locationId": world.ghl.location_id,
            "contactId": texted.contact_id, "body": "Still available?", "messageType": "SMS",
            "direction": "inbound", "messageId": "m-reply-1"}  # fmt: skip
    handlers.handle("InboundMessage", body, world.clock())
    with session_scope(world.engine, readonly=True) as session:
        assert cards.pending(session=session, mls_id="TPA-1001") == 1


@pytest.mark.slow  # over 0.5 s: the full run only (README, 'fast lane')
def test_a_changed_re_import_elsewhere_updates_the_card(bot_world: BotWorld) -> None:
    from services.ghl_map import GHLMap
    from services.pipeline.core import DealPipeline
    from services.property import PropertyRecord
    from tests.fixtures.bot import deal_row

    world = bot_world
    world.add_deal()
    ts = _card_ts(world)
    config = world.services.config
    elsewhere = DealPipeline(  # a process without Slack: no hook
        world.ghl, world.engine, config, GHLMap.resolve(world.ghl, config), clock=world.clock
    )
    changed = elsewhere.process(PropertyRecord.parse(deal_row(list_price=199_000)))
    assert changed.action == "updated" and changed.alert == "posted"
    assert CardRefresher(world.services.alerts).flush() == 1
    assert "199,000" in json.dumps(world.slack.find_message("C0DEALS", ts).blocks)
    again = world.add_deal(list_price=198_000)  # in the bot: its hook updates the card at once
    assert again.alert == "posted" and "198,000" in json.dumps(
        world.slack.find_message("C0DEALS", ts).blocks
    )
    world.clock.advance(seconds=DEBOUNCE.total_seconds())
    assert CardRefresher(world.services.alerts).flush() == 0  # already shown: no second update
