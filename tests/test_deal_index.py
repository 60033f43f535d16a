"""Finding deals by record, claimer, owner and stage, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from services.deal_index import claimed_by, mls_for_record, owned_links, stage_counts
from services.desk import desk_key
from store import state as store_state
from store.db import session_scope
from store.deals import OpportunityLinkIn, record_opportunity_link

T0 = datetime(2027, 1, 15, 15, 0, tzinfo=UTC)


def _link(engine: Engine, n: int, *, location: str = "L1", stage: str | None = "s_new",
          owner: str | None = "u_maria", status: str = "open") -> None:  # fmt: skip
    link_in = OpportunityLinkIn(
        mls_id=f"M{n}", location_id=location, opportunity_id=f"o{n}", contact_id=f"c{n}",
        stage_id=stage, assigned_to=owner, status=status,
    )  # fmt: skip
    with session_scope(engine) as session:
        record_opportunity_link(session=session, link_in=link_in, now=T0 + timedelta(minutes=n))


def _claim(engine: Engine, mls_id: str, actor: str, at: datetime) -> None:
    with session_scope(engine) as session:
        value = {"claimed_by": actor, "claimed_at": at.isoformat()}
        store_state.set_sync_state(session=session, key=desk_key(mls_id), value=value, now=at)


def test_a_record_finds_its_deal_in_its_location_only(engine: Engine) -> None:
    _link(engine, 1)
    _link(engine, 2, location="L2")
    assert mls_for_record(engine, location_id="L1", kind="opportunity", record_id="o1") == "M1"
    assert mls_for_record(engine, location_id="L1", kind="contact", record_id="c1") == "M1"
    assert mls_for_record(engine, location_id="L1", kind="contact", record_id="c2") is None
    assert mls_for_record(engine, location_id="L1", kind="opportunity", record_id="c1") is None


def test_claimed_deals_newest_claim_first(engine: Engine) -> None:
    _claim(engine, "M1", "U1", T0)
    _claim(engine, "M2", "U2", T0)
    _claim(engine, "M3", "U1", T0 + timedelta(hours=1))
    with session_scope(engine) as session:  # a pass only: not a claim
        store_state.set_sync_state(session=session, key=desk_key("M4"), value={"passed_by": ["U1"]})
    assert claimed_by(engine, actor="U1") == ["M3", "M1"]
    assert claimed_by(engine, actor="U9") == []


def test_owned_open_deals_and_open_deals_per_stage(engine: Engine) -> None:
    _link(engine, 1)
    _link(engine, 2, stage="s_hot")
    _link(engine, 3, stage="s_hot", owner="u_james")
    _link(engine, 4, status="won")
    _link(engine, 5, stage=None, location="L1")
    _link(engine, 6, location="L2")
    owned = owned_links(engine, location_id="L1", ghl_user_id="u_maria")
    assert [link.mls_id for link in owned] == ["M5", "M2", "M1"]  # recently changed first
    assert stage_counts(engine, location_id="L1") == {"s_new": 1, "s_hot": 2, None: 1}
