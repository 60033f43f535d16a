"""Finding deals by who and what: the deal a GHL record belongs to, the deals a person
claimed or owns, and how many deals sit in each stage. Reads the store only (no GHL calls),
so the Slack Home tab and link previews stay cheap however often they are asked for.

    mls_for_record(engine, location_id="L1", kind="contact", record_id="c9")   # "TPA-1" | None
    claimed_by(engine, actor="U0AGENT01")              # MLS ids, newest claim first
    stage_counts(engine, location_id="L1")             # {stage_id: open deals}
"""

from __future__ import annotations

from sqlalchemy import Engine, func
from sqlmodel import col, select

from services.desk import desk_key
from store.db import session_scope
from store.models import OpportunityLink, SyncState

_DESK_PREFIX = desk_key("")
CLOSED = ("won", "lost", "abandoned")  # GHL opportunity statuses that leave the pipeline


def mls_for_record(engine: Engine, *, location_id: str, kind: str, record_id: str) -> str | None:
    """The MLS id of the deal whose GHL opportunity (or seller contact) is `record_id`."""
    column = OpportunityLink.opportunity_id if kind == "opportunity" else OpportunityLink.contact_id
    with session_scope(engine, readonly=True) as session:
        row = session.exec(
            select(OpportunityLink.mls_id)
            .where(OpportunityLink.location_id == location_id, column == record_id)
            .order_by(col(OpportunityLink.updated_at).desc())
        ).first()
    return row


def claimed_by(engine: Engine, *, actor: str, limit: int = 20) -> list[str]:
    """MLS ids of the deals `actor` claimed in Slack (and still holds), newest claim first."""
    with session_scope(engine, readonly=True) as session:
        rows = session.exec(
            select(SyncState).where(col(SyncState.key).startswith(_DESK_PREFIX, autoescape=True))
        ).all()
        marks = [(row.key[len(_DESK_PREFIX) :], dict(row.value)) for row in rows]
    mine = [(m.get("claimed_at") or "", mls) for mls, m in marks if m.get("claimed_by") == actor]
    return [mls for _, mls in sorted(mine, reverse=True)[:limit]]


def owned_links(
    engine: Engine, *, location_id: str, ghl_user_id: str, limit: int = 10
) -> list[OpportunityLink]:
    """Open deals whose GHL opportunity is assigned to `ghl_user_id`, recently changed first."""
    with session_scope(engine, readonly=True) as session:
        rows = session.exec(
            select(OpportunityLink)
            .where(
                OpportunityLink.location_id == location_id,
                OpportunityLink.assigned_to == ghl_user_id,
            )
            .order_by(col(OpportunityLink.updated_at).desc())
            .limit(limit * 3)
        ).all()
        kept = [row for row in rows if (row.status or "open") not in CLOSED][:limit]
        for row in kept:
            session.expunge(row)
        return kept


def stage_counts(engine: Engine, *, location_id: str) -> dict[str | None, int]:
    """Open deals per GHL stage id, as the store last saw them (None: stage not known)."""
    with session_scope(engine, readonly=True) as session:
        rows = session.execute(
            select(OpportunityLink.stage_id, OpportunityLink.status, func.count())
            .where(OpportunityLink.location_id == location_id)
            .group_by(col(OpportunityLink.stage_id), col(OpportunityLink.status))
        ).all()
    counts: dict[str | None, int] = {}
    for stage_id, status, n in rows:
        if (status or "open") in CLOSED:
            continue
        counts[stage_id] = counts.get(stage_id, 0) + n
    return counts
