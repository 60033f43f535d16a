"""Buyer sync from GHL into the store, over HTTP against the emulator, on SQLite and PostgreSQL:
every page, incremental updates, buyers who stop being buyers, bad records kept out with reasons."""

from datetime import UTC, datetime, timedelta

import pytest

from ghl.client import GHLClient
from matching.models import PropertyFacts
from sandbox.ghl_emulator import DEFAULT_TOKEN, DEMO_LOCATION_ID
from services.buyer_sync import last_synced, sync_buyers
from services.config import load_deal_config
from services.matcher import BuyerMatcher
from store.buyers import count_buyers, get_buyer
from store.db import session_scope

CONFIG = load_deal_config()


@pytest.fixture
def ghl_emulator(make_emulator):
    emulator = make_emulator()
    emulator.seed_demo(buyers=250, seed=3)
    return emulator


@pytest.fixture
def client(ghl_emulator):
    with GHLClient(
        token=DEFAULT_TOKEN, location_id=DEMO_LOCATION_ID, base_url=ghl_emulator.url
    ) as c:
        yield c


def demo_buyers(emulator):
    return [c for c in emulator.state.contacts.values() if "active_buyer" in c.tags]


def test_full_sync_pages_through_every_buyer_and_explains_bad_ones(client, ghl_emulator, engine):
    report = sync_buyers(client=client, engine=engine, config=CONFIG)
    expected = demo_buyers(ghl_emulator)
    assert report.mode == "full" and report.pages == 1  # 250 buyers, up to 500 a page
    assert report.seen == len(expected) == 250
    assert report.matchable + len(report.excluded) == 250
    assert 0 < len(report.excluded) < 40  # the demo spoils ~5 %
    kinds = ("no phone number", "above budget_max", "empty buy box", "not a number")
    found = {k for reason in report.excluded.values() for k in kinds if k in reason}
    assert all(any(k in reason for k in kinds) for reason in report.excluded.values())
    assert len(found) >= 3, found
    with session_scope(engine) as session:
        assert count_buyers(session=session, location_id=DEMO_LOCATION_ID) == 250
        assert (
            count_buyers(session=session, location_id=DEMO_LOCATION_ID, active_only=True)
            == report.matchable
        )
        some = next(c for c in expected if c.id not in report.excluded)
        stored = get_buyer(session=session, contact_id=some.id)
        assert (
            stored.phone.startswith("+1") and stored.budget_max and (stored.cities or stored.zips)
        )
    assert report.ghl_calls == 1 + 1  # custom fields once, then one search page (pageLimit 500)


def test_a_smaller_page_limit_pages_through_the_same_buyers(client, ghl_emulator, engine):
    report = sync_buyers(client=client, engine=engine, config=CONFIG, page_limit=100)
    assert report.pages == 3 and report.seen == 250 and report.ghl_calls == 1 + 3


def test_incremental_sync_reads_only_what_changed(client, ghl_emulator, engine):
    t0 = datetime.now(UTC)
    sync_buyers(client=client, engine=engine, config=CONFIG, now=t0)
    assert last_synced(engine=engine, location_id=DEMO_LOCATION_ID) == t0
    buyer = next(c for c in demo_buyers(ghl_emulator) if c.phone)
    fields = {f.key: f.id for f in client.locations.custom_fields(model="contact")}
    client.contacts.update(
        buyer.id,
        {
            "customFields": [
                {"id": fields["budget_min"], "field_value": "100000"},
                {"id": fields["budget_max"], "field_value": "999000"},
                {"id": fields["location_preference"], "field_value": "Boise, 83702"},
            ]
        },
    )
    leaver = next(c for c in demo_buyers(ghl_emulator) if c.id != buyer.id)
    client.contacts.remove_tags(leaver.id, ["active_buyer"])

    report = sync_buyers(client=client, engine=engine, config=CONFIG, now=t0 + timedelta(hours=1))
    assert report.mode == "incremental"
    assert report.seen == 1 and report.deactivated == 1 and report.pages == 1
    with session_scope(engine) as session:
        updated = get_buyer(session=session, contact_id=buyer.id)
        assert (updated.budget_min, updated.budget_max, updated.zips) == (100000, 999000, ["83702"])
        assert (
            "not tagged active_buyer"
            in get_buyer(session=session, contact_id=leaver.id).excluded_reason
        )


def test_full_resync_retires_buyers_no_longer_tagged(client, ghl_emulator, engine):
    sync_buyers(client=client, engine=engine, config=CONFIG)
    leaver = demo_buyers(ghl_emulator)[0]
    leaver.tags.remove("active_buyer")  # changed in GHL without touching dateUpdated
    report = sync_buyers(client=client, engine=engine, config=CONFIG, full=True)
    assert report.deactivated == 1 and report.seen == 249


def test_matcher_reads_the_store_and_follows_syncs(client, ghl_emulator, engine):
    sync_buyers(client=client, engine=engine, config=CONFIG)
    matcher = BuyerMatcher(engine=engine, location_id=DEMO_LOCATION_ID)
    facts = PropertyFacts(
        mls_id="MLS-1",
        address="12 Oak St",
        city="Tampa",
        state="FL",
        zip="33602",
        price=250_000,
        property_type="single_family",
        beds=3,
    )
    calls = client.stats.calls
    outcome = matcher.match(facts, min_score=70, limit=5)
    assert client.stats.calls == calls  # matching never calls GHL
    assert outcome.page.total > 0 and len(outcome.page.results) <= 5
    scores = [r.score for r in outcome.page.results]
    assert scores == sorted(scores, reverse=True) and min(scores) >= 70
    top = outcome.page.results[0]
    assert top.contact_id in outcome.buyers and "budget" in top.explain()
    assert outcome.stale is False and "synced 0 min ago" in outcome.freshness()
    assert outcome.excluded > 0
    # a buyer moving away from Tampa loses the location points after the next sync
    assert top.score == 100
    fields = {f.key: f.id for f in client.locations.custom_fields(model="contact")}
    client.contacts.update(
        top.contact_id,
        {"customFields": [{"id": fields["location_preference"], "field_value": "Anchorage"}]},
    )
    sync_buyers(client=client, engine=engine, config=CONFIG)
    again = {r.contact_id: r for r in matcher.match(facts, min_score=70, limit=500).page.results}
    moved = again[top.contact_id]
    assert moved.score == 70
    assert next(c for c in moved.components if c.name == "location").points == 0
    stricter = matcher.match(facts, min_score=71, limit=500).page.results
    assert top.contact_id not in {r.contact_id for r in stricter}


def test_freshness_is_stale_after_the_cache_window(client, engine):
    matcher = BuyerMatcher(engine=engine, location_id=DEMO_LOCATION_ID, cache_minutes=60)
    facts = PropertyFacts(
        mls_id="M",
        address="a",
        city="Tampa",
        state="FL",
        zip="33602",
        price=1,
        property_type=None,
        beds=None,
    )
    assert matcher.match(facts).stale is True  # never synced
    sync_buyers(client=client, engine=engine, config=CONFIG)
    later = datetime.now(UTC) + timedelta(minutes=61)
    outcome = matcher.match(facts, now=later)
    assert outcome.stale and "(stale)" in outcome.freshness(now=later)
