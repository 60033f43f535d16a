"""A send whose outcome is unknown is never repeated blindly: the worker keeps the SMS slot and,
on its next attempt, reads the contact's GHL conversation first. Driven by the emulator's real
faults on `POST /conversations/messages`, on SQLite and PostgreSQL: one text each time, never
two, never zero."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from store.db import session_scope
from store.models import OutboxStatus
from store.sms import sms_count

NOW = datetime(2027, 1, 15, 15, 0, tzinfo=UTC)
SEND = ("POST", "/conversations/messages")


def slots(world, contact_id):
    with session_scope(world.engine, readonly=True) as session:
        return sms_count(session=session, contact_id=contact_id, now=world.clock.now)


@pytest.mark.parametrize(
    ("fault", "status", "stored_by_ghl"),
    [
        ("drop_after_commit", None, True),  # GHL sent it, the answer was lost
        ("drop", None, False),  # the connection died before GHL handled it
        ("server_error", 503, False),  # GHL failed and sent nothing
    ],
)
def test_one_text_after_an_unknown_outcome(notify_world_any, fault, status, stored_by_ghl):
    world = notify_world_any
    buyer = world.add_buyer()
    world.notify(world.facts("MLS1"), [buyer], now=NOW)
    world.emulator.queue_fault(*SEND, fault, status=status)

    first = world.deliver(NOW)
    (outcome,) = first.outcomes
    assert outcome.status == "retry" and outcome.detail.startswith("outcome_unknown: ")
    assert len(world.texts(buyer)) == (1 if stored_by_ghl else 0)
    assert slots(world, buyer) == 1  # kept: the text may have gone out

    # The item is back in the queue after a short wait, never resent at once.
    assert world.deliver(NOW + timedelta(seconds=30)).outcomes == []
    second = world.deliver(NOW + timedelta(seconds=60))
    (outcome,) = second.outcomes
    assert outcome.status == "sent"
    assert outcome.found_in_ghl is stored_by_ghl
    assert len(world.texts(buyer)) == 1
    assert world.emulator.count(*SEND) == (1 if stored_by_ghl else 2)
    item = world.item(buyer, "MLS1")
    assert item.status == OutboxStatus.SENT
    assert item.result["message_id"] == world.texts(buyer)[0].id
    assert slots(world, buyer) == 1
    world.deliver_all(NOW + timedelta(seconds=60))  # follow-ups
    assert len(world.texts(buyer)) == 1


def test_a_failed_look_keeps_the_text_waiting_until_ghl_answers(notify_world):
    world = notify_world
    buyer = world.add_buyer()
    world.notify(world.facts("MLS1"), [buyer], now=NOW)
    world.emulator.queue_fault(*SEND, "drop_after_commit")
    world.deliver(NOW)
    world.emulator.queue_fault("GET", "/conversations/search", "server_error", times=10)
    (outcome,) = world.deliver(NOW + timedelta(minutes=1)).outcomes
    assert outcome.status == "retry" and outcome.detail.startswith("lookup_failed: ")
    assert world.emulator.count(*SEND) == 1
    world.emulator.fault_plan.clear()
    (outcome,) = world.deliver(NOW + timedelta(minutes=2)).outcomes
    assert outcome.status == "sent" and outcome.found_in_ghl
    assert len(world.texts(buyer)) == 1


def test_quiet_hours_after_an_unknown_outcome_defer_and_free_the_slot(notify_world):
    world = notify_world
    buyer = world.add_buyer()
    evening = datetime(2027, 1, 16, 1, 59, 30, tzinfo=UTC)  # 20:59:30 in New York
    world.notify(world.facts("MLS1"), [buyer], now=evening)
    world.emulator.queue_fault(*SEND, "drop")
    world.deliver(evening)
    (outcome,) = world.deliver(evening + timedelta(minutes=1)).outcomes  # 21:00:30: quiet
    assert outcome.status == "deferred"
    assert outcome.until == datetime(2027, 1, 16, 13, 0, tzinfo=UTC)
    assert slots(world, buyer) == 0  # looked, not found: nothing went out
    world.deliver_all(datetime(2027, 1, 16, 13, 0, tzinfo=UTC))
    assert len(world.texts(buyer)) == 1


def test_a_rate_limited_send_is_retried_by_the_client_and_sent_once(notify_world):
    world = notify_world
    buyer = world.add_buyer()
    world.notify(world.facts("MLS1"), [buyer], now=NOW)
    world.emulator.queue_fault(*SEND, "rate_limit")  # 429 with Retry-After: never processed
    (outcome,) = world.deliver(NOW).outcomes
    assert outcome.status == "sent" and not outcome.found_in_ghl
    assert world.clock.slept == [1.0]
    assert len(world.texts(buyer)) == 1


def test_a_reply_with_an_unknown_outcome_is_looked_for_too(notify_world):
    """Replies take no slot; an earlier attempt is what makes the worker look first."""
    world = notify_world
    buyer = world.add_buyer()
    from services.optout.replies import handle_inbound_message

    world.emulator.queue_fault(*SEND, "drop_after_commit")
    payload = {
        "type": "InboundMessage",
        "messageType": "SMS",
        "direction": "inbound",
        "contactId": buyer,
        "body": "HELP",
        "messageId": "in-1",
    }
    outcome = handle_inbound_message(
        engine=world.engine,
        client=world.client,
        payload=payload,
        rules=world.rules,
        config=world.config,
        now=NOW,
    )
    assert outcome.reply == "queued"
    (sent,) = world.deliver(NOW + timedelta(minutes=1)).outcomes
    assert sent.status == "sent" and sent.found_in_ghl
    assert len(world.texts(buyer)) == 1
