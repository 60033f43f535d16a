"""A buyer's reply about a deal that never had a hot-deal card reaches Slack, end to end.

The deal (score 80, so no card) goes through the real pipeline against the GHL emulator, its
buyers are texted by `dealfinder notify`, and the buyer's replies arrive as signed GHL
webhooks over HTTP. The webhook job (as the worker runs it) posts them through the real
`DealAlerts` and `ReplyThreads` to the Slack fake: the first reply starts the deal's thread
with its summary, later ones (also after a restart) join that same thread.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
import typer
from freezegun import freeze_time
from typer.testing import CliRunner

from bot.cli.notify import register
from bot.ops.wiring import build_ops
from bot.slack.app import build_services
from bot.web.webhooks import process_webhook_events
from sandbox.ghl_emulator import DEFAULT_TOKEN, DEMO_LOCATION_ID
from tests.fixtures.bot import BotWorld, build_bot_world
from tests.fixtures.ops import signed_ed25519, webhook_payload

MLS_ID = "TPA-2080"
NOTIFY_AT = "2027-01-15 18:00:00"  # 13:00 in New York, 10:00 in Los Angeles: a weekday window


def replies_world(slack_fake, seeded_emulator, sqlite_engine, ed25519_pair, **settings: Any):
    world = build_bot_world(
        slack=slack_fake, emulator=seeded_emulator, engine=sqlite_engine,
        GHL_WEBHOOK_PUBLIC_KEY=ed25519_pair.public_pem, **settings,
    )  # fmt: skip
    world.sync_buyers()
    return world


@pytest.fixture
def world(slack_fake, seeded_emulator, sqlite_engine, ed25519_pair) -> Iterator[BotWorld]:
    found = replies_world(slack_fake, seeded_emulator, sqlite_engine, ed25519_pair)
    yield found
    found.http.stop()
    found.finish()
    found.ghl.close()


def notify_cli(world: BotWorld, sqlite_url: str) -> None:
    """`dealfinder notify --mls-id` as a person runs it, against the world's store and GHL."""
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """DealFinder (test)."""

    register(app)
    env = {
        "DATABASE_URL": sqlite_url,
        "GHL_BASE_URL": world.emulator.url,
        "GHL_API_KEY": DEFAULT_TOKEN,
        "GHL_LOCATION_ID": DEMO_LOCATION_ID,
        "GHL_RATE_BACKEND": "memory",
        "DEALFINDER_LOG_LEVEL": "WARNING",
    }
    # The CLI installs its own root log handler; pytest's capture is put back after it.
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        with freeze_time(NOTIFY_AT):
            result = CliRunner().invoke(app, ["notify", "--mls-id", MLS_ID], env=env)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    assert result.exit_code == 0, result.output


def texted_contact(world: BotWorld) -> str:
    texts = [m for m in world.emulator.state.messages if m.type in ("SMS", "TYPE_SMS")]
    assert texts, "dealfinder notify texted nobody"
    return texts[0].contact_id


class Webhooks:
    """The worker's webhook endpoint over HTTP and its job, as `dealfinder worker` wires them."""

    def __init__(self, world: BotWorld, serve_wsgi: Any, pair: Any) -> None:
        self.world, self.pair = world, pair
        self.ops = build_ops(
            world.settings, engine=world.engine, client=world.ghl,
            slack_client=world.services.alerts.client, alerts=world.services.alerts,
        )  # fmt: skip
        self.url = serve_wsgi(self.ops.routes()["/ghl/webhooks"])

    def reply(self, contact_id: str, body: str, message_id: str) -> None:
        payload = webhook_payload(
            "InboundMessage", locationId=DEMO_LOCATION_ID, contactId=contact_id, body=body,
            messageId=message_id,
        )  # fmt: skip
        raw = json.dumps(payload).encode()
        answer = requests.post(self.url, data=raw, headers=signed_ed25519(self.pair, raw),
                               timeout=10)  # fmt: skip
        assert answer.status_code == 200, answer.text
        # What the `webhook_events` job runs every 5 s (the job's tick lease would skip a
        # second run within one tick).
        report = process_webhook_events(
            engine=self.world.engine, handlers=self.ops.context.handlers, now=datetime.now(UTC)
        )
        assert report.processed == 1, report


