"""GHL's one-open-opportunity-per-contact rule: the emulator enforces it by default, the deal
pipeline gives a listing agent one deal per listing anyway, and `validate` says when the
mapping's strategy and the location's setting do not fit (real pipeline, emulator, store)."""

import pytest

from sandbox.ghl_emulator import DEMO_LOCATION_ID
from services.ghl_map import GHLMap, contact_strategy
from services.pipeline.core import DealPipeline
from services.property import PropertyRecord
from services.validator import validate_setup
from tests.fixtures.pipeline import property_row

pytestmark = pytest.mark.slow  # the deal pipeline per strategy, on both engines

SAME_AGENT = {"agent_name": "Pat Lister", "agent_email": "pat@example.com", "agent_phone": None}


def listing(i: int, **changes) -> PropertyRecord:
    return PropertyRecord.parse(property_row(i, **{**SAME_AGENT, **changes}))


def pipeline_for(deal_env, strategy: str) -> DealPipeline:
    config = deal_env.config.model_copy(update={"opportunity_contact": strategy})
    return DealPipeline(
        deal_env.client, deal_env.engine, config, GHLMap.resolve(deal_env.client, config),
        clock=deal_env.clock.datetime,
    )  # fmt: skip


def allow_multiple(deal_env, allowed: bool) -> None:
    deal_env.emulator.state.locations[DEMO_LOCATION_ID].allow_duplicate_opportunity = allowed


def deals(emu):
    return list(emu.state.opportunities.values())


@pytest.mark.parametrize(
    ("chosen", "allowed", "used"),
    [
        ("seller", False, "seller"),
        ("seller", True, "seller"),
        ("per_property", True, "per_property"),
        ("per_property", False, "per_property"),
        ("auto", True, "seller"),
        ("auto", False, "per_property"),
        ("auto", None, "per_property"),  # GHL did not say: its default is off
    ],
)
def test_contact_strategy(chosen, allowed, used):
    assert contact_strategy(chosen, allow_duplicates=allowed) == used


def test_an_agent_with_two_listings_gets_two_deals_with_ghls_defaults(deal_env):
    emu = deal_env.emulator
    assert emu.state.locations[DEMO_LOCATION_ID].allow_duplicate_opportunity is False  # GHL's
    pipeline = deal_env.pipeline  # the packaged mapping: "auto"
    assert pipeline.ghl_map.opportunity_contact == "per_property"
    first, second = listing(0), listing(1)
    results = [pipeline.process(first), pipeline.process(second)]
    assert [r.action for r in results] == ["created", "created"]
    made = deals(emu)
    assert sorted(o.name.split(" — ")[0] for o in made) == [first.mls_id, second.mls_id]
    contacts = [emu.state.contacts[o.contact_id] for o in made]
    assert len({c.id for c in contacts}) == 2  # a contact per listing, keyed by its MLS id
    assert {c.email for c in contacts} == {
        f"listing-{first.mls_id.lower()}@dealfinder.invalid",
        f"listing-{second.mls_id.lower()}@dealfinder.invalid",
    }
    assert all(c.extra["companyName"] == "Listing agent: Pat Lister" for c in contacts)
    assert all("dealfinder" in c.tags for c in contacts)
    assert not [c for c in emu.state.contacts.values() if c.email == "pat@example.com"]
    for contact in contacts:  # the agent is named in the listing's contact and its note
        [note] = [n for n in emu.state.notes.values() if n.contact_id == contact.id]
        assert "\nListing agent: Pat Lister · pat@example.com\n" in note.body
    assert emu.count("GET", "/opportunities/search") == 0  # nothing waits on GHL's search index
    before = (len(emu.state.opportunities), len(emu.state.contacts), len(emu.state.notes))
    assert {deal_env.pipeline.process(r).reason for r in (first, second)} == {"unchanged"}
    assert (len(emu.state.opportunities), len(emu.state.contacts), len(emu.state.notes)) == before


