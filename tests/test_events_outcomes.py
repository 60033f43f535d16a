"""The GHL webhook handlers of `services.events`, called directly: each returns a typed
outcome (what happened, for the Slack adapter and the log), on the notifier's world (SQLite
store, the GHL emulator over HTTP, the real notifier)."""

from __future__ import annotations

from typing import Any

import pytest

from services.events.contacts import FieldIds, buyer_changed, dnd_changed, ghl_contact
from services.events.deals import opportunity_changed, task_completed
from services.events.outcomes import (
    BuyerRefreshed,
    DealChange,
    DealsMoved,
    DealUpdated,
    DndRecorded,
    Ignored,
    ReplyOutcome,
    ReplyRoute,
)
from services.events.replies import reply_received, reply_route
from services.optout.replies import handle_dnd_update, handle_inbound_message
from services.pipeline.activity import StageMove
from store import cards
from store.db import session_scope
from store.deals import OpportunityLinkIn, get_opportunity_link, record_opportunity_link

LOCATION = "loc_demo"


def inbound_of(world: Any):
    def inbound(payload: dict[str, Any], now: Any) -> Any:
        return handle_inbound_message(
            engine=world.engine, client=world.client, payload=payload, rules=world.rules,
            config=world.config, now=now,
        )  # fmt: skip

    return inbound


def reply(world: Any, contact_id: str, body: str, **extra: Any) -> ReplyOutcome:
    payload = {"type": "InboundMessage", "locationId": LOCATION, "contactId": contact_id,
               "body": body, "messageType": "SMS", "direction": "inbound"} | extra  # fmt: skip
    return reply_received(
        engine=world.engine, payload=payload, now=world.clock.now, inbound=inbound_of(world)
    )


def texted(world: Any, contact_id: str, mls_id: str = "MLS1") -> None:
    now = world.at("2027-01-15 15:00")
    world.notify(world.facts(mls_id), [contact_id], now=now)
    world.deliver_all(now)


def pending_card_changes(world: Any, mls_id: str) -> int:
    with session_scope(world.engine, readonly=True) as session:
        return cards.pending(session=session, mls_id=mls_id)


# -- InboundMessage ---------------------------------------------------------------------------


def test_a_reply_for_the_team_carries_its_deal_name_score_and_id(notify_world) -> None:
    world = notify_world
    buyer = world.add_buyer(first_name="Dana")
    texted(world, buyer)
    outcome = reply(world, buyer, "Still available?", messageId="in-7")
    assert outcome == ReplyOutcome(
        kind="other", route=ReplyRoute.TO_TEAM, contact_id=buyer, mls_id="MLS1",
        name="Dana Buyer", score=100, body="Still available?", reply_id="in-7",
    )  # fmt: skip
    assert pending_card_changes(world, "MLS1") > 0  # the card counts replies


def test_a_stop_was_answered_by_the_notifier_and_is_not_posted(notify_world) -> None:
    world = notify_world
    buyer = world.add_buyer()
    texted(world, buyer)
    outcome = reply(world, buyer, "STOP")
    assert (outcome.kind, outcome.route, outcome.mls_id) == ("opt_out", ReplyRoute.ANSWERED, "MLS1")
    assert outcome.describe() == "opt_out"


def test_a_reply_from_someone_never_texted_has_no_deal_to_go_to(notify_world) -> None:
    world = notify_world
    buyer = world.add_buyer()
    outcome = reply(world, buyer, "hello")
    assert (outcome.route, outcome.mls_id) == (ReplyRoute.NO_DEAL, None)
    assert outcome.describe() == "other: not posted: this contact was never texted about a deal"


def test_a_non_sms_message_still_finds_its_deal_by_the_same_rule(notify_world) -> None:
    world = notify_world
    buyer = world.add_buyer()
    texted(world, buyer, "MLS4")
    outcome = reply(world, buyer, "see email", messageType="Email")
    assert (outcome.kind, outcome.route, outcome.mls_id) == ("ignored", ReplyRoute.ANSWERED, "MLS4")


