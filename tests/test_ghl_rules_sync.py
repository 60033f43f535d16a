"""Buyer sync against GHL's real search: pages of 500, a buyer GHL's index has not caught up
with is picked up by the next incremental run, a failing page stops the sync cleanly, and the
fast phone check agrees with the full one (real client, emulator over HTTP, store)."""

from datetime import timedelta

import pytest

from ghl.errors import GHLServerError
from matching.notify import normalize_phone
from services.buyer_sync import buyer_phone, pages_ahead, sync_buyers
from services.config import load_deal_config
from store.buyers import get_buyer
from store.db import session_scope
from tests.fixtures.pipeline import client_for

CONFIG = load_deal_config()


@pytest.mark.parametrize(
    "phone",
    [
        "+18135550100",  # Tampa
        "+18135550101",  # same exchange: answered from what the first one taught
        "+15125550123",
        "+11235550100",  # area code 123 does not exist
        "+18005550100",  # toll free
        "+19999999999",
        "+1813555010",  # too short
        "(813) 555-0100",  # not E.164: parsed in full
        "+442079460000",  # London
        "",
        None,
    ],
)
def test_the_fast_phone_check_agrees_with_the_full_one(phone):
    assert buyer_phone(phone) == normalize_phone(phone)


@pytest.fixture
def sync_env(make_emulator, engine, fake_clock):
    emulator = make_emulator(clock=fake_clock, burst_max=10_000, burst_interval_ms=1_000)
    emulator.seed_demo(buyers=30, seed=2)
    client = client_for(emulator, fake_clock)
    yield emulator, client, engine, fake_clock
    client.close()


def test_a_buyer_inside_the_search_lag_is_caught_by_the_next_run(sync_env):
    _emulator, client, engine, clock = sync_env
    first = sync_buyers(client=client, engine=engine, config=CONFIG, now=clock.datetime())
    assert first.mode == "full" and first.seen == 30 and first.pages == 1
    fresh = client.contacts.upsert(
        {"firstName": "Nia", "phone": "+18135550177", "tags": ["active_buyer"]}
    ).contact
    clock.now += 1  # GHL's index has not seen it yet
    soon = sync_buyers(client=client, engine=engine, config=CONFIG, now=clock.datetime())
    assert soon.mode == "incremental" and soon.seen == 0
    clock.now += timedelta(hours=1).total_seconds()
    later = sync_buyers(client=client, engine=engine, config=CONFIG, now=clock.datetime())
    assert later.seen == 1  # the overlap of the incremental filter covers the lag
    with session_scope(engine) as session:
        assert get_buyer(session=session, contact_id=fresh.id).first_name == "Nia"


def test_a_page_ghl_keeps_failing_stops_the_sync_and_keeps_the_cursor(sync_env):
    emulator, client, engine, clock = sync_env
    emulator.queue_fault("POST", "/contacts/search", "server_error", times=10, status=503)
    with pytest.raises(GHLServerError):
        sync_buyers(client=client, engine=engine, config=CONFIG, now=clock.datetime())
    again = sync_buyers(client=client, engine=engine, config=CONFIG, now=clock.datetime())
    assert again.mode == "full" and again.seen == 30  # no last sync was recorded


def test_pages_ahead_stops_fetching_when_the_reader_stops(sync_env):
    emulator, client, _engine, _clock = sync_env
    tag = [client.contacts.tag_filter("active_buyer")]
    pages = pages_ahead(client, filters=tag, page_limit=5)
    assert len(next(pages)) == 5
    pages.close()  # the reader gives up after one page; close() waits for the fetcher
    # This page, the one fetched ahead, at most one more under way: not all seven.
    assert emulator.count("POST", "/contacts/search") <= 3