def thread_starts(world: BotWorld, channel: str) -> list[Any]:
    return [m for m in world.slack.messages(channel) if f"replies:{MLS_ID}" in str(m.blocks)]


@pytest.mark.parametrize(
    ("settings", "channel"),
    [
        ({}, "C0DEALS"),  # default: the deals channel
        ({"SLACK_REPLIES_CHANNEL": "#ops-alerts"}, "C0OPS"),  # by name, as people write it
    ],
    ids=["deals channel", "SLACK_REPLIES_CHANNEL"],
)
def test_replies_to_a_deal_without_a_card_reach_one_thread_in_slack(
    slack_fake, seeded_emulator, sqlite_engine, sqlite_url, ed25519_pair, serve_wsgi, caplog,
    settings, channel,
):  # fmt: skip
    world = replies_world(slack_fake, seeded_emulator, sqlite_engine, ed25519_pair, **settings)
    try:
        result = world.add_deal(MLS_ID, deal_score=80)
        assert result.opportunity_url and world.services.alerts.message_for(MLS_ID) is None
        assert not any(MLS_ID in str(m.blocks) for m in world.slack.messages("C0DEALS"))
        notify_cli(world, sqlite_url)
        buyer = texted_contact(world)
        hooks = Webhooks(world, serve_wsgi, ed25519_pair)

        with caplog.at_level(logging.INFO, logger="dealfinder.webhooks"):
            hooks.reply(buyer, "Is it still available? <!channel> & cash ok", "in-reply-1")
        (start,) = thread_starts(world, channel)
        assert "4812 W Bay Vista Ave" in start.text and "$265,000" in start.text
        assert "deal score 80" in start.text
        assert f"<{result.opportunity_url}|Open in GHL>" in start.text
        (first,) = world.slack.replies(channel, start.ts)
        assert "Reply from *" in first.text and "(match score " in first.text
        assert "Is it still available? &lt;!channel&gt; &amp; cash ok" in first.text  # escaped
        assert f"posted to a new replies thread of {MLS_ID} in {channel}" in caplog.text

        caplog.clear()
        with caplog.at_level(logging.INFO, logger="dealfinder.webhooks"):
            hooks.reply(buyer, "Can I see it Saturday?", "in-reply-2")
        assert [m.ts for m in thread_starts(world, channel)] == [start.ts]
        texts = [m.text for m in world.slack.replies(channel, start.ts)]
        assert len(texts) == 2 and "Can I see it Saturday?" in texts[1]
        assert f"posted to the replies thread of {MLS_ID} in {channel}" in caplog.text

        # A restart: new services and a new worker find the thread in the store.
        services = build_services(
            world.settings, ghl=world.ghl, engine=world.engine,
            web_client=world.services.alerts.client, clock=world.clock,
        )  # fmt: skip
        restarted = Webhooks(world, serve_wsgi, ed25519_pair)
        restarted.ops = build_ops(
            world.settings, engine=world.engine, client=world.ghl,
            slack_client=services.alerts.client, alerts=services.alerts,
        )  # fmt: skip
        restarted.url = serve_wsgi(restarted.ops.routes()["/ghl/webhooks"])
        restarted.reply(buyer, "Still there?", "in-reply-3")
        services.close(wait=True)
        assert [m.ts for m in thread_starts(world, channel)] == [start.ts]
        assert len(world.slack.replies(channel, start.ts)) == 3
    finally:
        world.http.stop()
        world.finish()
        world.ghl.close()


@pytest.mark.slow  # over 0.5 s: the full run only (README, 'fast lane')
def test_a_reply_about_a_hot_deal_goes_to_its_card_thread(
    world, sqlite_url, ed25519_pair, serve_wsgi, caplog
):
    world.add_deal(MLS_ID, deal_score=93)
    card = world.services.alerts.message_for(MLS_ID)
    assert card is not None
    notify_cli(world, sqlite_url)
    hooks = Webhooks(world, serve_wsgi, ed25519_pair)
    with caplog.at_level(logging.INFO, logger="dealfinder.webhooks"):
        hooks.reply(texted_contact(world), "Interested!", "in-hot-1")
    (reply,) = world.slack.replies(card.channel, card.ts)
    assert "Interested!" in reply.text
    assert thread_starts(world, "C0DEALS") == []
    assert f"posted to the card thread of {MLS_ID} in {card.channel}" in caplog.text
