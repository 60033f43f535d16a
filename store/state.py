"""Small keyed state the jobs keep: sync progress, health checks, alert states, Slack messages.

Every write is one ``INSERT ... ON CONFLICT`` statement, so instances racing on a key never
fail on the primary key; the docstrings say who wins.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import case
from sqlmodel import Session, col, select

from store.db import dialect_insert
from store.models import AlertState, HealthCheck, SlackMessage, SyncState
from store.types import utcnow

_FRESH = {"populate_existing": True}


def get_sync_state(*, session: Session, key: str) -> SyncState | None:
    """The saved progress of a sync job (e.g. key "buyers:{location_id}"), or None."""
    return session.get(SyncState, key, populate_existing=True)


def set_sync_state(
    *,
    session: Session,
    key: str,
    value: dict[str, Any],
    last_synced_at: datetime | None = None,
    now: datetime | None = None,
) -> SyncState:
    """Save a sync job's progress (last writer wins). ``last_synced_at`` is kept if not given."""
    now = now or utcnow()
    stmt = dialect_insert(session, SyncState).values(
        key=key, value=value, last_synced_at=last_synced_at, updated_at=now
    )
    updates: dict[str, Any] = {"value": stmt.excluded.value, "updated_at": stmt.excluded.updated_at}
    if last_synced_at is not None:
        updates["last_synced_at"] = stmt.excluded.last_synced_at
    stmt = stmt.on_conflict_do_update(index_elements=["key"], set_=updates)
    return session.scalars(stmt.returning(SyncState), execution_options=_FRESH).one()


def record_health_check(
    *, session: Session, state: str, details: dict[str, Any], now: datetime
) -> HealthCheck:
    """Append the outcome of one health check (state is a `HealthState` value)."""
    check = HealthCheck(checked_at=now, state=state, details=details)
    session.add(check)
    session.flush()
    return check


def latest_health_check(*, session: Session) -> HealthCheck | None:
    """The most recent health check, or None before the first one."""
    stmt = select(HealthCheck).order_by(
        col(HealthCheck.checked_at).desc(), col(HealthCheck.id).desc()
    )
    return session.exec(stmt).first()


def get_alert_state(*, session: Session, key: str) -> AlertState | None:
    """The last known state of an alerted-on thing (e.g. "ghl_api"), or None."""
    return session.get(AlertState, key, populate_existing=True)


def set_alert_state(
    *, session: Session, key: str, state: str, now: datetime, alerted: bool = False
) -> AlertState:
    """Save the current state: ``since`` moves only when the state changes, and
    ``last_alerted_at`` only when ``alerted`` (the caller just sent an alert)."""
    stmt = dialect_insert(session, AlertState).values(
        key=key, state=state, since=now, last_alerted_at=now if alerted else None
    )
    current = AlertState.__table__.c  # type: ignore[attr-defined]
    updates: dict[str, Any] = {
        "state": stmt.excluded.state,
        "since": case(
            (current.state == stmt.excluded.state, current.since), else_=stmt.excluded.since
        ),
    }
    if alerted:
        updates["last_alerted_at"] = stmt.excluded.last_alerted_at
    stmt = stmt.on_conflict_do_update(index_elements=["key"], set_=updates)
    return session.scalars(stmt.returning(AlertState), execution_options=_FRESH).one()


def get_slack_message(*, session: Session, key: str) -> SlackMessage | None:
    """The Slack message standing for a thing (e.g. key "deal:{mls_id}"), or None."""
    return session.get(SlackMessage, key, populate_existing=True)


def record_slack_message(
    *,
    session: Session,
    key: str,
    channel: str,
    ts: str,
    replace: bool = False,
    now: datetime | None = None,
) -> tuple[SlackMessage, bool]:
    """Remember the message for ``key``: returns the stored row and whether ours was stored.

    The first writer wins (one Slack message per deal): when another instance stored a
    message first, you get theirs and False, and should delete the duplicate you posted.
    ``replace=True`` overwrites instead (the message was re-posted on purpose).
    """
    now = now or utcnow()
    stmt = dialect_insert(session, SlackMessage).values(
        key=key, channel=channel, ts=ts, created_at=now, updated_at=now
    )
    if replace:
        updates = {k: stmt.excluded[k] for k in ("channel", "ts", "updated_at")}
        stmt = stmt.on_conflict_do_update(index_elements=["key"], set_=updates)
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=["key"])
    stored = session.execute(stmt.returning(col(SlackMessage.key))).scalar_one_or_none()
    row = get_slack_message(session=session, key=key)
    if row is None:  # only if deleted between the two statements
        raise LookupError(f"slack message {key!r} vanished while being recorded")
    return row, stored is not None