@pytest.mark.parametrize(
    ("kind", "contact_id", "mls_id", "route"),
    [
        ("other", "c1", "MLS1", ReplyRoute.TO_TEAM),
        ("opt_in", "c1", "MLS1", ReplyRoute.TO_TEAM),  # START: the team restores consent
        ("other", "c1", None, ReplyRoute.NO_DEAL),
        ("other", None, None, ReplyRoute.NO_CONTACT),
        ("opt_out", "c1", "MLS1", ReplyRoute.ANSWERED),
        ("help", "c1", "MLS1", ReplyRoute.ANSWERED),
        ("possible_opt_out", "c1", "MLS1", ReplyRoute.ANSWERED),
        ("ignored", "c1", "MLS1", ReplyRoute.ANSWERED),
    ],
)
def test_where_a_reply_goes(kind: str, contact_id: str | None, mls_id: str | None, route) -> None:
    assert reply_route(kind, contact_id=contact_id, mls_id=mls_id) is route


# -- contacts ---------------------------------------------------------------------------------


def refresh(world: Any, body: dict[str, Any]) -> BuyerRefreshed | Ignored:
    ids = FieldIds(client=world.client, config=world.config)
    return buyer_changed(engine=world.engine, client=world.client, config=world.config,
                         field_ids=ids, body=body, now=world.clock.now)  # fmt: skip


def test_contact_events_say_what_they_did_to_the_buyer_cache(notify_world) -> None:
    world = notify_world
    buyer = world.add_buyer()
    stranger = world.client.contacts.upsert({"firstName": "Sam", "email": "sam@example.com"})
    assert refresh(world, {"id": buyer}) == BuyerRefreshed(contact_id=buyer, excluded=True)
    ids = FieldIds(client=world.client, config=world.config).get()
    box = {"budget_min": "100000", "budget_max": "300000", "location_preference": "Tampa"}
    fields = [{"id": ids[key], "field_value": value} for key, value in box.items()]
    world.client.contacts.update(buyer, {"customFields": fields})  # a buy box matching can read
    assert refresh(world, {"id": buyer}) == BuyerRefreshed(contact_id=buyer, excluded=False)
    assert refresh(world, {"contactId": stranger.contact.id}) is Ignored.NOT_A_BUYER
    assert refresh(world, {}) is Ignored.NO_CONTACT_ID
    assert refresh(world, {"id": "no-such-contact"}) is Ignored.CONTACT_GONE
    world.client.contacts.remove_tags(buyer, ["active_buyer"])
    gone = refresh(world, {"id": buyer})
    assert gone == BuyerRefreshed(contact_id=buyer, excluded=True)
    assert gone.describe() == "buyer refreshed (excluded)"


def test_a_dnd_event_without_its_state_reads_it_from_ghl(notify_world) -> None:
    world = notify_world
    buyer = world.add_buyer()
    world.client.contacts.set_sms_dnd(buyer, active=True)

    def dnd(payload: dict[str, Any], now: Any) -> Any:
        return handle_dnd_update(engine=world.engine, payload=payload, now=now)

    outcome = dnd_changed(client=world.client, body={"id": buyer}, now=world.clock.now,
                          dnd_update=dnd)  # fmt: skip
    assert outcome == DndRecorded(contact_id=buyer, sms_dnd=True, opted_out=True)
    assert outcome.describe() == "sms dnd on"
    assert ghl_contact(world.client, {"contactId": ""}) is Ignored.NO_CONTACT_ID


def test_field_ids_are_read_from_ghl_once_an_hour(notify_world) -> None:
    world = notify_world
    clock = [0.0]
    ids = FieldIds(client=world.client, config=world.config, clock=lambda: clock[0])
    first = ids.get()
    assert set(first) == set(world.config.contact_fields)  # the demo location has them all
    assert ids.get() is first  # cached
    clock[0] = 3600.0
    assert ids.get() is not first and ids.get() == first  # read again after the hour


