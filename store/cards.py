"""Deal cards to bring up to date in Slack: marked by whoever changed a deal, shown by one process.

    mark_changed(session=s, mls_ids=["TPA-1"], now=now)         # after texts, a claim, a move
    due = claim_due(session=s, now=now, worker_id="w1", lease=timedelta(seconds=30))
    # ... render and chat.update each card ...
    shown(session=s, mls_id="TPA-1", worker_id="w1", changes=due[0].changes,
          next_at=now + timedelta(seconds=3), now=now)

A claim takes the row's lease with a conditional UPDATE (one winner across processes) and
remembers how many changes it will show; changes marked while the card is being rendered stay
pending, so nothing is lost and a burst of changes costs one update per interval.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, or_, update
from sqlmodel import Session, col, select

from store.db import dialect_insert, rows_affected
from store.models_cards import CardRefresh

# A new row is due at once, whatever the marking process's clock says: only the process that
# updates cards sets `not_before` (its own clock), so processes' clocks never mix in it.
DUE_AT_ONCE = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class DueCard:
    """A claimed card: show it, then call `shown` with these `changes`."""

    mls_id: str
    changes: int


def mark_changed(*, session: Session, mls_ids: Iterable[str], now: datetime) -> int:
    """Record one more change for each deal's card (insert or +1); returns how many deals."""
    ids = sorted({m for m in mls_ids if m})
    for mls_id in ids:
        stmt = dialect_insert(session, CardRefresh).values(
            mls_id=mls_id,
            changes=1,
            shown=0,
            dirty_since=now,
            not_before=DUE_AT_ONCE,
            updated_at=now,
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["mls_id"],
            set_={
                "changes": col(CardRefresh.changes) + 1,
                "dirty_since": func.coalesce(CardRefresh.dirty_since, now),
                "updated_at": now,
            },
        )
        session.execute(stmt)
    return len(ids)


def claim_due(
    *, session: Session, now: datetime, worker_id: str, lease: timedelta, limit: int = 20
) -> list[DueCard]:
    """Cards with unshown changes whose time has come and that nobody holds, now leased to
    `worker_id` (oldest change first)."""
    free = or_(col(CardRefresh.lease_until).is_(None), col(CardRefresh.lease_until) < now)
    rows = session.exec(
        select(CardRefresh)
        .where(col(CardRefresh.changes) > col(CardRefresh.shown))
        .where(col(CardRefresh.not_before) <= now, free)
        .order_by(col(CardRefresh.dirty_since))
        .limit(limit)
    ).all()
    claimed = []
    for row in rows:
        taken = session.execute(
            update(CardRefresh)
            .where(col(CardRefresh.mls_id) == row.mls_id, free)
            .values(lease_owner=worker_id, lease_until=now + lease)
        )
        if rows_affected(taken) == 1:
            claimed.append(DueCard(row.mls_id, row.changes))
    return claimed


def shown(
    *, session: Session, mls_id: str, worker_id: str, changes: int, next_at: datetime,
    now: datetime,
) -> None:  # fmt: skip
    """The card now shows the deal as of `changes`; the next update waits until `next_at`."""
    session.execute(
        update(CardRefresh)
        .where(col(CardRefresh.mls_id) == mls_id, col(CardRefresh.lease_owner) == worker_id)
        .values(
            shown=func.max(CardRefresh.shown, changes)
            if session.get_bind().dialect.name == "sqlite"
            else func.greatest(CardRefresh.shown, changes),
            dirty_since=None,
            not_before=next_at,
            lease_owner=None,
            lease_until=None,
            last_error=None,
            updated_at=now,
        )
    )
    # A change marked while the card was rendered keeps it dirty, from that change's time.
    session.execute(
        update(CardRefresh)
        .where(col(CardRefresh.mls_id) == mls_id, col(CardRefresh.changes) > CardRefresh.shown)
        .values(dirty_since=now)
    )


def read_changes(*, session: Session, mls_id: str) -> int:
    """How many changes the deal's card has had (read before rendering it)."""
    row = session.get(CardRefresh, mls_id, populate_existing=True)
    return row.changes if row else 0


def shown_directly(
    *, session: Session, mls_id: str, changes: int, next_at: datetime, now: datetime
) -> None:
    """A card updated outside a claim (a click's own refresh) shows `changes`: the job need
    not update it again for them, unless a claimer holds it right now."""
    free = or_(col(CardRefresh.lease_until).is_(None), col(CardRefresh.lease_until) < now)
    session.execute(
        update(CardRefresh)
        .where(col(CardRefresh.mls_id) == mls_id, col(CardRefresh.shown) < changes, free)
        .values(shown=changes, not_before=next_at, updated_at=now)
    )


def postpone(
    *, session: Session, mls_id: str, worker_id: str, until: datetime, error: str, now: datetime
) -> None:
    """Not shown this time (Slack refused or is rate limiting): try again at `until`."""
    session.execute(
        update(CardRefresh)
        .where(col(CardRefresh.mls_id) == mls_id, col(CardRefresh.lease_owner) == worker_id)
        .values(
            not_before=until, lease_owner=None, lease_until=None, last_error=error, updated_at=now
        )
    )


def pending(*, session: Session, mls_id: str) -> int:
    """How many changes of the deal's card are not shown yet (0 when up to date)."""
    row = session.get(CardRefresh, mls_id, populate_existing=True)
    return max(0, row.changes - row.shown) if row else 0
