"""Stored webhooks processed by the job: the real notifier, buyer cache, opportunity links and
`DealAlerts` (against the Slack fake), with GHL's example payloads and the GHL emulator.
Time moves through `now=` and the notifier world's shared clock; nothing sleeps."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from slack_sdk import WebClient
from sqlmodel import select

from bot.slack.alerts import DealAlerts
from bot.slack.card_refresh import CardRefresher
from bot.web.webhook_handlers import WebhookHandlers
from bot.web.webhooks import process_webhook_events
from sandbox.slack_fake import BOT_TOKEN
from services.desk import DealCard
from services.optout.replies import handle_dnd_update, handle_inbound_message
from store import buyers, outbox
from store.db import session_scope
from store.deals import OpportunityLinkIn, get_opportunity_link, record_opportunity_link
from store.models import OutboxStatus, WebhookEvent, WebhookEventStatus
from store.webhooks import record_webhook_event
from tests.fixtures.ops import webhook_payload

LOCATION = "loc_demo"


class Deals:
    """The bot's real `DealAlerts` on the Slack fake's #deals, with cards from the store's link."""

    def __init__(self, engine: Any, slack_fake: Any) -> None:
        self.engine, self.slack = engine, slack_fake
        web = WebClient(token=BOT_TOKEN, base_url=slack_fake.api_url)
        self.alerts = DealAlerts(web, engine, "C0DEALS", cards=self.card, location_id=LOCATION)

    def card(self, mls_id: str) -> DealCard | None:
        with session_scope(self.engine, readonly=True) as session:
            link = get_opportunity_link(session=session, mls_id=mls_id, location_id=LOCATION)
        stage = link.stage_id if link else None
        return DealCard(
            mls_id=mls_id,
            address="12 Oak St",
            city="Tampa",
            score=93,
            hot=True,
            stage=stage,
            status=link.status if link else None,
        )

    def post(self, mls_id: str) -> str:
        ref = self.alerts.post_or_update(self.card(mls_id))
        assert ref is not None
        return ref.ts

    def thread(self, ts: str) -> list[str]:
        return [m.text for m in self.slack.replies("C0DEALS", ts)]


@pytest.fixture
def deals(notify_world, slack_fake) -> Deals:
    return Deals(notify_world.engine, slack_fake)


def handlers_for(world, deals: Deals | None = None, **kw: Any) -> WebhookHandlers:
    def inbound(payload, now):
        return handle_inbound_message(
            engine=world.engine,
            client=world.client,
            payload=payload,
            rules=world.rules,
            config=world.config,
            now=now,
        )

    kw.setdefault("inbound", inbound)
    kw.setdefault(
        "dnd_update", lambda p, now: handle_dnd_update(engine=world.engine, payload=p, now=now)
    )
    return WebhookHandlers(
        engine=world.engine,
        client=world.client,
        config=world.config,
        alerts=deals.alerts if deals else None,
        **kw,
    )


def store_event(world, doc: str, **changes: Any) -> int:
    payload = webhook_payload(doc, now=world.clock.now, **({"locationId": LOCATION} | changes))
    with session_scope(world.engine) as session:
        event = record_webhook_event(
            session=session,
            event_type=payload["type"],
            payload=payload,
            webhook_id=payload["webhookId"],
            now=world.clock.now,
        )
    return event.id


def event(world, event_id: int) -> WebhookEvent:
    with session_scope(world.engine, readonly=True) as session:
        return session.get(WebhookEvent, event_id)


def process(world, handlers: WebhookHandlers, **kw: Any):
    return process_webhook_events(engine=world.engine, handlers=handlers, now=world.clock.now, **kw)


def texted(world, contact_id: str, mls_id: str = "MLS1") -> None:
    """The buyer got the deal text for `mls_id` (10:00 New York)."""
    now = world.at("2027-01-15 15:00")
    world.notify(world.facts(mls_id), [contact_id], now=now)
    world.deliver_all(now)
    assert len(world.texts(contact_id)) == 1


def test_a_reply_from_a_texted_buyer_goes_to_the_deal_thread(notify_world, deals):
    world = notify_world
    buyer = world.add_buyer(first_name="Dana")
    texted(world, buyer)
    ts = deals.post("MLS1")
    body = "Is 12 Oak St still available? <!channel> & thanks"
    event_id = store_event(world, "InboundMessage", contactId=buyer, body=body, messageId="in-1")
    assert process(world, handlers_for(world, deals)).processed == 1
    (reply,) = deals.thread(ts)
    assert "Reply from *Dana Buyer* (match score 100)" in reply
    assert "Is 12 Oak St still available? &lt;!channel&gt; &amp; thanks" in reply  # escaped
    assert event(world, event_id).status == WebhookEventStatus.PROCESSED


