"""Inbound texts (GHL `InboundMessage` webhooks) and their effects, checked at the emulator: the
consent tag, SMS DND, the buyer's pending texts, and the replies (one confirmation, ever; one
HELP answer a day)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.optout.replies import handle_inbound_message
from store import buyers
from store.db import session_scope
from store.models import OutboxStatus

NOW = datetime(2027, 1, 15, 15, 0, tzinfo=UTC)  # 10:00 in New York
NIGHT = datetime(2027, 1, 16, 4, 0, tzinfo=UTC)  # 23:00 in New York: quiet hours


def inbound(contact_id: str, body: str, *, message_id: str = "m1", **extra) -> dict:
    """An `InboundMessage` payload as in ghl-api/webhooks/InboundMessage.md."""
    return {
        "type": "InboundMessage",
        "locationId": "loc_demo",
        "attachments": [],
        "body": body,
        "contactId": contact_id,
        "contentType": "text/plain",
        "conversationId": "conv1",
        "dateAdded": "2027-01-15T15:00:00.000Z",
        "direction": "inbound",
        "messageType": "SMS",
        "status": "delivered",
        "messageId": message_id,
    } | extra


def receive(world, payload, *, now=NOW):
    world.at(now)
    return handle_inbound_message(
        engine=world.engine,
        client=world.client,
        payload=payload,
        rules=world.rules,
        config=world.config,
        now=now,
    )


@pytest.fixture
def buyer_with_a_pending_text(notify_world):
    """A buyer with a deal text deferred to the morning (queued at 22:00 New York)."""
    world = notify_world
    buyer = world.add_buyer(first_name="Sam")
    world.notify(world.facts("MLS9"), [buyer], now=datetime(2027, 1, 15, 3, 0, tzinfo=UTC))
    assert world.item(buyer, "MLS9").status == OutboxStatus.DEFERRED
    return world, buyer


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        ("STOP", "opt_out"),
        ("Stop texting me please", "opt_out"),
        ("unsubscribe", "opt_out"),
        ("Wrong number", "opt_out"),
        ("HELP", "help"),
        ("info", "help"),
        ("Is the Oak St house still available?", "other"),
        ("I'll stop by the house tomorrow", "other"),
        ("START", "opt_in"),
    ],
)
def test_inbound_body_to_effects_at_ghl(buyer_with_a_pending_text, body, kind):
    world, buyer = buyer_with_a_pending_text
    outcome = receive(world, inbound(buyer, body))
    assert outcome.kind == kind
    contact = world.emulator.state.contacts[buyer]
    texts = [m.body for m in world.texts(buyer)]
    pending = world.item(buyer, "MLS9")
    with session_scope(world.engine, readonly=True) as session:
        stored = buyers.get_buyer(session=session, contact_id=buyer)
    if kind == "opt_out":
        assert "sms_opt_in" not in contact.tags
        assert contact.dnd_settings["SMS"]["status"] == "active"
        assert pending.status == OutboxStatus.CANCELLED and outcome.cancelled == 1
        assert stored.opted_out and stored.opted_out_at == NOW
        assert texts == [
            "DealFinder: you're unsubscribed and will get no more texts. "
            "Reply START to resubscribe."
        ]
        assert outcome.reply == "sent"
    else:
        assert "sms_opt_in" in contact.tags and not contact.sms_blocked()
        assert pending.status == OutboxStatus.DEFERRED and not stored.opted_out
    if kind == "help":
        assert texts == [
            "DealFinder: real-estate deal alerts. Msg frequency varies; msg & data "
            "rates may apply. Reply STOP to opt out."
        ]
        assert outcome.reply == "sent"
    if kind in ("other", "opt_in"):
        assert texts == [] and outcome.reply is None
        assert outcome.body == body and outcome.contact_name == "Sam Buyer"


def test_stop_three_times_sends_one_confirmation(buyer_with_a_pending_text):
    world, buyer = buyer_with_a_pending_text
    outcomes = [receive(world, inbound(buyer, "STOP", message_id=f"m{n}")) for n in range(3)]
    outcomes.append(receive(world, inbound(buyer, "STOP", message_id="m2")))  # a webhook retry
    assert [o.reply for o in outcomes] == ["sent", "already_sent", "already_sent", "already_sent"]
    assert len(world.texts(buyer)) == 1
    assert world.emulator.count("POST", "/conversations/messages") == 1
    removals = world.items(kind="ghl_followup")
    assert len([i for i in removals if i.payload["action"] == "remove_tag"]) == 3  # m0, m1, m2
    assert all(i.status == OutboxStatus.SENT for i in removals)


def test_the_confirmation_goes_out_at_night_and_nothing_else_does(buyer_with_a_pending_text):
    world, buyer = buyer_with_a_pending_text
    outcome = receive(world, inbound(buyer, "STOP"), now=NIGHT)
    assert outcome.reply == "sent"
    assert len(world.texts(buyer)) == 1
    world.deliver_all(datetime(2027, 1, 16, 13, 0, tzinfo=UTC))  # the morning release
    assert len(world.texts(buyer)) == 1  # the deferred deal text stayed cancelled


def test_a_stop_arriving_while_a_worker_holds_the_text_stops_it_at_send_time(notify_world):
    """The opt-out cannot cancel an item a worker has claimed; the worker's send-time check,
    made after the claim, sees the opt-out and cancels it instead of sending."""
    world = notify_world
    buyer = world.add_buyer()
    world.notify(world.facts("MLS1"), [buyer], now=NOW)

    def stop_arrives(point, item):
        if point == "claimed" and item.kind == "sms":
            receive(world, inbound(buyer, "STOP"))

    report = world.deliver(NOW, checkpoint=stop_arrives)
    assert report.counts == {"cancelled": 1}
    assert world.item(buyer, "MLS1").status == OutboxStatus.CANCELLED
    assert [m.body[:35] for m in world.texts(buyer)] == ["DealFinder: you're unsubscribed and"]


def test_when_ghl_already_set_dnd_the_confirmation_is_refused_and_recorded(notify_world):
    """GHL's own STOP handling may set DND before our webhook arrives; GHL then refuses every
    SMS, ours included, and the confirmation ends excluded with GHL's reason."""
    world = notify_world
    buyer = world.add_buyer()
    world.client.contacts.set_sms_dnd(buyer, active=True)
    outcome = receive(world, inbound(buyer, "STOP"))
    assert outcome.reply == "excluded" and world.texts(buyer) == []
    (confirmation,) = world.items(kind="sms_reply")
    assert "ghl_refused" in confirmation.last_error
    assert "sms_opt_in" not in world.emulator.state.contacts[buyer].tags


