"""GHL's `ContactDndUpdate` webhook: SMS DND on is an opt-out here too; DND off re-subscribes
nobody. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.optout.replies import handle_dnd_update
from store import buyers
from store.db import session_scope
from store.models import OutboxStatus

NOW = datetime(2027, 1, 15, 15, 0, tzinfo=UTC)


def dnd_event(contact_id: str, *, dnd: bool = False, sms: str | None = None, **extra) -> dict:
    """A `ContactDndUpdate` payload as in ghl-api/webhooks/ContactDndUpdate.md."""
    payload = {
        "type": "ContactDndUpdate",
        "locationId": "loc_demo",
        "id": contact_id,
        "dnd": dnd,
        "firstName": "Sam",
        "phone": "+12125550101",
    }
    if sms is not None:
        payload["dndSettings"] = {
            "SMS": {"status": sms, "message": "x", "code": "101"},
            "Email": {"status": "active", "message": "x", "code": "101"},
        }
    return payload | extra


def stored(world, contact_id):
    with session_scope(world.engine, readonly=True) as session:
        return buyers.get_buyer(session=session, contact_id=contact_id)


@pytest.mark.parametrize(
    ("event", "opted_out"),
    [
        ({"sms": "active"}, True),
        ({"sms": "permanent"}, True),
        ({"dnd": True, "sms": "inactive"}, True),  # DND on every channel blocks SMS too
        ({"sms": "inactive"}, False),  # Email DND only (see dnd_event)
        ({}, False),
    ],
)
def test_sms_dnd_on_opts_the_buyer_out_and_cancels_waiting_texts(
    notify_world_any, event, opted_out
):
    world = notify_world_any
    buyer = world.add_buyer()
    world.notify(world.facts("MLS1"), [buyer], now=NOW)
    outcome = handle_dnd_update(engine=world.engine, payload=dnd_event(buyer, **event), now=NOW)
    assert outcome.sms_dnd is opted_out and outcome.known_buyer
    assert outcome.opted_out is opted_out
    assert stored(world, buyer).opted_out is opted_out
    assert stored(world, buyer).dnd_sms is opted_out
    expected = OutboxStatus.CANCELLED if opted_out else OutboxStatus.PENDING
    assert world.item(buyer, "MLS1").status == expected
    assert outcome.cancelled == (1 if opted_out else 0)


def test_dnd_lifted_later_does_not_resubscribe(notify_world):
    world = notify_world
    buyer = world.add_buyer()
    handle_dnd_update(engine=world.engine, payload=dnd_event(buyer, sms="active"), now=NOW)
    outcome = handle_dnd_update(
        engine=world.engine, payload=dnd_event(buyer, sms="inactive"), now=NOW
    )
    assert outcome.sms_dnd is False and outcome.opted_out is True
    row = stored(world, buyer)
    assert row.dnd_sms is False and row.opted_out is True  # the mirror follows, consent does not
    plan = world.plan(world.facts("MLS2"), [buyer], now=NOW)
    assert [(e.group, e.code) for e in plan.entries] == [("excluded", "opted_out")]


def test_a_follow_up_workflow_waiting_for_the_buyer_is_cancelled(notify_world):
    world = notify_world
    buyer = world.add_buyer()
    world.notify(world.facts("MLS1"), [buyer], now=NOW)
    world.deliver(NOW)  # the text; its follow-ups are now queued
    handle_dnd_update(engine=world.engine, payload=dnd_event(buyer, sms="active"), now=NOW)
    actions = {i.payload["action"]: i.status for i in world.items(kind="ghl_followup")}
    assert actions["workflow"] == OutboxStatus.CANCELLED
    assert actions["note"] == OutboxStatus.PENDING  # the record of a text that did go out
    world.deliver_all(NOW)
    assert world.emulator.state.enrolments == []


def test_an_unknown_contact_changes_nothing(notify_world):
    outcome = handle_dnd_update(
        engine=notify_world.engine, payload=dnd_event("c_nobody", sms="active"), now=NOW
    )
    assert outcome.contact_id == "c_nobody" and not outcome.known_buyer
    assert outcome.sms_dnd and not outcome.opted_out and outcome.cancelled == 0
