"""What the deal pipeline has done for a property in GHL, kept in the store across crashes.

It lives in `Property.data` (no table of its own): the latest record, its version hash, and
per location what exists in GHL. Intent is written *before* the GHL calls it covers
(`pending`), so after a crash the next run knows exactly which property needs a look in GHL
(a GET of the contact's notes and tasks) and which can be trusted without one.

    state = load_state(engine, mls_id="TPA-1", location_id="loc")
    state.progress.done == record.version()      # True: unchanged since the last full run
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import Engine
from sqlmodel import col, select

from services.property import PropertyRecord
from store.db import session_scope
from store.deals import (
    OpportunityLinkIn,
    get_opportunity_link,
    get_property,
    record_opportunity_link,
    save_progress,
)
from store.models import OpportunityLink


class DealProgress(BaseModel):
    """One property's deal in one location, as far as GHL is concerned."""

    contact_id: str | None = None  # the contact its notes and tasks hang on
    done: str | None = None  # the record version whose every step finished
    pending: str | None = None  # the version whose note/tasks were being made (may exist)
    notes: list[str] = Field(default_factory=list)  # versions whose analysis note exists
    tasks: list[str] = Field(default_factory=list)  # titles of tasks made for the deal
    quality_tag: str | None = None  # the deal-quality tag last put on the contact


@dataclass
class DealState:
    """The stored record, its link and progress, read in one transaction."""

    link: OpportunityLink | None
    data: dict[str, Any] = field(default_factory=dict)
    progress: DealProgress = field(default_factory=DealProgress)
    has_history: bool = False  # progress for this location was stored before


def load_state(engine: Engine, *, mls_id: str, location_id: str) -> DealState:
    with session_scope(engine, readonly=True) as session:
        link = get_opportunity_link(session=session, mls_id=mls_id, location_id=location_id)
        stored = get_property(session=session, mls_id=mls_id)
    data = dict(stored.data) if stored else {}
    raw = (data.get("ghl") or {}).get(location_id)
    progress = DealProgress.model_validate(raw) if raw else DealProgress()
    return DealState(link=link, data=data, progress=progress, has_history=raw is not None)


def save_state(
    engine: Engine,
    *,
    state: DealState,
    record: PropertyRecord,
    location_id: str,
    now: datetime,
    link_in: OpportunityLinkIn | None = None,
) -> None:
    """Write the record, the progress and (if given) the opportunity link in one transaction."""
    listing = {"record": record.model_dump(mode="json"), "version": record.version()}
    with session_scope(engine) as session:
        if link_in is not None:
            state.link = record_opportunity_link(session=session, link_in=link_in, now=now)
        saved = save_progress(
            session=session,
            mls_id=record.mls_id,
            location_id=location_id,
            data=listing,
            progress=state.progress.model_dump(mode="json"),
            deal_score=float(record.deal_score),
            now=now,
        )
        state.data = dict(saved.data)


def unlinked_mls_ids(engine: Engine, *, location_id: str, mls_ids: list[str]) -> set[str]:
    """The MLS ids among `mls_ids` that have no opportunity link in this location."""
    linked: set[str] = set()
    with session_scope(engine, readonly=True) as session:
        for start in range(0, len(mls_ids), 500):  # stay under SQLite's bound-parameter cap
            chunk = mls_ids[start : start + 500]
            stmt = select(OpportunityLink.mls_id).where(
                OpportunityLink.location_id == location_id, col(OpportunityLink.mls_id).in_(chunk)
            )
            linked.update(session.exec(stmt).all())
    return set(mls_ids) - linked