def test_help_is_answered_once_a_day(notify_world):
    world = notify_world
    buyer = world.add_buyer()
    replies = [
        receive(world, inbound(buyer, "HELP", message_id="h1"), now=NOW).reply,
        receive(
            world, inbound(buyer, "help", message_id="h2"), now=NOW + timedelta(hours=23)
        ).reply,
        receive(
            world, inbound(buyer, "HELP", message_id="h3"), now=NOW + timedelta(hours=25)
        ).reply,
    ]
    assert replies == ["sent", "suppressed", "sent"]
    assert len(world.texts(buyer)) == 2


def test_help_after_an_opt_out_gets_no_answer(notify_world):
    world = notify_world
    buyer = world.add_buyer()
    receive(world, inbound(buyer, "STOP", message_id="s1"))
    outcome = receive(world, inbound(buyer, "HELP", message_id="h1"))
    assert outcome.reply == "cancelled"
    assert len(world.texts(buyer)) == 1  # the confirmation only


def test_other_replies_carry_what_the_deal_thread_needs(notify_world):
    world = notify_world
    buyer = world.add_buyer(first_name="Ria")
    world.notify(world.facts("MLS5"), [buyer], now=NOW)
    world.deliver_all(NOW)
    outcome = receive(world, inbound(buyer, "Can I see it Saturday?", message_id="q1"))
    assert outcome.kind == "other" and outcome.mls_id == "MLS5"
    assert outcome.contact_id == buyer and outcome.contact_name == "Ria Buyer"
    assert outcome.conversation_id == "conv1" and outcome.known_buyer


@pytest.mark.parametrize(
    "changes",
    [
        {"messageType": "Email", "body": "STOP"},
        {"direction": "outbound", "body": "STOP"},
        {"messageType": "CALL", "body": ""},
        {"contactId": None, "body": "STOP"},
    ],
)
def test_only_inbound_sms_is_acted_on(notify_world, changes):
    world = notify_world
    buyer = world.add_buyer()
    outcome = receive(world, inbound(buyer, "x") | changes)
    assert outcome.kind == "ignored"
    assert world.items() == [] and world.texts() == []
    assert "sms_opt_in" in world.emulator.state.contacts[buyer].tags


def test_an_opt_out_from_a_contact_not_in_the_store_is_still_honoured_in_ghl(notify_world):
    world = notify_world
    contact = world.client.contacts.upsert(
        {"firstName": "Zed", "phone": "+12125550188", "tags": ["sms_opt_in"]}
    ).contact
    outcome = receive(world, inbound(contact.id, "STOP"))
    assert outcome.kind == "opt_out" and not outcome.known_buyer
    ghl = world.emulator.state.contacts[contact.id]
    assert "sms_opt_in" not in ghl.tags and ghl.sms_blocked()
    assert len(world.texts(contact.id)) == 1


def test_every_consent_tag_the_rules_accept_is_removed(notify_world):
    world = notify_world
    world.rules = world.rules.model_copy(update={"opt_in_tags": ("sms_opt_in", "text_ok")})
    buyer = world.add_buyer(tags=("active_buyer", "sms_opt_in", "text_ok"))
    receive(world, inbound(buyer, "STOP"))
    assert world.emulator.state.contacts[buyer].tags == ["active_buyer"]
