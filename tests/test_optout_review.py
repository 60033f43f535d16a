"""Possible opt-outs in the services: the pause (plan and send time), the decisions and their
record, the 24-hour rule through the scheduler's job runner under freezegun, and the Slack
message (deal thread or ops channel) against the Slack fake. GHL is the emulator over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time
from slack_sdk import WebClient
from sqlmodel import select

from bot.ops.lease import TickLease
from bot.ops.optout_reviews import JOB_OPTOUT_REVIEWS, settle_optout_reviews
from bot.ops.scheduler import JobRunner, JobSpec
from bot.slack import blocks
from bot.slack.optout_review import OptoutReviewPoster
from bot.web.metrics import Metrics
from sandbox.slack_fake import BOT_TOKEN
from services.optout.decisions import decide_review
from services.optout.replies import handle_inbound_message
from store import buyers
from store.db import session_scope
from store.models import OptoutReview, OptoutReviewStatus, OutboxStatus
from tests.test_optout_inbound import NOW, inbound

QUESTION = "can we stop at the property at 3?"


def receive(world, body, *, contact_id, message_id="q1", now=NOW):
    world.at(now)
    return handle_inbound_message(
        engine=world.engine,
        client=world.client,
        payload=inbound(contact_id, body, message_id=message_id),
        rules=world.rules,
        config=world.config,
        now=now,
    )


def decide(world, review_id, decision, *, actor="U0BROKER1", now=NOW):
    world.at(now)
    return decide_review(
        engine=world.engine, client=world.client, rules=world.rules, config=world.config,
        review_id=review_id, decision=decision, actor=actor, role="broker", now=now,
    )  # fmt: skip


def review_of(world, review_id) -> OptoutReview:
    with session_scope(world.engine, readonly=True) as session:
        return session.get(OptoutReview, review_id)


def stored_buyer(world, contact_id):
    with session_scope(world.engine, readonly=True) as session:
        return buyers.get_buyer(session=session, contact_id=contact_id)


def paused_buyer(world, *, body=QUESTION):
    """A buyer texted about MLS1 who replied with a possible opt-out, and a deal text to them
    deferred to the morning (queued during quiet hours)."""
    buyer = world.add_buyer(first_name="Pat")
    world.notify(world.facts("MLS1"), [buyer], now=NOW)
    world.deliver_all(NOW)
    world.notify(world.facts("MLS2"), [buyer], now=datetime(2027, 1, 15, 3, 0, tzinfo=UTC))
    assert world.item(buyer, "MLS2").status == OutboxStatus.DEFERRED
    outcome = receive(world, body, contact_id=buyer)
    assert outcome.kind == "possible_opt_out" and outcome.review_id is not None
    return buyer, outcome


def test_a_possible_opt_out_pauses_texting_at_once(notify_world):
    world = notify_world
    buyer, outcome = paused_buyer(world)
    assert outcome.mls_id == "MLS1" and outcome.contact_name == "Pat Buyer"
    # The notifier's eligibility excludes them with a plain reason...
    plan = world.plan(world.facts("MLS3"), [buyer], now=NOW)
    (entry,) = plan.excluded
    assert entry.code == "paused" and "may be an opt-out" in entry.reason
    # ...the deferred text is held past its own time, and stays held when that time comes.
    held = world.item(buyer, "MLS2")
    assert held.status == OutboxStatus.DEFERRED and held.last_error.startswith("paused:")
    world.deliver_all(NOW + timedelta(hours=3))
    assert len(world.texts(buyer)) == 1  # only the MLS1 text from before the reply
    # Nothing was done in GHL: no DND, the consent tag stays, the buyer is not opted out.
    contact = world.emulator.state.contacts[buyer]
    assert "sms_opt_in" in contact.tags and not contact.sms_blocked()
    assert not stored_buyer(world, buyer).opted_out


def test_a_text_a_worker_already_holds_is_deferred_at_send_time(notify_world):
    world = notify_world
    buyer = world.add_buyer()
    world.notify(world.facts("MLS1"), [buyer], now=NOW)

    def reply_arrives(point, item):
        if point == "claimed" and item.kind == "sms":
            receive(world, QUESTION, contact_id=buyer)

    report = world.deliver(NOW, checkpoint=reply_arrives)
    assert report.counts == {"deferred": 1} and world.texts(buyer) == []
    assert world.item(buyer, "MLS1").last_error.startswith("paused:")


def test_not_an_opt_out_resumes_texting_and_is_recorded(notify_world_any):
    world = notify_world_any  # SQLite and PostgreSQL
    buyer, outcome = paused_buyer(world)
    later = NOW + timedelta(minutes=30)
    done = decide(world, outcome.review_id, "not_opt_out", now=later)
    assert done.changed and done.released == 1
    review = review_of(world, outcome.review_id)
    assert (review.status, review.decided_by, review.decided_role, review.decided_at) == (
        OptoutReviewStatus.NOT_OPT_OUT, "U0BROKER1", "broker", later,
    )  # fmt: skip
    world.deliver_all(later)  # the held MLS2 text goes out now (10:30 New York)
    assert len(world.texts(buyer)) == 2
    plan = world.plan(world.facts("MLS3"), [buyer], now=later)
    assert [e.contact_id for e in plan.send_now] == [buyer]
    # A second click (another broker, or the same one twice) changes nothing.
    again = decide(world, outcome.review_id, "opt_out", actor="U0ADMIN01", now=later)
    assert not again.changed and again.review.decided_by == "U0BROKER1"
    assert not stored_buyer(world, buyer).opted_out


def test_opt_out_does_what_stop_does_in_the_buyers_language(notify_world):
    world = notify_world
    buyer, outcome = paused_buyer(world, body="precio alto")
    assert outcome.language == "es"
    done = decide(world, outcome.review_id, "opt_out")
    assert done.changed
    contact = world.emulator.state.contacts[buyer]
    assert "sms_opt_in" not in contact.tags and contact.dnd_settings["SMS"]["status"] == "active"
    assert stored_buyer(world, buyer).opted_out
    assert world.item(buyer, "MLS2").status == OutboxStatus.CANCELLED
    assert world.texts(buyer)[-1].body.startswith("DealFinder: le dimos de baja")


def test_a_webhook_retry_opens_one_review_and_a_stop_closes_it(notify_world_any):
    world = notify_world_any
    buyer, outcome = paused_buyer(world)
    again = receive(world, QUESTION, contact_id=buyer)  # GHL redelivers the same message
    assert again.review_id == outcome.review_id
    receive(world, "STOP", contact_id=buyer, message_id="s1")
    review = review_of(world, outcome.review_id)
    assert (review.status, review.decided_by) == (OptoutReviewStatus.OPTED_OUT, "buyer")
    with session_scope(world.engine, readonly=True) as session:
        assert len(session.exec(select(OptoutReview)).all()) == 1


def test_a_possible_opt_out_from_an_opted_out_buyer_is_just_a_reply(notify_world):
    world = notify_world
    buyer = world.add_buyer(opted_out=True)
    outcome = receive(world, QUESTION, contact_id=buyer)
    assert outcome.kind == "other" and outcome.review_id is None


def test_undecided_for_24_hours_it_becomes_an_opt_out(notify_world, slack_fake):
    """The `optout_reviews` job through the scheduler's runner; freezegun moves the clock."""
    world = notify_world
    web = WebClient(token=BOT_TOKEN, base_url=slack_fake.api_url)
    poster = OptoutReviewPoster(client=web, engine=world.engine, ops_channel="C0OPS")
    metrics = Metrics()

    def run(now: datetime) -> None:
        world.at(now)  # the emulator's clock follows the wall clock
        settle_optout_reviews(engine=world.engine, client=world.client, rules=world.rules,
                              config=world.config, now=now, poster=poster)  # fmt: skip

    job = JobSpec(id=JOB_OPTOUT_REVIEWS, run=run, every=timedelta(minutes=1))
    runner = JobRunner(lease=TickLease(world.engine, owner="optout-test"), metrics=metrics)
    with freeze_time("2027-01-15 15:00:00") as frozen:
        buyer, outcome = paused_buyer(world)
        poster.post(outcome.review_id)
        (message,) = slack_fake.messages("C0OPS")  # MLS1 has no card: the ops channel
        assert blocks.OPTOUT_CONFIRM in str(message.blocks)

        frozen.move_to("2027-01-16 14:59:00")  # 23 h 59 min later
        assert runner.run(job) == "ok"
        assert review_of(world, outcome.review_id).status == OptoutReviewStatus.PENDING
        assert not world.emulator.state.contacts[buyer].sms_blocked()

        frozen.move_to("2027-01-16 15:00:00")  # 24 h
        assert runner.run(job) == "ok"
        review = review_of(world, outcome.review_id)
        assert (review.status, review.decided_by) == (OptoutReviewStatus.OPTED_OUT, "auto")
        assert review.decided_at == datetime(2027, 1, 16, 15, 0, tzinfo=UTC)
        contact = world.emulator.state.contacts[buyer]
        assert contact.dnd_settings["SMS"]["status"] == "active"
        assert "sms_opt_in" not in contact.tags and stored_buyer(world, buyer).opted_out
        shown = slack_fake.find_message(message.channel, message.ts)
        assert "nobody decided within 24 hours" in str(shown.blocks)
        assert blocks.OPTOUT_CONFIRM not in str(shown.blocks)  # the buttons are gone

        frozen.move_to("2027-01-16 15:01:00")
        assert runner.run(job) == "ok"
        assert len([t for t in world.texts(buyer) if "unsubscribed" in t.body]) == 1


