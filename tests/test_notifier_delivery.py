"""Delivering due texts against the GHL emulator: release at 08:00 local, the rolling cap, the
policy re-checked at send time, GHL refusing, follow-ups, broker alerts. Time moves through
`now=` (and the emulator's clock with it); nothing sleeps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.notify.notifier import KIND_SMS, deliver_due
from store import buyers, outbox
from store.db import session_scope
from store.models import OutboxStatus
from store.sms import sms_count
from tests.fixtures.notify import make_client

MIN = timedelta(minutes=1)


def utc(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp).replace(tzinfo=UTC)


def test_deferred_texts_are_released_at_0800_local_in_each_zone(notify_world):
    world = notify_world
    new_york = world.add_buyer(first_name="Ny", area_code="212")
    los_angeles = world.add_buyer(first_name="La", area_code="310")
    world.notify(world.facts("MLS1"), [new_york, los_angeles], now=utc("2027-01-15 10:00"))
    assert world.deliver_all(utc("2027-01-15 10:00")) == []  # both deferred: nothing due

    assert world.deliver_all(utc("2027-01-15 12:59")) == []
    world.deliver_all(utc("2027-01-15 13:00"))  # 08:00 EST
    assert [len(world.texts(b)) for b in (new_york, los_angeles)] == [1, 0]
    assert world.item(new_york, "MLS1").status == OutboxStatus.SENT

    assert world.deliver_all(utc("2027-01-15 15:59")) == []
    world.deliver_all(utc("2027-01-15 16:00"))  # 08:00 PST
    assert [len(world.texts(b)) for b in (new_york, los_angeles)] == [1, 1]
    assert world.item(los_angeles, "MLS1").status == OutboxStatus.SENT


def test_the_fourth_text_in_24_hours_waits_until_the_first_ages_out(notify_world):
    world = notify_world
    buyer = world.add_buyer()
    first = utc("2027-01-15 14:00")  # 09:00 New York
    for hours, mls in enumerate(("A", "B", "C", "D")):
        moment = first + timedelta(hours=hours)
        world.notify(world.facts(mls), [buyer], now=moment)
        world.deliver_all(moment)
    assert len(world.texts(buyer)) == 3
    fourth = world.item(buyer, "D")
    assert fourth.status == OutboxStatus.DEFERRED
    assert fourth.not_before == first + timedelta(hours=24)
    assert "daily_cap" in fourth.last_error

    world.deliver_all(first + timedelta(hours=24) - MIN)
    assert len(world.texts(buyer)) == 3
    world.deliver_all(first + timedelta(hours=24))
    assert len(world.texts(buyer)) == 4
    assert world.item(buyer, "D").status == OutboxStatus.SENT


def test_the_cap_is_checked_again_at_send_time(notify_world):
    """Four texts enqueued together while the buyer had room: the worker sends three."""
    world = notify_world
    buyer = world.add_buyer()
    now = utc("2027-01-15 15:00")
    for mls in ("A", "B", "C", "D"):
        world.notify(world.facts(mls), [buyer], now=now)  # each plan saw 0 sent
    world.deliver_all(now)
    assert len(world.texts(buyer)) == 3
    (late,) = world.items(kind=KIND_SMS, status=OutboxStatus.DEFERRED)
    assert late.not_before == now + timedelta(hours=24)


def test_an_opt_out_after_enqueue_cancels_the_text_at_send_time(notify_world):
    world = notify_world
    buyer = world.add_buyer()
    now = utc("2027-01-15 15:00")
    world.notify(world.facts("MLS1"), [buyer], now=now)
    with session_scope(world.engine) as session:  # the item stays pending: a race with a worker
        buyers.mark_opted_out(session=session, contact_id=buyer, now=now)
    report = world.deliver(now)
    assert report.counts == {"cancelled": 1}
    assert world.item(buyer, "MLS1").status == OutboxStatus.CANCELLED
    assert world.texts() == []


def test_quiet_hours_at_send_time_defer_a_text_queued_earlier(notify_world):
    world = notify_world
    buyer = world.add_buyer()
    world.notify(world.facts("MLS1"), [buyer], now=utc("2027-01-16 01:55"))  # 20:55 New York
    report = world.deliver(utc("2027-01-16 02:05"))  # the worker comes at 21:05
    assert report.counts == {"deferred": 1}
    item = world.item(buyer, "MLS1")
    assert item.status == OutboxStatus.DEFERRED and item.not_before == utc("2027-01-16 13:00")
    assert world.texts() == []
    with session_scope(world.engine, readonly=True) as session:
        assert sms_count(session=session, contact_id=buyer, now=utc("2027-01-16 02:05")) == 0


def test_ghl_refusing_a_text_excludes_it_with_the_reason_and_frees_the_slot(notify_world):
    world = notify_world
    buyer = world.add_buyer()
    world.client.contacts.set_sms_dnd(buyer, active=True)  # in GHL only: the store is behind
    now = utc("2027-01-15 15:00")
    world.notify(world.facts("MLS1"), [buyer], now=now)
    report = world.deliver(now)
    assert report.counts == {"excluded": 1}
    item = world.item(buyer, "MLS1")
    assert item.status == OutboxStatus.EXCLUDED and "DND" in item.last_error
    with session_scope(world.engine, readonly=True) as session:
        assert sms_count(session=session, contact_id=buyer, now=now) == 0
    assert world.items(kind="ghl_followup") == []


def test_follow_ups_tag_note_task_and_workflow_after_a_send(notify_world):
    world = notify_world
    buyer = world.add_buyer()
    now = utc("2027-01-15 15:00")
    world.notify(world.facts("MLS1"), [buyer], now=now)
    world.deliver_all(now)
    state = world.emulator.state
    assert "deal_notified" in state.contacts[buyer].tags
    (note,) = [n for n in state.notes.values() if n.contact_id == buyer]
    assert "MLS1" in note.body and "100/100" in note.body and "budget 40/40" in note.body
    (task,) = [t for t in state.tasks.values() if t.contact_id == buyer]
    assert "12 Oak St" in task.title and task.due_date.startswith("2027-01-16T15:00")
    (enrolment,) = state.enrolments
    workflow = state.workflows[enrolment.workflow_id]
    assert workflow.name == "Buyer Match Follow-up" and enrolment.contact_id == buyer
    followups = world.items(kind="ghl_followup")
    assert sorted(i.payload["action"] for i in followups) == ["note", "tag", "task", "workflow"]
    assert all(i.status == OutboxStatus.SENT for i in followups)


@pytest.mark.slow  # over 0.5 s: the full run only (README, 'fast lane')
def test_a_failing_follow_up_is_retried_alone_and_never_resends_the_text(notify_world):
    world = notify_world
    buyer = world.add_buyer()
    now = utc("2027-01-15 15:00")
    world.notify(world.facts("MLS1"), [buyer], now=now)
    world.deliver(now)  # the text
    # GHL fails the note (the transport retries 3 times, then the item goes back to pending).
    world.emulator.queue_fault("POST", "/contacts/*/notes", "server_error", times=20)
    world.emulator.queue_fault("GET", "/contacts/*/notes", "server_error", times=20)
    report = world.deliver(now)
    assert report.counts == {"sent": 3, "retry": 1}
    world.emulator.fault_plan.clear()
    world.deliver_all(now + timedelta(minutes=5))
    assert len(world.texts(buyer)) == 1
    notes = [n for n in world.emulator.state.notes.values() if n.contact_id == buyer]
    assert len(notes) == 1


def test_after_send_switches_turn_follow_ups_off(notify_world):
    world = notify_world
    sms = world.config.sms
    after_send = sms.after_send.model_copy(update={"note": False, "workflow": False})
    world.config = world.config.model_copy(
        update={"sms": sms.model_copy(update={"after_send": after_send})}
    )
    buyer = world.add_buyer()
    now = utc("2027-01-15 15:00")
    world.notify(world.facts("MLS1"), [buyer], now=now)
    world.deliver_all(now)
    actions = sorted(i.payload["action"] for i in world.items(kind="ghl_followup"))
    assert actions == ["tag", "task"]
    assert world.emulator.state.enrolments == []


def test_broker_alerts_respect_quiet_hours_and_get_no_follow_ups(notify_world):
    world = notify_world
    broker = world.client.contacts.upsert({"firstName": "Bo", "phone": "+13055550177"}).contact
    now = utc("2027-01-16 03:00")  # 22:00 in Miami
    with session_scope(world.engine) as session:
        outbox.enqueue(
            session=session,
            kind=KIND_SMS,
            dedupe_key=f"sms:broker:{broker.id}:MLS1",
            contact_id=broker.id,
            not_before=now,
            now=now,
            payload={
                "contact_id": broker.id,
                "message": "Hot deal MLS1: 12 Oak St",
                "purpose": "broker_alert",
                "mls_id": "MLS1",
            },
        )
    report = world.deliver(now)
    assert report.counts == {"deferred": 1}
    assert report.outcomes[0].until == utc("2027-01-16 13:00")
    world.deliver_all(utc("2027-01-16 13:00"))
    assert [m.body for m in world.texts(broker.id)] == ["Hot deal MLS1: 12 Oak St"]
    assert world.items(kind="ghl_followup") == []


def test_a_rejected_token_hands_every_item_back_for_later(notify_world):
    world = notify_world
    first, second = world.add_buyer(), world.add_buyer(first_name="Bo")
    now = utc("2027-01-15 15:00")
    world.notify(world.facts("MLS1"), [first, second], now=now)
    bad = make_client(world.emulator.url, clock=world.clock, token="revoked-token-0000")
    report = deliver_due(
        engine=world.engine,
        client=bad,
        rules=world.rules,
        config=world.config,
        now=now,
        worker_id="w1",
        limit=10,
    )
    assert report.counts == {"retry": 2}
    assert world.emulator.count("POST", "/conversations/messages") == 1  # the second not tried
    assert all(i.status == OutboxStatus.PENDING for i in world.items(kind=KIND_SMS))
    world.deliver_all(now + timedelta(minutes=15))
    assert len(world.texts()) == 2
