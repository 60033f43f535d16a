"""The webhook job's log says only what happened to a buyer's reply: posted (with Slack's own
channel and ts), or why not; a Slack refusal leaves the event to be retried, never "posted"."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_sdk import WebClient

from bot.ops.event_wiring import reply_threads_for
from bot.slack.alerts import DealAlerts
from bot.web.webhook_handlers import WebhookHandlers
from bot.web.webhooks import process_webhook_events
from sandbox.slack_fake import BOT_TOKEN
from services.optout.replies import handle_inbound_message
from store.db import session_scope
from store.models import WebhookEvent, WebhookEventStatus
from store.webhooks import record_webhook_event
from tests.fixtures.ops import webhook_payload

LOCATION = "loc_demo"


def handlers(world: Any, slack_fake: Any, *, channel: str) -> WebhookHandlers:
    web = WebClient(token=BOT_TOKEN, base_url=slack_fake.api_url)
    alerts = DealAlerts(
        web, world.engine, "C0DEALS", cards=lambda mls_id: None, location_id=LOCATION
    )

    def inbound(payload: dict[str, Any], now: Any) -> Any:
        return handle_inbound_message(
            engine=world.engine, client=world.client, payload=payload, rules=world.rules,
            config=world.config, now=now,
        )  # fmt: skip

    return WebhookHandlers(
        engine=world.engine, client=world.client, config=world.config, inbound=inbound,
        alerts=alerts, replies=reply_threads_for(alerts, channel=channel),
    )  # fmt: skip


def reply(world: Any, contact_id: str, body: str) -> int:
    payload = webhook_payload(
        "InboundMessage", now=world.clock.now, locationId=LOCATION, contactId=contact_id,
        body=body, messageId="in-" + re.sub(r"[^A-Za-z0-9]", "-", body),  # GHL ids: no spaces
    )  # fmt: skip
    with session_scope(world.engine) as session:
        event = record_webhook_event(
            session=session, event_type="InboundMessage", payload=payload,
            webhook_id=payload["webhookId"], now=world.clock.now,
        )  # fmt: skip
    return event.id


def status(world: Any, event_id: int) -> str:
    with session_scope(world.engine, readonly=True) as session:
        return session.get(WebhookEvent, event_id).status


def texted(world: Any, contact_id: str) -> None:
    now = world.at("2027-01-15 15:00")
    world.notify(world.facts("MLS1"), [contact_id], now=now)
    world.deliver_all(now)
    assert len(world.texts(contact_id)) == 1


def test_a_reply_from_a_contact_never_texted_says_it_was_not_posted(
    notify_world, slack_fake, caplog
):
    world = notify_world
    buyer = world.add_buyer()
    event_id = reply(world, buyer, "hello")
    with caplog.at_level(logging.INFO, logger="dealfinder.webhooks"):
        process_webhook_events(
            engine=world.engine, handlers=handlers(world, slack_fake, channel="C0DEALS"),
            now=world.clock.now,
        )  # fmt: skip
    assert "other: not posted: this contact was never texted about a deal" in caplog.text
    assert "posted to" not in caplog.text
    assert status(world, event_id) == WebhookEventStatus.PROCESSED
    assert slack_fake.calls_to("chat.postMessage") == []


def test_a_slack_refusal_is_retried_and_never_logged_as_posted(notify_world, slack_fake, caplog):
    world = notify_world
    buyer = world.add_buyer()
    texted(world, buyer)
    event_id = reply(world, buyer, "interested")
    slack_fake.expect_rejection("not_in_channel", method="chat.postMessage")
    refused = handlers(world, slack_fake, channel="C0GENERAL")  # the bot is not a member
    with caplog.at_level(logging.INFO, logger="dealfinder"):
        report = process_webhook_events(engine=world.engine, handlers=refused, now=world.clock.now)
    assert report.retrying == 1 and report.processed == 0
    assert "reply about MLS1 not posted: Slack refused it (not_in_channel)" in caplog.text
    assert "posted to" not in caplog.text and "retried later" in caplog.text
    assert status(world, event_id) != WebhookEventStatus.PROCESSED

    # The channel is fixed (or the bot invited): the retried event posts the reply once.
    caplog.clear()
    world.at("2027-01-15 15:10")  # past the failed attempt's lease
    fixed = handlers(world, slack_fake, channel="C0DEALS")
    with caplog.at_level(logging.INFO, logger="dealfinder.webhooks"):
        report = process_webhook_events(engine=world.engine, handlers=fixed, now=world.clock.now)
    assert report.processed == 1
    assert "other: posted to a new replies thread of MLS1 in C0DEALS (ts " in caplog.text
    (start,) = slack_fake.messages("C0DEALS")
    (posted,) = slack_fake.replies("C0DEALS", start.ts)
    assert posted.text.endswith("“interested”")


def test_a_process_without_slack_leaves_the_reply_for_one_that_has_it(
    notify_world, slack_fake, caplog
):
    world = notify_world
    buyer = world.add_buyer()
    texted(world, buyer)
    event_id = reply(world, buyer, "call me")
    no_slack = handlers(world, slack_fake, channel="C0DEALS")
    no_slack.alerts = no_slack.replies = None  # `dealfinder worker` without SLACK_BOT_TOKEN
    with caplog.at_level(logging.INFO, logger="dealfinder"):
        report = process_webhook_events(engine=world.engine, handlers=no_slack, now=world.clock.now)
    assert report.retrying == 1 and "no Slack client in this process" in caplog.text
    assert "posted to" not in caplog.text
    assert status(world, event_id) != WebhookEventStatus.PROCESSED
    world.at("2027-01-15 15:10")  # past the lease: the bot's process takes it
    with_slack = handlers(world, slack_fake, channel="C0DEALS")
    assert process_webhook_events(engine=world.engine, handlers=with_slack,
                                  now=world.clock.now).processed == 1  # fmt: skip
    (start,) = slack_fake.messages("C0DEALS")
    assert len(slack_fake.replies("C0DEALS", start.ts)) == 1


def test_a_reply_to_a_text_whose_ghl_answer_was_lost_still_reaches_the_deal(
    notify_world, slack_fake, caplog
):
    """GHL sent the text but its answer was lost (the item waits to be checked): the buyer's
    reply is the proof it arrived, and it goes to that deal's thread."""
    world = notify_world
    buyer = world.add_buyer()
    now = world.at("2027-01-15 15:00")
    world.notify(world.facts("MLS7"), [buyer], now=now)
    world.emulator.queue_fault("POST", "/conversations/messages", "drop_after_commit")
    (outcome,) = world.deliver(now).outcomes
    assert outcome.detail.startswith("outcome_unknown: ") and len(world.texts(buyer)) == 1
    reply(world, buyer, "yes please")
    with caplog.at_level(logging.INFO, logger="dealfinder"):
        report = process_webhook_events(
            engine=world.engine, handlers=handlers(world, slack_fake, channel="C0DEALS"),
            now=world.clock.now,
        )  # fmt: skip
    assert report.processed == 1
    assert "other: posted to a new replies thread of MLS7 in C0DEALS" in caplog.text