# slack_sdk's default client retries a dropped connection once: two drops lose the call.
@pytest.mark.slow  # over 0.5 s: the full run only (README, 'fast lane')
@pytest.mark.parametrize(("fault", "times"), [("server_error", 1), ("drop", 2)])
def test_a_review_slack_did_not_take_is_posted_by_the_job(
    notify_world_any, slack_fake, fault, times
):
    world = notify_world_any  # SQLite and PostgreSQL: the post's claim
    web = WebClient(token=BOT_TOKEN, base_url=slack_fake.api_url)
    poster = OptoutReviewPoster(
        client=web, engine=world.engine, ops_channel="C0OPS", clock=lambda: NOW
    )
    _buyer, outcome = paused_buyer(world)
    slack_fake.queue_fault("chat.postMessage", fault, times=times)
    assert poster.post(outcome.review_id) == 0 and slack_fake.messages("C0OPS") == []
    soon = NOW + timedelta(minutes=1)  # the claim is still fresh: nobody posts twice at once
    assert OptoutReviewPoster(client=web, engine=world.engine, ops_channel="C0OPS",
                              clock=lambda: soon).post() == 0  # fmt: skip
    later = NOW + timedelta(minutes=3)
    settle_optout_reviews(engine=world.engine, client=world.client, rules=world.rules,
                          config=world.config, now=later, poster=OptoutReviewPoster(
                              client=web, engine=world.engine, ops_channel="C0OPS",
                              clock=lambda: later))  # fmt: skip
    assert len(slack_fake.messages("C0OPS")) == 1
    assert review_of(world, outcome.review_id).slack_ts is not None


