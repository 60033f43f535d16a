"""Properties and the GHL opportunities that stand for them.

The opportunity link is what keeps a deal from being created twice in GHL: look it up before
creating an opportunity, record it right after.

    link = get_opportunity_link(session=session, mls_id="TX123", location_id="L1")
    if link is None:
        opp = ghl.opportunities.create(...)
        link = record_opportunity_link(session=session, link_in=OpportunityLinkIn(...))
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, or_
from sqlmodel import Session, col, select

from store.db import dialect_insert
from store.models import OpportunityLink, Property
from store.types import utcnow


class OpportunityLinkIn(BaseModel):
    """What a caller knows after creating or moving a GHL opportunity for a property."""

    mls_id: str = Field(min_length=1, max_length=64)
    location_id: str = Field(min_length=1, max_length=64)
    opportunity_id: str = Field(min_length=1, max_length=64)
    contact_id: str | None = None
    pipeline_id: str | None = None
    stage_id: str | None = None
    assigned_to: str | None = None
    status: str | None = None


def upsert_property(
    *,
    session: Session,
    mls_id: str,
    location_id: str,
    data: dict[str, Any],
    deal_score: float | None,
    now: datetime | None = None,
) -> Property:
    """Store the latest analysis of a listing (insert or replace; ``created_at`` is kept)."""
    now = now or utcnow()
    values = {
        "mls_id": mls_id,
        "location_id": location_id,
        "data": data,
        "deal_score": deal_score,
        "created_at": now,
        "updated_at": now,
    }
    stmt = dialect_insert(session, Property).values(**values)
    updates = {k: stmt.excluded[k] for k in ("location_id", "data", "deal_score", "updated_at")}
    stmt = stmt.on_conflict_do_update(index_elements=["mls_id"], set_=updates)
    return session.scalars(
        stmt.returning(Property), execution_options={"populate_existing": True}
    ).one()


def save_progress(
    *,
    session: Session,
    mls_id: str,
    location_id: str,
    data: dict[str, Any],
    progress: dict[str, Any],
    deal_score: float | None,
    now: datetime | None = None,
) -> Property:
    """Store a listing's latest analysis (`data`) with one location's GHL progress merged
    into ``data["ghl"]`` as it is in the store now, the row locked: two locations working one
    listing at once each keep their own progress (a plain upsert of a dict read earlier would
    drop the other's — and with it, after a crash, the other's hot-deal steps)."""
    now = now or utcnow()
    seed = dialect_insert(session, Property).values(
        mls_id=mls_id, location_id=location_id, data={}, deal_score=deal_score,
        created_at=now, updated_at=now,
    )  # fmt: skip
    session.execute(seed.on_conflict_do_nothing(index_elements=["mls_id"]))
    row = session.exec(
        select(Property).where(Property.mls_id == mls_id).with_for_update(),
        execution_options={"populate_existing": True},
    ).one()
    ghl = dict((row.data or {}).get("ghl") or {})
    ghl[location_id] = progress
    row.data = {**data, "ghl": ghl}
    row.location_id, row.deal_score, row.updated_at = location_id, deal_score, now
    session.add(row)
    session.flush()
    return row


def get_property(*, session: Session, mls_id: str) -> Property | None:
    """The stored analysis of a listing, or None."""
    return session.get(Property, mls_id)


def worked_at(location_id: str) -> ColumnElement[bool]:
    """A `where` condition: the properties a location works — stored by it last, or with an
    opportunity of its own (one listing may be worked by several locations of an agency; the
    property row holds each one's progress)."""
    linked = select(OpportunityLink.mls_id).where(OpportunityLink.location_id == location_id)
    return or_(col(Property.location_id) == location_id, col(Property.mls_id).in_(linked))


def locations_working(*, session: Session, mls_id: str) -> list[str]:
    """The locations that work a listing (`worked_at` from the listing's side), sorted."""
    linked = session.exec(
        select(OpportunityLink.location_id).where(OpportunityLink.mls_id == mls_id)
    ).all()
    row = session.get(Property, mls_id)
    return sorted(set(linked) | ({row.location_id} if row is not None else set()))


def get_opportunity_link(
    *, session: Session, mls_id: str, location_id: str
) -> OpportunityLink | None:
    """The GHL opportunity already standing for this property in this location, or None."""
    stmt = select(OpportunityLink).where(
        OpportunityLink.mls_id == mls_id, OpportunityLink.location_id == location_id
    )
    return session.exec(stmt).first()


def link_of_opportunity(
    *, session: Session, opportunity_id: str, location_id: str
) -> OpportunityLink | None:
    """The property a GHL opportunity of this location stands for, or None if not ours."""
    stmt = select(OpportunityLink).where(
        OpportunityLink.opportunity_id == opportunity_id,
        OpportunityLink.location_id == location_id,
    )
    return session.exec(stmt).first()


def record_opportunity_link(
    *, session: Session, link_in: OpportunityLinkIn, now: datetime | None = None
) -> OpportunityLink:
    """Insert the link, or update the existing one for the same property and location.

    Race-safe: the unique (mls_id, location_id) constraint decides, through
    ``INSERT ... ON CONFLICT DO UPDATE``, so two concurrent callers leave one row and neither
    fails; the later writer's fields win. Recording cannot stop two instances from each
    creating an opportunity in GHL: run the creation through the outbox (one dedupe key per
    property) for that.
    """
    now = now or utcnow()
    values = link_in.model_dump() | {"created_at": now, "updated_at": now}
    stmt = dialect_insert(session, OpportunityLink).values(**values)
    keep = ("mls_id", "location_id", "created_at")
    updates = {k: stmt.excluded[k] for k in values if k not in keep}
    stmt = stmt.on_conflict_do_update(index_elements=["mls_id", "location_id"], set_=updates)
    return session.scalars(
        stmt.returning(OpportunityLink), execution_options={"populate_existing": True}
    ).one()
