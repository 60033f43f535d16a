"""GHL's search lags writes by a few seconds: the emulator's search does too (by its own clock),
and after a lost answer DealFinder never creates a contact, opportunity, note or task twice —
it re-checks with what GHL offers besides search (upsert, GET by id, a contact's notes and
tasks) or waits the lag out. Real pipeline, client, emulator over HTTP, and store."""

from datetime import timedelta

import pytest
from sqlalchemy import delete

from sandbox.ghl_emulator import DEMO_LOCATION_ID
from services.ghl_map import GHLMap
from services.pipeline.core import DealPipeline
from services.property import PropertyRecord
from store.db import session_scope
from store.models import OpportunityLink, Property
from tests.fixtures.pipeline import property_row

pytestmark = pytest.mark.slow  # every record kind waits out GHL's search lag

FAULTS = ["drop_after_commit", "server_error"]  # GHL acted and the answer was lost / 5xx


def record(i: int = 0) -> PropertyRecord:
    return PropertyRecord.parse(property_row(i))


def counts(emu, contact_id=None):
    state = emu.state
    mine = [o for o in state.opportunities.values() if contact_id in (None, o.contact_id)]
    return {
        "contacts": len(state.contacts),
        "opportunities": len(mine),
        "notes": len([n for n in state.notes.values() if contact_id in (None, n.contact_id)]),
        "tasks": len([t for t in state.tasks.values() if contact_id in (None, t.contact_id)]),
    }


def test_the_emulators_search_lags_by_its_own_clock(deal_env):
    emu, client, clock = deal_env.emulator, deal_env.client, deal_env.clock
    assert emu.config.search_lag_seconds == 3.0  # the default: lagged, as GHL
    pipeline = emu.state.pipelines[deal_env.pipeline.ghl_map.pipeline_id]
    new = client.contacts.upsert({"email": "new@example.com"}).contact
    opp = client.opportunities.create(
        {"pipelineId": pipeline.id, "contactId": new.id, "name": "Lagged"}
    )
    assert client.contacts.find_by_email("new@example.com") is None
    assert list(client.opportunities.search(contact_id=new.id)) == []
    assert client.contacts.get(new.id).id == new.id  # by id: at once
    assert client.opportunities.get(opp.id).id == opp.id
    clock.now += 3
    assert client.contacts.find_by_email("new@example.com").id == new.id
    assert [o.id for o in client.opportunities.search(contact_id=new.id)] == [opp.id]


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize(
    "path",
    ["/contacts/upsert", "/opportunities/", "/opportunities/upsert", "/contacts/*/notes",
     "/contacts/*/tasks"],
)  # fmt: skip
def test_a_lost_answer_creates_nothing_twice_per_property(deal_env, path, fault):
    emu = deal_env.emulator
    pipeline = deal_env.pipeline  # GHL's default location: a contact per listing
    emu.queue_fault("POST", path, fault, times=1, status=502 if fault == "server_error" else None)
    contacts_before = len(emu.state.contacts)
    result = pipeline.process(record(0))
    assert result.action == "created", result.reason
    opp = emu.state.opportunities[result.opportunity_id]
    assert counts(emu, opp.contact_id) == {
        "contacts": contacts_before + 2,  # the listing's, and the broker's (alerted by text)
        "opportunities": 1,
        "notes": 1,
        "tasks": 3,
    }
    assert emu.count("GET", "/opportunities/search") == 0  # never looked for in the index
    assert deal_env.pipeline.process(record(0)).reason == "unchanged"


@pytest.mark.parametrize("fault", FAULTS)
def test_a_lost_create_with_several_deals_per_contact_waits_out_the_lag(deal_env, fault):
    emu = deal_env.emulator
    emu.state.locations[DEMO_LOCATION_ID].allow_duplicate_opportunity = True
    config = deal_env.config.model_copy(update={"opportunity_contact": "seller"})
    pipeline = DealPipeline(
        deal_env.client, deal_env.engine, config, GHLMap.resolve(deal_env.client, config),
        clock=deal_env.clock.datetime,
    )  # fmt: skip
    status = 502 if fault == "server_error" else None
    emu.queue_fault("POST", "/opportunities/", fault, times=1, status=status)
    result = pipeline.process(record(0))
    assert result.action == "created"
    assert counts(emu, result.contact_id)["opportunities"] == 1 == len(emu.state.opportunities)
    # The look after the unknown outcome waited GHL's search lag out before trusting a miss.
    assert deal_env.client.opportunities.search_settle_seconds in deal_env.clock.slept


def test_a_run_that_died_after_the_create_finds_it_inside_the_lag(deal_env):
    emu = deal_env.emulator
    first = deal_env.pipeline.process(record(0))
    # As if the store never learnt of it (the process died as GHL answered): no link, and the
    # next run comes at once, well inside GHL's search lag.
    with session_scope(deal_env.engine) as session:
        session.execute(delete(OpportunityLink))
        session.execute(delete(Property))
    again = deal_env.pipeline.process(record(0))
    assert again.opportunity_id == first.opportunity_id and again.action == "updated"
    assert len(emu.state.opportunities) == 1
    assert emu.count("GET", "/opportunities/search") == 0


def test_notes_and_tasks_are_looked_for_by_contact_not_by_search(deal_env):
    emu, client, clock = deal_env.emulator, deal_env.client, deal_env.clock
    contact = client.contacts.upsert({"email": "nt@example.com"}).contact
    for path in ("/contacts/*/notes", "/contacts/*/tasks"):
        emu.queue_fault("POST", path, "drop_after_commit", times=1)
    note = client.contacts.add_note(contact.id, "Analysis")
    task = client.contacts.create_task(
        contact.id, title="Call", due=clock.datetime() + timedelta(hours=1)
    )
    assert [n.id for n in client.contacts.notes(contact.id)] == [note.id]
    assert [t.id for t in client.contacts.tasks(contact.id)] == [task.id]
    assert emu.count("POST", "/contacts/search") == 0