def test_two_brokers_deciding_at_once_record_one_decision(notify_world_any):
    """Both click at the same moment, opposite ways; the database orders them: one decision."""
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    world = notify_world_any
    buyer, outcome = paused_buyer(world)
    start = Barrier(2)

    def click(decision: str, actor: str):
        start.wait()
        return decide_review(
            engine=world.engine, client=world.client, rules=world.rules, config=world.config,
            review_id=outcome.review_id, decision=decision, actor=actor, role="broker", now=NOW,
        )  # fmt: skip

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(click, ["opt_out", "not_opt_out"], ["U0BROKER1", "U0ADMIN01"]))
    assert sorted(r.changed for r in results) == [False, True]
    (winner,) = [r for r in results if r.changed]
    review = review_of(world, outcome.review_id)
    assert review.decided_by == winner.review.decided_by
    assert stored_buyer(world, buyer).opted_out == (review.status == OptoutReviewStatus.OPTED_OUT)


def test_an_unknown_review_is_reported_and_nothing_changes(notify_world):
    world = notify_world
    buyer, outcome = paused_buyer(world)
    assert decide(world, outcome.review_id + 99, "opt_out") is None
    assert review_of(world, outcome.review_id).status == OptoutReviewStatus.PENDING
    assert not stored_buyer(world, buyer).opted_out


def test_help_in_spanish_is_answered_in_spanish(notify_world):
    world = notify_world
    buyer = world.add_buyer()
    outcome = receive(world, "AYUDA", contact_id=buyer, message_id="h1")
    assert (outcome.kind, outcome.reply, outcome.language) == ("help", "sent", "es")
    (text,) = world.texts(buyer)
    assert "alertas de ofertas inmobiliarias" in text.body and "Responda STOP" in text.body


def test_a_nul_in_a_possible_opt_out_is_stored_without_it(notify_world_any):
    world = notify_world_any  # PostgreSQL refuses NUL in text
    buyer = world.add_buyer()
    outcome = receive(world, "can we stop\x00 at the house?", contact_id=buyer)
    assert outcome.kind == "possible_opt_out"
    assert review_of(world, outcome.review_id).body == "can we stop at the house?"
