"""Hot-deal alerts as durable intents, whatever door a deal came through.

The deal pipeline queues one outbox item per hot deal (kind ``slack_post``, dedupe key
``slack:deal:{location_id}:{mls_id}``) inside `DealPipeline.process`, so `/deal add`,
`dealfinder import`, the intake API and webhooks all alert the same way, and a process without
Slack (an import on a laptop, a cron job) leaves the alert for one that has it.
`bot.slack.alerts.DealAlerts` posts the items exactly once (claim, look for a lost post, record
the message), at once in a process with Slack and every few seconds from the
`slack_alert_recovery` job. Keyed by location
(issue 14): each location's poster takes only its own deals' items (`alert_prefix`), so a card
is rendered with its own location's GHL token and posted in its own location's channel.

Processes that post record when they last looked for queued alerts (`record_poster`), so an
import without Slack can say whether anything will post its alerts.

    queue_alert(engine, location_id="loc", mls_id="TPA-1", now=now)   # idempotent
    alert_state(engine, location_id="loc", mls_id="TPA-1")            # "posted" / "queued" / ...
    poster_seen(engine, now=now)                              # a recent poster's id, or None
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import Engine

from store import cards, outbox
from store import state as store_state
from store.db import session_scope
from store.models import OutboxStatus

ALERT_KIND = "slack_post"
POSTER_KEY = "slack_alerts:poster"
# A poster that looked this recently is taken to be running (its job runs every few seconds).
POSTER_FRESH = timedelta(minutes=2)

AlertState = str  # "posted" | "queued" | "posting" | "retrying: <error>" | "failed: <error>"


def alert_prefix(location_id: str) -> str:
    """The dedupe keys of one location's alerts start with this (its poster drains them)."""
    return f"slack:deal:{location_id}:"


def alert_key(location_id: str, mls_id: str) -> str:
    """The outbox dedupe key of a deal's Slack alert: one alert per deal, ever."""
    return alert_prefix(location_id) + mls_id


def card_key(location_id: str, mls_id: str) -> str:
    """Where the posted card is recorded (`store.state` Slack message map; `bot.slack.alerts`)."""
    return f"deal:{location_id}:{mls_id}"


def queue_alert(engine: Engine, *, location_id: str, mls_id: str, now: datetime) -> None:
    """Record that the deal's card must be in Slack (no-op when already recorded); a deal
    worked again (a changed re-import) also marks its card changed, for the `slack_cards` job."""
    with session_scope(engine) as session:
        _, created = outbox.enqueue(
            session=session, kind=ALERT_KIND, dedupe_key=alert_key(location_id, mls_id),
            payload={"mls_id": mls_id, "location_id": location_id}, now=now,
        )  # fmt: skip
        if not created:
            cards.mark_changed(session=session, mls_ids=[mls_id], now=now)


def alert_state(engine: Engine, *, location_id: str, mls_id: str) -> AlertState | None:
    """Where the deal's alert is: posted, queued (waiting for a process with Slack), being
    posted, or postponed/failed with Slack's error; None when none was queued."""
    with session_scope(engine, readonly=True) as session:
        item = outbox.get_by_dedupe_key(session=session, dedupe_key=alert_key(location_id, mls_id))
    if item is None:
        return None
    if item.status == OutboxStatus.SENT:
        return "posted"
    if item.status == OutboxStatus.PENDING and item.attempts == 0:
        return "queued"
    if item.status == OutboxStatus.IN_FLIGHT:
        return "posting"
    if item.status in (OutboxStatus.PENDING, OutboxStatus.DEFERRED):
        return f"retrying: {item.last_error or 'no reason recorded'}"
    return f"{item.status}: {item.last_error or 'no reason recorded'}"


def record_poster(engine: Engine, *, worker_id: str, now: datetime) -> None:
    """A process with Slack just looked for queued alerts (see `poster_seen`)."""
    with session_scope(engine) as session:
        store_state.set_sync_state(
            session=session, key=POSTER_KEY, value={"worker_id": worker_id},
            last_synced_at=now, now=now,
        )  # fmt: skip


def poster_seen(engine: Engine, *, now: datetime) -> str | None:
    """The id of a process with Slack that looked for queued alerts lately, or None."""
    with session_scope(engine, readonly=True) as session:
        row = store_state.get_sync_state(session=session, key=POSTER_KEY)
    if row is None or row.last_synced_at is None or now - row.last_synced_at > POSTER_FRESH:
        return None
    return str(row.value.get("worker_id") or "unknown")


def mark_cards_changed(engine: Engine, mls_ids: Iterable[str], *, now: datetime) -> None:
    """The deals changed (texts, a claim, a stage): their Slack cards need an update."""
    ids = [m for m in mls_ids if m]
    if not ids:
        return
    with session_scope(engine) as session:
        cards.mark_changed(session=session, mls_ids=ids, now=now)