# -- deals ------------------------------------------------------------------------------------


def link(world: Any, opportunity_id: str, *, stage_id: str, contact_id: str) -> None:
    link_in = OpportunityLinkIn(
        mls_id="MLS7", location_id=LOCATION, opportunity_id=opportunity_id,
        contact_id=contact_id, pipeline_id="p", stage_id=stage_id, status="open",
    )  # fmt: skip
    with session_scope(world.engine) as session:
        record_opportunity_link(session=session, link_in=link_in)


def test_an_opportunity_event_reports_the_change_before_recording_it(notify_world) -> None:
    world = notify_world
    contact = world.add_buyer(first_name="Seller")
    pipeline = world.client.opportunities.pipelines()[0]
    first, later = pipeline.stages[0], pipeline.stages[2]
    fields = {"pipelineId": pipeline.id, "name": "MLS7 deal", "contactId": contact}
    opp = world.client.opportunities.create(fields | {"pipelineStageId": later.id})
    link(world, opp.id, stage_id=first.id, contact_id=contact)
    seen: list[tuple[DealChange, str | None]] = []

    def on_change(change: DealChange) -> None:
        with session_scope(world.engine, readonly=True) as session:
            stored = get_opportunity_link(session=session, mls_id="MLS7", location_id=LOCATION)
        seen.append((change, stored.stage_id))

    body = {"id": opp.id, "webhookId": "wh-1"}
    outcome = opportunity_changed(engine=world.engine, client=world.client, body=body,
                                  now=world.clock.now, on_change=on_change)  # fmt: skip
    change = DealChange(mls_id="MLS7", old_stage_id=first.id, new_stage_id=later.id,
                        old_status="open", new_status="open", event_key="wh-1")  # fmt: skip
    assert outcome == DealUpdated(change=change, status="open")
    assert seen == [(change, first.id)]  # the hook ran while the store still had the old stage
    assert outcome.describe() == "deal MLS7 updated (open)"
    assert pending_card_changes(world, "MLS7") > 0


def test_opportunity_events_that_change_nothing_say_why(notify_world) -> None:
    world = notify_world
    link(world, "opp-deleted-in-ghl", stage_id="s1", contact_id="c1")

    def changed(body: dict[str, Any]) -> DealUpdated | Ignored:
        return opportunity_changed(engine=world.engine, client=world.client, body=body,
                                   now=world.clock.now)  # fmt: skip

    assert changed({}) is Ignored.NO_OPPORTUNITY_ID
    assert changed({"id": "someone-elses"}) is Ignored.NOT_OUR_DEAL
    assert changed({"id": "opp-deleted-in-ghl"}) is Ignored.OPPORTUNITY_GONE
    assert Ignored.NOT_OUR_DEAL.describe() == "not a DealFinder deal"


def test_a_completed_task_reports_only_the_deals_it_moved(notify_world) -> None:
    world = notify_world
    moves = [
        StageMove("MLS1", "o1", "new_lead", "showing", moved=True, reason="task"),
        StageMove("MLS2", "o2", "showing", "showing", moved=False, reason="not forward"),
    ]
    asked: list[tuple[str, str]] = []

    def advance(contact_id: str, title: str) -> list[StageMove]:
        asked.append((contact_id, title))
        return moves

    body = {"contactId": "c1", "title": "Schedule showing", "webhookId": "wh-9"}
    outcome = task_completed(engine=world.engine, body=body, advance=advance)
    assert outcome == DealsMoved(title="Schedule showing", moves=(moves[0],), event_key="wh-9")
    assert asked == [("c1", "Schedule showing")] and outcome.describe() == "1 deal(s) moved"
    assert pending_card_changes(world, "MLS1") > 0 and pending_card_changes(world, "MLS2") == 0
    no_title = task_completed(engine=world.engine, body={"contactId": "c1"}, advance=advance)
    assert no_title is Ignored.NO_CONTACT_OR_TITLE and len(asked) == 1