def test_stop_opts_the_buyer_out_and_nothing_goes_to_slack(notify_world, deals):
    world = notify_world
    buyer = world.add_buyer()
    texted(world, buyer)
    ts = deals.post("MLS1")
    store_event(world, "InboundMessage", contactId=buyer, body="STOP", messageId="in-2")
    process(world, handlers_for(world, deals))
    with session_scope(world.engine, readonly=True) as session:
        assert buyers.get_buyer(session=session, contact_id=buyer).opted_out
    assert "unsubscribed" in world.texts(buyer)[-1].body  # the one confirmation
    assert deals.thread(ts) == []


def test_sms_dnd_in_ghl_opts_the_buyer_out_and_cancels_pending_texts(notify_world):
    world = notify_world
    buyer = world.add_buyer(first_name="Late")
    night = world.at("2027-01-16 03:00")  # 22:00 New York: the text is deferred
    world.notify(world.facts("MLS2"), [buyer], now=night)
    store_event(world, "ContactDndUpdate", id=buyer)  # the example has dnd: true
    process(world, handlers_for(world))
    assert world.item(buyer, "MLS2").status == OutboxStatus.CANCELLED
    with session_scope(world.engine, readonly=True) as session:
        assert buyers.get_buyer(session=session, contact_id=buyer).opted_out


def test_a_removed_buyer_tag_takes_the_buyer_out_of_matching(notify_world):
    world = notify_world
    buyer = world.add_buyer()
    world.client.contacts.remove_tags(buyer, ["active_buyer"])
    store_event(world, "ContactTagUpdate", id=buyer, tags=["sms_opt_in"])
    assert process(world, handlers_for(world)).processed == 1
    with session_scope(world.engine, readonly=True) as session:
        row = buyers.get_buyer(session=session, contact_id=buyer)
    assert row.excluded_reason == "not tagged active_buyer in GHL any more"


def test_a_contact_update_refreshes_the_buyer_from_ghl(notify_world):
    world = notify_world
    buyer = world.add_buyer(first_name="Old")
    world.client.contacts.update(buyer, {"firstName": "Newname"})
    store_event(world, "ContactUpdate", id=buyer)  # the payload's own fields are not trusted
    process(world, handlers_for(world))
    with session_scope(world.engine, readonly=True) as session:
        row = buyers.get_buyer(session=session, contact_id=buyer)
    assert row.first_name == "Newname"


def test_a_contact_that_is_not_a_buyer_is_not_cached(notify_world):
    world = notify_world
    stranger = world.client.contacts.upsert({"firstName": "Sam", "email": "sam@example.com"})
    store_event(world, "ContactUpdate", id=stranger.contact.id)
    assert process(world, handlers_for(world)).processed == 1
    with session_scope(world.engine, readonly=True) as session:
        assert buyers.get_buyer(session=session, contact_id=stranger.contact.id) is None


def test_a_stage_change_updates_the_link_from_ghl_and_refreshes_the_slack_message(
    notify_world, deals, slack_fake
):
    world = notify_world
    contact = world.add_buyer(first_name="Seller")
    (pipeline,) = world.client.opportunities.pipelines()[:1]
    first, later = pipeline.stages[0], pipeline.stages[2]
    opp = world.client.opportunities.create(
        {
            "pipelineId": pipeline.id,
            "name": "MLS7 deal",
            "pipelineStageId": first.id,
            "contactId": contact,
        }
    )
    with session_scope(world.engine) as session:
        record_opportunity_link(
            session=session,
            link_in=OpportunityLinkIn(
                mls_id="MLS7",
                location_id=LOCATION,
                opportunity_id=opp.id,
                contact_id=contact,
                pipeline_id=pipeline.id,
                stage_id=first.id,
                status="open",
            ),
        )
    ts = deals.post("MLS7")
    world.client.opportunities.update(opp.id, {"pipelineStageId": later.id})
    # A late, stale delivery: its stage is the old one, GHL's record is the truth.
    store_event(world, "OpportunityStageUpdate", id=opp.id, pipelineStageId=first.id)
    assert process(world, handlers_for(world, deals)).processed == 1
    with session_scope(world.engine, readonly=True) as session:
        link = get_opportunity_link(session=session, mls_id="MLS7", location_id=LOCATION)
    assert link.stage_id == later.id
    # The handler marks the card changed; the `slack_cards` job updates it.
    assert [c for c in slack_fake.calls_to("chat.update") if c.args.get("ts") == ts] == []
    assert CardRefresher(deals.alerts).flush() == 1
    updates = [c for c in slack_fake.calls_to("chat.update") if c.args.get("ts") == ts]
    assert updates and later.id in json.dumps(slack_fake.find_message("C0DEALS", ts).blocks)