def test_the_seller_strategy_meets_ghls_rule_with_the_fix(deal_env):
    pipeline = pipeline_for(deal_env, "seller")
    assert pipeline.process(listing(0)).action == "created"
    refused = pipeline.process(listing(1))
    assert refused.action == "failed"
    assert "Settings > Objects > Opportunities" in refused.reason
    assert '"opportunity_contact": "per_property"' in refused.reason
    assert len(deals(deal_env.emulator)) == 1


def test_the_seller_strategy_when_the_location_allows_several(deal_env):
    allow_multiple(deal_env, True)
    pipeline = pipeline_for(deal_env, "auto")
    assert pipeline.ghl_map.opportunity_contact == "seller"
    assert [pipeline.process(listing(i)).action for i in (0, 1)] == ["created", "created"]
    made = deals(deal_env.emulator)
    assert len(made) == 2 and len({o.contact_id for o in made}) == 1
    assert deal_env.emulator.state.contacts[made[0].contact_id].email == "pat@example.com"


def test_a_closed_deal_does_not_block_the_agents_next_one(deal_env):
    pipeline = pipeline_for(deal_env, "seller")
    first = pipeline.process(listing(0))
    deal_env.client.opportunities.update_status(first.opportunity_id, "won")
    assert pipeline.process(listing(1)).action == "created"  # only OPEN ones count
    assert len(deals(deal_env.emulator)) == 2


@pytest.mark.parametrize(
    ("strategy", "allowed", "ok", "words"),
    [
        ("seller", False, False, "is off"),
        ("seller", True, True, "the location allows several"),
        ("auto", False, True, "a contact per listing"),
        ("per_property", True, True, "a contact per listing"),
    ],
)
def test_validate_reads_the_location_setting(deal_env, strategy, allowed, ok, words):
    allow_multiple(deal_env, allowed)
    config = deal_env.config.model_copy(update={"opportunity_contact": strategy})
    report = validate_setup(deal_env.client, config)
    [row] = [r for r in report.rows if r.check.startswith("one opportunity per listing")]
    assert row.ok is ok and words in row.detail
    assert report.ok is ok  # everything else in the demo location passes
    if not ok:
        assert "Settings > Objects > Opportunities" in row.fix and "per_property" in row.fix
        assert [r.check for r in report.failures] == [row.check]


def test_the_emulator_refuses_a_second_open_opportunity(seeded_emulator, ghl_http):
    pipeline = next(iter(seeded_emulator.state.pipelines.values()))
    contact = ghl_http.post(
        "/contacts/upsert", json={"locationId": DEMO_LOCATION_ID, "email": "o@example.com"}
    ).json()["contact"]
    body = {"locationId": DEMO_LOCATION_ID, "pipelineId": pipeline.id,
            "contactId": contact["id"], "status": "open"}  # fmt: skip
    first = ghl_http.post("/opportunities/", json=body | {"name": "A"})
    assert first.status_code == 201
    again = ghl_http.post("/opportunities/", json=body | {"name": "B"})
    assert again.status_code == 400
    assert again.json()["message"] == "Can not create duplicate opportunity for the contact."
    seeded_emulator.state.opportunities[first.json()["opportunity"]["id"]].status = "lost"
    assert ghl_http.post("/opportunities/", json=body | {"name": "C"}).status_code == 201
    seeded_emulator.state.locations[DEMO_LOCATION_ID].allow_duplicate_opportunity = True
    assert ghl_http.post("/opportunities/", json=body | {"name": "D"}).status_code == 201
    assert len(seeded_emulator.state.opportunities) == 3


def test_per_property_where_the_location_allows_several_upserts_first(deal_env):
    emu = deal_env.emulator
    allow_multiple(deal_env, True)
    pipeline = pipeline_for(deal_env, "per_property")
    emu.queue_fault("POST", "/opportunities/upsert", "drop_after_commit", times=1)
    results = [pipeline.process(listing(i)) for i in (0, 1)]
    assert [r.action for r in results] == ["created", "created"]
    made = deals(emu)
    assert len(made) == 2 and len({o.contact_id for o in made}) == 2
    assert emu.count("POST", "/opportunities/") == 0  # a plain create could not be re-checked
    assert all(o.custom_fields and o.stage_id for o in made)  # filled in by the PUT
