"""One rule, one place: a buyer's display name, a buyer's match profile, and which deal a reply
is about are each decided by one function, and every caller gets the same answer from it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from services.matcher import BuyerMatcher, profile_of
from services.notify.common import KIND_REPLY, KIND_SMS, PURPOSE_BROKER, PURPOSE_MATCH
from services.notify.inbound import last_deal
from services.notify.notifier import load_matches
from store import buyers, outbox
from store.buyers import display_name
from store.db import session_scope
from store.models import Buyer, OutboxStatus
from store.schemas import BuyerIn

T0 = datetime(2027, 1, 15, 15, 0, tzinfo=UTC)
LOCATION = "loc_rules"


# -- (a) the display name ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "first_name", "fallback", "expected"),
    [
        ("Dana Cruz", "Dana", None, "Dana Cruz"),  # the full name first
        (None, "Dana", "c1", "Dana"),  # else the first name
        ("  ", " Dana ", "c1", "Dana"),  # a blank name counts as none; spaces trimmed
        (None, None, "c1", "c1"),  # else the caller's fallback
        ("", "", None, None),
    ],
)
def test_a_buyer_is_named_by_one_rule(
    name: str | None, first_name: str | None, fallback: str | None, expected: str | None
) -> None:
    buyer = Buyer(contact_id="c1", location_id=LOCATION, name=name, first_name=first_name)
    assert display_name(buyer, fallback=fallback) == expected


def test_an_unknown_buyer_has_only_the_fallback() -> None:
    assert display_name(None) is None
    assert display_name(None, fallback="c9") == "c9"


def test_the_store_lookup_and_the_match_profile_use_the_same_name(sqlite_engine: Engine) -> None:
    add(sqlite_engine, "c1", name=None, first_name="Dana")
    add(sqlite_engine, "c2", name=None, first_name=None)
    with session_scope(sqlite_engine, readonly=True) as session:
        assert buyers.buyer_name(session=session, contact_id="c1") == "Dana"
        assert buyers.buyer_name(session=session, contact_id="c2") is None
        assert buyers.buyer_name(session=session, contact_id="nobody") is None
        rows = {b.contact_id: b for b in session.exec(select(Buyer)).all()}
    assert profile_of(rows["c1"]).name == "Dana"
    assert profile_of(rows["c2"]).name == "c2"  # a profile always has a name: the id


# -- (b) the match profile --------------------------------------------------------------------


def add(engine: Engine, contact_id: str, **fields: Any) -> None:
    box = {
        "budget_min": 200_000,
        "budget_max": 300_000,
        "cities": ["tampa"],
        "property_types": ["single_family"],
        "min_bedrooms": 2,
    }
    buyer_in = BuyerIn(contact_id=contact_id, location_id=LOCATION, **(box | fields))
    with session_scope(engine) as session:
        buyers.upsert_buyer(session=session, buyer_in=buyer_in, now=T0)


def test_the_notifier_and_the_bot_match_the_same_buyers_the_same_way(
    sqlite_engine: Engine,
) -> None:
    from tests.fixtures.notify import NotifyWorld

    add(sqlite_engine, "c_full", name="Full Match")
    add(sqlite_engine, "c_city", name="Other City", cities=["orlando", "tampa"], min_bedrooms=4)
    add(sqlite_engine, "c_bad", budget_min=500_000, budget_max=100_000)  # unreadable box
    add(sqlite_engine, "c_excl", excluded_reason="no phone")
    facts = NotifyWorld.facts("MLS1")

    notifier = load_matches(engine=sqlite_engine, prop=facts, min_score=0, location_id=LOCATION)
    bot = BuyerMatcher(engine=sqlite_engine, location_id=LOCATION).match(
        facts, min_score=0, limit=50
    )
    assert [(r.contact_id, r.score) for r in notifier] == [
        (r.contact_id, r.score) for r in bot.page.results
    ]
    assert [r.contact_id for r in notifier] == ["c_full", "c_city"]
    assert notifier[0].score == 100 and notifier[1].score < 100
    with session_scope(sqlite_engine, readonly=True) as session:
        assert profile_of(session.get(Buyer, "c_bad")) is None
        assert profile_of(session.get(Buyer, "c_excl")) is None


# -- (c) which deal a reply is about ----------------------------------------------------------


def text(
    session: Any, mls_id: str, *, minutes: int, status: str, attempts: int = 1,
    purpose: str = PURPOSE_MATCH, kind: str = KIND_SMS,
) -> None:  # fmt: skip
    """A text to contact c1 about `mls_id`, last touched `minutes` after T0."""
    at = T0 + timedelta(minutes=minutes)
    item, _ = outbox.enqueue(
        session=session, kind=kind, dedupe_key=f"{kind}:{purpose}:c1:{mls_id}", contact_id="c1",
        payload={"contact_id": "c1", "mls_id": mls_id, "purpose": purpose}, now=at,
    )  # fmt: skip
    item.status, item.attempts, item.updated_at = status, attempts, at
    session.add(item)


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        ([], None),  # never texted about a deal
        ([("MLS1", 0, OutboxStatus.PENDING, 0)], None),  # queued, never tried
        ([("MLS1", 0, OutboxStatus.SENT, 1), ("MLS2", 5, OutboxStatus.SENT, 1)], "MLS2"),
        # A sent text beats a newer one whose send failed ...
        ([("MLS1", 0, OutboxStatus.SENT, 1), ("MLS2", 5, OutboxStatus.FAILED, 1)], "MLS1"),
        # ... but a tried one (its answer lost) still counts when nothing was sent.
        ([("MLS2", 5, OutboxStatus.IN_FLIGHT, 1)], "MLS2"),
    ],
)
def test_a_reply_is_about_the_newest_deal_texted(
    sqlite_engine: Engine, texts: list[tuple[str, int, str, int]], expected: str | None
) -> None:
    with session_scope(sqlite_engine) as session:
        for mls_id, minutes, status, attempts in texts:
            text(session, mls_id, minutes=minutes, status=status, attempts=attempts)
    with session_scope(sqlite_engine, readonly=True) as session:
        assert last_deal(session, "c1") == expected


def test_a_hot_deal_alert_is_a_deal_text_and_a_help_answer_is_not(sqlite_engine: Engine) -> None:
    with session_scope(sqlite_engine) as session:
        text(session, "MLS1", minutes=0, status=OutboxStatus.SENT, purpose=PURPOSE_BROKER)
        text(session, "MLS9", minutes=5, status=OutboxStatus.SENT, kind=KIND_REPLY)
    with session_scope(sqlite_engine, readonly=True) as session:
        assert last_deal(session, "c1") == "MLS1"
