"""An agency worker posts each location's hot-deal cards (issue 14, Slack): in that
location's own deals channel, rendered from its own GHL, naming the location; one location's
failing channel never holds up another's cards, and its cards follow once the channel works.
Real HTTP to the GHL emulator and the Slack fake, a real store, the worker's own threads."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time
from slack_sdk import WebClient

from bot.ops.agency import AgencyWorker, active_locations, pipeline_factory
from bot.ops.agency_slack import location_alerts
from bot.ops.location_jobs import location_jobs
from bot.settings import load_settings
from ghl.client import GHLClient
from sandbox.slack_fake import BOT_TOKEN
from sandbox.slack_fake.state import Channel
from services.hot_alerts import alert_state
from services.intake.queue import submit_properties
from store.db import session_scope
from store.installs import record_install
from store.locations import update_location
from tests.fixtures.pipeline import property_row

pytestmark = pytest.mark.slow  # worker threads over real HTTP

TOKENS = {"tok-a": "loc_a", "tok-b": "loc_b"}
ROWS = {  # hot deals (score >= 90); FL-10000 is the same listing in both locations
    "loc_a": [property_row(0), property_row(1)],
    "loc_b": [property_row(0), property_row(10), property_row(11)],
}
CHANNELS = {"loc_a": "C0DEALSA", "loc_b": "C0DEALSB"}
LABELS = {"loc_a": "Tampa Team (loc_a)", "loc_b": "Bay Team (loc_b)"}


def _wait(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _cards(slack_fake, location_id: str) -> dict[str, str]:
    """MLS id -> the card's blocks, for the cards in the location's deals channel."""
    found = {}
    for message in slack_fake.messages(CHANNELS[location_id]):
        for block in message.blocks or []:
            if str(block.get("block_id", "")).startswith("deal:"):
                found[block["block_id"].removeprefix("deal:")] = str(message.blocks)
    return found


def test_each_location_posts_its_own_cards_and_a_failing_channel_is_its_own(
    make_emulator, slack_fake, engine
):
    emulator = make_emulator(tokens=TOKENS)
    for location_id in TOKENS.values():
        emulator.seed_demo(buyers=5, seed=1, location_id=location_id)
    members = {slack_fake.config.bot_user_id}
    slack_fake.add_channel(Channel("C0DEALSA", "deals-tampa", members=members))
    # loc_b's channel does not exist yet in Slack (a typo, an archived channel)
    clients = {
        loc: GHLClient(token=tok, location_id=loc, base_url=emulator.url)
        for tok, loc in TOKENS.items()
    }
    settings = load_settings(
        DATABASE_URL=str(engine.url), SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_API_URL=slack_fake.api_url
    )
    now = datetime.now(UTC)
    with session_scope(engine) as session:
        for location_id, name in (("loc_a", "Tampa Team"), ("loc_b", "Bay Team")):
            record_install(session=session, location_id=location_id, now=now, name=name)
            update_location(
                session=session, location_id=location_id,
                settings={"channels": {"deals": CHANNELS[location_id]}},
            )  # fmt: skip
    web = WebClient(token=BOT_TOKEN, base_url=slack_fake.api_url)
    alerts_for = location_alerts(
        settings, engine=engine, client_for=clients.__getitem__, web_client=web
    )
    worker = AgencyWorker(
        engine=engine, active=lambda: active_locations(engine), holder="w1", poll_seconds=0.05,
        pipeline_for=pipeline_factory(
            settings, engine=engine, client_for=clients.__getitem__, alerts_for=alerts_for),
        jobs_for=location_jobs(
            settings, engine=engine, client_for=clients.__getitem__, alerts_for=alerts_for),
    )  # fmt: skip
    slack_fake.expect_rejection("channel_not_found", method="chat.postMessage")
    try:
        for location_id, rows in ROWS.items():
            submit_properties(rows, engine=engine, location_id=location_id)
        assert worker.step().held == ["loc_a", "loc_b"]

        def b_failed() -> bool:
            states = [
                alert_state(engine, location_id="loc_b", mls_id=r["mls_id"]) or ""
                for r in ROWS["loc_b"]
            ]
            return all("channel_not_found" in s for s in states)

        _wait(lambda: len(_cards(slack_fake, "loc_a")) == 2 and b_failed(), "the cards")
    finally:
        worker.shutdown()

    a_cards = _cards(slack_fake, "loc_a")
    assert sorted(a_cards) == sorted(r["mls_id"] for r in ROWS["loc_a"])
    assert all(f"Location: {LABELS['loc_a']}" in blocks for blocks in a_cards.values())
    assert all(LABELS["loc_b"] not in blocks for blocks in a_cards.values())

    # loc_b's channel is created: its next recovery run posts its cards, each once.
    slack_fake.add_channel(Channel("C0DEALSB", "deals-bay", members=members))
    with freeze_time(now + timedelta(minutes=2)):
        bay = alerts_for("loc_b")
        assert bay.recover() == 3
        assert bay.recover() == 0
    b_cards = _cards(slack_fake, "loc_b")
    assert sorted(b_cards) == sorted(r["mls_id"] for r in ROWS["loc_b"])
    assert all(f"Location: {LABELS['loc_b']}" in blocks for blocks in b_cards.values())
    # the same listing has a card in each location's channel, each naming its own location
    shared = ROWS["loc_a"][0]["mls_id"]
    assert LABELS["loc_a"] in a_cards[shared] and LABELS["loc_b"] in b_cards[shared]
    assert len(slack_fake.messages("C0DEALSA")) == 2  # nothing of loc_b's posted there
    for client in clients.values():
        client.close()
