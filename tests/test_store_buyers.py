"""Buyers, properties and opportunity links round-trip through the real database, with every
timestamp coming back as aware UTC on both engines."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from store import buyers, deals
from store.db import session_scope
from store.models import Buyer
from store.schemas import BuyerIn
from store.types import as_utc

NOW = datetime(2024, 3, 10, 15, 30, tzinfo=UTC)
CHICAGO = timezone(timedelta(hours=-6))


def buyer_in(contact_id="c1", **fields):
    return BuyerIn(contact_id=contact_id, location_id=fields.pop("location_id", "L1"), **fields)


def test_upsert_then_read_back_in_a_new_session(engine):
    with session_scope(engine) as session:
        buyers.upsert_buyer(
            session=session,
            buyer_in=buyer_in(
                name="Ann Lee",
                phone="+15125550100",
                tags=["cash", " cash ", ""],
                cities=[" San  Antonio ", "AUSTIN", "austin"],
                zips=["78701-1234", "78702", "7870", "abcde"],
                property_types=["SFR"],
                budget_min=100_000,
                budget_max=250_000,
                min_bedrooms=3,
                ghl_updated_at=datetime(2024, 3, 10, 9, 0, tzinfo=CHICAGO),
            ),
            now=NOW,
        )
    with session_scope(engine) as session:
        got = buyers.get_buyer(session=session, contact_id="c1")
    assert got is not None
    assert (got.name, got.phone, got.budget_min, got.budget_max) == (
        "Ann Lee",
        "+15125550100",
        100_000,
        250_000,
    )
    assert got.tags == ["cash"]
    assert got.cities == ["san antonio", "austin"]
    assert got.zips == ["78701", "78702"]
    assert got.ghl_updated_at == datetime(2024, 3, 10, 15, 0, tzinfo=UTC)
    assert got.ghl_updated_at.tzinfo == UTC
    assert got.synced_at == NOW and got.synced_at.tzinfo == UTC


def test_naive_timestamps_are_taken_as_utc(engine):
    naive = datetime(2024, 1, 2, 3, 4, 5)
    with session_scope(engine) as session:
        buyers.upsert_buyer(session=session, buyer_in=buyer_in(ghl_updated_at=naive), now=NOW)
    with session_scope(engine) as session:
        got = buyers.get_buyer(session=session, contact_id="c1")
    assert got.ghl_updated_at == naive.replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (datetime(2024, 1, 1, 12), datetime(2024, 1, 1, 12, tzinfo=UTC)),
        (datetime(2024, 1, 1, 6, tzinfo=CHICAGO), datetime(2024, 1, 1, 12, tzinfo=UTC)),
        (datetime(2024, 1, 1, 12, tzinfo=UTC), datetime(2024, 1, 1, 12, tzinfo=UTC)),
    ],
)
def test_as_utc(value, expected):
    assert as_utc(value) == expected
    assert as_utc(value).tzinfo == UTC


def test_upsert_updates_and_keeps_an_opt_out(engine):
    with session_scope(engine) as session:
        buyers.upsert_buyer(session=session, buyer_in=buyer_in(name="Old"), now=NOW)
        assert buyers.mark_opted_out(session=session, contact_id="c1", now=NOW)
    later = NOW + timedelta(hours=1)
    with session_scope(engine) as session:
        got = buyers.upsert_buyer(
            session=session, buyer_in=buyer_in(name="New", opted_out=False), now=later
        )
    assert got.name == "New" and got.synced_at == later
    # A STOP reply recorded here must survive a sync that has not seen it yet.
    assert got.opted_out is True and got.opted_out_at == NOW


def test_opt_out_from_the_sync_is_stamped_once(engine):
    with session_scope(engine) as session:
        first = buyers.upsert_buyer(session=session, buyer_in=buyer_in(opted_out=True), now=NOW)
        again = buyers.upsert_buyer(
            session=session, buyer_in=buyer_in(opted_out=True), now=NOW + timedelta(days=1)
        )
        assert first.opted_out_at == NOW
        assert again.opted_out_at == NOW
        assert buyers.mark_opted_out(session=session, contact_id="c1", now=NOW + timedelta(2))
        assert buyers.get_buyer(session=session, contact_id="c1").opted_out_at == NOW


def test_mark_opted_out_of_an_unknown_buyer(session):
    assert buyers.mark_opted_out(session=session, contact_id="nobody", now=NOW) is False


def test_active_buyers_leave_out_excluded_opted_out_and_other_locations(session):
    for contact_id, fields in [
        ("a", {}),
        ("b", {"excluded_reason": "budget_min > budget_max"}),
        ("c", {"opted_out": True}),
        ("d", {"location_id": "L2"}),
        ("e", {"dnd_sms": True}),  # DND stops SMS, not matching
    ]:
        buyers.upsert_buyer(session=session, buyer_in=buyer_in(contact_id, **fields), now=NOW)
    active = buyers.list_active_buyers(session=session, location_id="L1")
    assert [b.contact_id for b in active] == ["a", "e"]
    assert buyers.count_buyers(session=session, location_id="L1") == 4
    assert buyers.count_buyers(session=session, location_id="L1", active_only=True) == 2


@pytest.mark.parametrize("phone", ["5125550100", "+0123456789", "+1 512 555 0100", "+1"])
def test_phone_must_be_e164(phone):
    with pytest.raises(ValidationError, match=r"E\.164"):
        buyer_in(phone=phone)


def test_blank_phone_is_none():
    assert buyer_in(phone="").phone is None


def test_property_upsert_keeps_created_at(session):
    deals.upsert_property(
        session=session, mls_id="M1", location_id="L1", data={"price": 1}, deal_score=7, now=NOW
    )
    later = NOW + timedelta(hours=2)
    got = deals.upsert_property(
        session=session,
        mls_id="M1",
        location_id="L1",
        data={"price": 2, "beds": 3},
        deal_score=8.5,
        now=later,
    )
    assert (got.data, got.deal_score) == ({"price": 2, "beds": 3}, 8.5)
    assert (got.created_at, got.updated_at) == (NOW, later)
    assert deals.get_property(session=session, mls_id="M1") is got
    assert deals.get_property(session=session, mls_id="nope") is None


def test_opportunity_link_record_and_update(engine):
    link = deals.OpportunityLinkIn(
        mls_id="M1", location_id="L1", opportunity_id="opp1", pipeline_id="p", stage_id="s1"
    )
    with session_scope(engine) as session:
        assert deals.get_opportunity_link(session=session, mls_id="M1", location_id="L1") is None
        deals.record_opportunity_link(session=session, link_in=link, now=NOW)
    moved = link.model_copy(update={"stage_id": "s2", "status": "won"})
    later = NOW + timedelta(minutes=5)
    with session_scope(engine) as session:
        deals.record_opportunity_link(session=session, link_in=moved, now=later)
        # Same MLS number in another location is another deal.
        other = link.model_copy(update={"location_id": "L2", "opportunity_id": "opp9"})
        deals.record_opportunity_link(session=session, link_in=other, now=later)
    with session_scope(engine) as session:
        got = deals.get_opportunity_link(session=session, mls_id="M1", location_id="L1")
        assert (got.opportunity_id, got.stage_id, got.status) == ("opp1", "s2", "won")
        assert (got.created_at, got.updated_at) == (NOW, later)
        l2 = deals.get_opportunity_link(session=session, mls_id="M1", location_id="L2")
        assert l2.opportunity_id == "opp9"


def test_json_lists_round_trip_unicode(session):
    buyers.upsert_buyer(
        session=session, buyer_in=buyer_in(cities=["Cañon City"], tags=["vip ★"]), now=NOW
    )
    session.expire_all()
    got = session.get(Buyer, "c1")
    assert got.cities == ["cañon city"] and got.tags == ["vip ★"]