def test_an_opportunity_that_is_not_ours_is_acknowledged(notify_world, deals):
    world = notify_world
    event_id = store_event(world, "OpportunityStatusUpdate", id="someone-elses")
    assert process(world, handlers_for(world, deals)).processed == 1
    assert event(world, event_id).status == WebhookEventStatus.PROCESSED


def test_another_locations_event_is_ignored(notify_world):
    world = notify_world
    buyer = world.add_buyer()
    store_event(world, "ContactDndUpdate", id=buyer, locationId="some_other_location")
    process(world, handlers_for(world))
    with session_scope(world.engine, readonly=True) as session:
        assert not buyers.get_buyer(session=session, contact_id=buyer).opted_out


def test_a_processing_failure_is_retried_from_the_store(notify_world):
    world = notify_world
    buyer = world.add_buyer(first_name="Old")
    world.client.contacts.update(buyer, {"firstName": "Fresh"})
    event_id = store_event(world, "ContactUpdate", id=buyer)
    world.emulator.queue_fault("GET", "/contacts/*", "server_error", times=4)  # > the retries
    first = process(world, handlers_for(world), lease_seconds=120)
    assert (first.processed, first.retrying) == (0, 1)
    stored = event(world, event_id)
    assert stored.status == WebhookEventStatus.PROCESSING and stored.attempts == 1
    assert process(world, handlers_for(world)).processed == 0  # not before its lease ends
    world.at(world.clock.now + timedelta(seconds=121))
    assert process(world, handlers_for(world)).processed == 1
    assert event(world, event_id).attempts == 2
    with session_scope(world.engine, readonly=True) as session:
        assert buyers.get_buyer(session=session, contact_id=buyer).first_name == "Fresh"


def test_an_event_that_keeps_failing_is_given_up_with_the_error(notify_world):
    world = notify_world
    buyer = world.add_buyer()
    event_id = store_event(world, "ContactUpdate", id=buyer)
    world.emulator.queue_fault("GET", "/contacts/*", "server_error", times=8)
    handlers = handlers_for(world)
    assert process(world, handlers, max_attempts=2).retrying == 1
    world.at(world.clock.now + timedelta(minutes=3))
    assert process(world, handlers, max_attempts=2).failed == 1
    failed = event(world, event_id)
    assert failed.status == WebhookEventStatus.FAILED
    assert failed.last_error.startswith("GHLServerError")


def test_task_complete_moves_the_deal_and_refreshes_its_message(deal_env, slack_fake):
    from services.property import PropertyRecord
    from tests.fixtures.pipeline import property_row

    record = PropertyRecord.parse(property_row(2))  # a "good" deal
    created = deal_env.pipeline.process(record)
    deals = Deals(deal_env.engine, slack_fake)
    ts = deals.post(record.mls_id)
    pipeline = deal_env.pipeline

    handlers = WebhookHandlers(
        engine=deal_env.engine,
        client=deal_env.client,
        config=deal_env.config,
        task_completed=lambda contact, title: pipeline.advance_on_task_completed(
            contact_id=contact, task_title=title
        ),
        alerts=deals.alerts,
    )
    now = deal_env.clock.datetime()
    payload = webhook_payload(
        "TaskComplete",
        now=now,
        locationId=LOCATION,
        contactId=created.contact_id,
        title=f"Schedule showing — {record.mls_id}",
    )
    with session_scope(deal_env.engine) as session:
        record_webhook_event(
            session=session,
            event_type="TaskComplete",
            payload=payload,
            webhook_id=payload["webhookId"],
            now=now,
        )
    report = process_webhook_events(engine=deal_env.engine, handlers=handlers, now=now)
    assert report.processed == 1
    with session_scope(deal_env.engine, readonly=True) as session:
        link = get_opportunity_link(session=session, mls_id=record.mls_id, location_id=LOCATION)
        rows = session.exec(select(WebhookEvent)).all()
    showing = pipeline.ghl_map.stage_ids["showing"]
    assert link.stage_id == showing and rows[0].status == WebhookEventStatus.PROCESSED
    assert CardRefresher(deals.alerts).flush() == 1  # the `slack_cards` job
    assert showing in json.dumps(slack_fake.find_message("C0DEALS", ts).blocks)
    # the outbox of Slack posts is finished: one message, no duplicates
    with session_scope(deal_env.engine, readonly=True) as session:
        posts = [i for i in session.exec(select(outbox.OutboxItem)).all() if i.kind == "slack_post"]
    assert [p.status for p in posts] == [OutboxStatus.SENT]
