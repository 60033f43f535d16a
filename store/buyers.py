"""Buyers: the synced copy of GHL contacts that matching reads and SMS goes to.

with session_scope(engine) as session:
    buyer = upsert_buyer(session=session, buyer_in=BuyerIn(contact_id="c1", location_id="L1"))
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, overload

from sqlalchemy import ColumnElement, false, func, inspect, or_
from sqlmodel import Session, col, select

from store.db import dialect_insert
from store.models import Buyer
from store.schemas import BuyerIn
from store.types import utcnow


def upsert_buyer(*, session: Session, buyer_in: BuyerIn, now: datetime | None = None) -> Buyer:
    """Insert or update a buyer from the sync job; safe when two syncs write the same contact.

    An opt-out is sticky: a sync that says "not opted out" does not undo one recorded here
    (a STOP reply may reach us before GHL's contact shows it), so re-subscribing is a
    deliberate act, not a side effect of a sync.
    """
    now = now or utcnow()
    values = buyer_in.model_dump()
    values["synced_at"] = now
    values["opted_out_at"] = now if buyer_in.opted_out else None
    stmt = _keeping_opt_outs(dialect_insert(session, Buyer).values(**values), values)
    stored: Buyer = session.scalars(
        stmt.returning(Buyer), execution_options={"populate_existing": True}
    ).one()
    return stored


def upsert_buyers(*, session: Session, buyers_in: list[BuyerIn], now: datetime) -> int:
    """`upsert_buyer` for a page of buyers in one statement (the sync's 500 a page).

    Same rules (an opt-out stays), one `INSERT ... ON CONFLICT DO UPDATE` executed for every
    row at once: building and compiling a statement per buyer cost ~4 ms each, which made a
    sync of 100,000 buyers take minutes. Returns how many rows were written.
    """
    if not buyers_in:
        return 0
    rows = []
    for buyer_in in buyers_in:
        values = buyer_in.model_dump()
        values["synced_at"] = now
        values["opted_out_at"] = now if buyer_in.opted_out else None
        rows.append(values)
    stmt = _keeping_opt_outs(dialect_insert(session, Buyer), rows[0])
    # On the session's connection (same transaction), past the ORM's bulk machinery: the
    # driver's executemany is ~3x faster and nothing here needs ORM objects back.
    session.connection().execute(stmt, rows)
    return len(rows)


def _keeping_opt_outs(stmt: Any, values: dict[str, Any]) -> Any:
    """`stmt` (an insert of `values`' columns) updating a stored buyer on conflict, except
    that an opt-out stays, with its first time (see `upsert_buyer`)."""
    table = inspect(Buyer).local_table
    updates: dict[str, ColumnElement[Any]] = {
        k: stmt.excluded[k] for k in values if k not in ("contact_id", "opted_out_at")
    }
    updates["opted_out"] = or_(table.c.opted_out, stmt.excluded.opted_out)
    updates["opted_out_at"] = func.coalesce(table.c.opted_out_at, stmt.excluded.opted_out_at)
    return stmt.on_conflict_do_update(index_elements=["contact_id"], set_=updates)


def get_buyer(*, session: Session, contact_id: str | None) -> Buyer | None:
    """The buyer for a GHL contact id, or None (also when a payload carried no id)."""
    return session.get(Buyer, contact_id) if contact_id is not None else None


@overload
def display_name(buyer: Buyer | None, *, fallback: str) -> str: ...
@overload
def display_name(buyer: Buyer | None, *, fallback: None = None) -> str | None: ...
def display_name(buyer: Buyer | None, *, fallback: str | None = None) -> str | None:
    """How a buyer is named to people: the full name, else the first name, else `fallback`.

    The one rule for every place that shows a buyer (Slack replies and cards, reviews, the
    CLI, match profiles); a blank name counts as none.

        display_name(buyer, fallback=buyer.contact_id)  # "Dana Cruz", "Dana" or "c_123"
    """
    if buyer is not None:
        for name in (buyer.name, buyer.first_name):
            if name and name.strip():
                return name.strip()
    return fallback


def buyer_name(*, session: Session, contact_id: str) -> str | None:
    """The `display_name` of the buyer with this contact id; None when unknown or unnamed."""
    return display_name(get_buyer(session=session, contact_id=contact_id))


def _active() -> list[ColumnElement[bool]]:
    return [col(Buyer.excluded_reason).is_(None), col(Buyer.opted_out) == false()]


def list_active_buyers(*, session: Session, location_id: str) -> list[Buyer]:
    """Buyers matching may consider: not excluded and not opted out, in contact id order."""
    stmt = (
        select(Buyer)
        .where(col(Buyer.location_id) == location_id, *_active())
        .order_by(col(Buyer.contact_id))
    )
    return list(session.exec(stmt).all())


def count_buyers(*, session: Session, location_id: str, active_only: bool = False) -> int:
    """How many buyers a location has (only matchable ones with ``active_only``)."""
    stmt = select(func.count()).select_from(Buyer).where(Buyer.location_id == location_id)
    if active_only:
        stmt = stmt.where(*_active())
    return session.exec(stmt).one()


def mark_opted_out(*, session: Session, contact_id: str, now: datetime) -> bool:
    """Record that a buyer asked for no more SMS. False if the buyer is unknown.

    The first opt-out time is kept when it is recorded twice. Pending SMS for the contact are
    the outbox's business: call `store.outbox.cancel_pending_for` in the same session.
    """
    buyer = session.get(Buyer, contact_id, with_for_update=True)
    if buyer is None:
        return False
    if not buyer.opted_out:
        buyer.opted_out = True
        buyer.opted_out_at = now
        session.add(buyer)
        session.flush()
    return True
