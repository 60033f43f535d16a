"""The delivery worker: claim due notifier items from the outbox and take each to an end.

`deliver_due` is what the scheduler runs every minute (as `release_due`, which is the same
call: a deferred text is just an item whose `not_before` has come) and what `dealfinder notify`
runs once. Several workers in several processes may run it at once: the outbox's leases give
each item to one of them, and the SMS slot table keeps the per-buyer cap across all of them.

    report = deliver_due(engine=engine, client=ghl, rules=rules, config=config,
                         now=datetime.now(UTC), worker_id="scheduler-1", limit=50)
    report.counts   # {"sent": 3, "deferred": 17}
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TypedDict

from sqlalchemy import Engine

from ghl.client import GHLClient
from ghl.errors import (
    GHLAuthError,
    GHLConnectionError,
    GHLError,
    GHLPermissionError,
    GHLRateLimitError,
    GHLServerError,
)
from matching.notify import NotifyRules
from services.config import DealConfig
from services.hot_alerts import mark_cards_changed
from services.notify.checks import PAUSE_RECHECK
from services.notify.common import KIND_FOLLOWUP, NOTIFIER_KINDS, describe_error
from services.notify.followups import WorkflowUnknownError, perform_followup
from services.notify.outcomes import (
    Checkpoint,
    DeliveryContext,
    DeliveryReport,
    ItemOutcome,
    close_item,
)
from services.notify.send import RETRY_AFTER_BUSY, RETRY_AFTER_TOKEN, deliver_text
from services.optout.review import HELD, PAUSE_REASON
from store import buyers, outbox
from store.db import session_scope
from store.models import OutboxItem
from store.optout_reviews import paused_contacts

log = logging.getLogger("dealfinder.notify")

DEFAULT_LEASE_SECONDS = 120.0
# A follow-up that keeps failing is retried with a doubling wait, up to this.
MAX_FOLLOWUP_WAIT = timedelta(hours=1)


class DeliveryRun(TypedDict):
    """Who delivers, at what time, with what: the arguments every caller of `deliver_due`
    passes through (`bot.ops.jobs`, `dealfinder notify`, an opt-out's immediate reply)."""

    now: datetime
    worker_id: str
    engine: Engine
    client: GHLClient
    rules: NotifyRules
    config: DealConfig


def deliver_due(
    *,
    engine: Engine,
    client: GHLClient,
    rules: NotifyRules,
    config: DealConfig,
    now: datetime,
    worker_id: str,
    limit: int = 50,
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
    kinds: Sequence[str] = NOTIFIER_KINDS,
    location_timezone: str | None = None,
    clock: Callable[[], datetime] | None = None,
    checkpoint: Checkpoint | None = None,
) -> DeliveryReport:
    """Claim up to `limit` due notifier items and deliver each; one outcome per item.

    Texts are re-checked against the policy with fresh store data, take an SMS slot, are sent
    and recorded; see `services.notify.send` for how an unknown outcome is resolved without a
    second text. `location_timezone` is used for items enqueued without one.

    Time: items are judged at `now`, or, with `clock` (production: `lambda:
    datetime.now(UTC)`), at the clock's time as each starts, so a slow run near 21:00 does not
    text at 21:01 on a 20:59 verdict. Either way an item is never started once half the lease
    has passed in real time (it goes back to the queue, due at once), so no claimed item
    outlives its lease.
    """
    started = time.monotonic()  # the leases run from the claim
    with session_scope(engine) as session:
        items = outbox.claim_due(
            session=session,
            now=clock() if clock else now,
            worker_id=worker_id,
            lease_seconds=lease_seconds,
            limit=limit,
            kinds=list(kinds),
        )
    ctx = DeliveryContext(
        engine=engine,
        client=client,
        rules=rules,
        config=config,
        now=now,
        worker_id=worker_id,
        lease_seconds=lease_seconds,
        location_timezone=location_timezone,
        clock=clock,
        checkpoint=checkpoint,
        started=started,
    )
    report = DeliveryReport()
    for item in items:
        if clock is not None:
            ctx.now = clock()
        if ctx.elapsed() > lease_seconds / 2:
            # Handed back untouched (a deferral gives back the claim's attempt).
            detail = "run_budget: not started before half the lease ran out; due again now"
            report.outcomes.append(
                close_item(ctx, item, status="deferred", detail=detail, until=ctx.now)
            )
            continue
        report.outcomes.append(_deliver_one(ctx, item))
    if report.outcomes:
        log.info("notifier %s delivered %d item(s): %s", worker_id, len(items), report.counts)
    # Texted / waiting / excluded changed for these deals: their Slack cards follow.
    mark_cards_changed(engine, {str(i.payload.get("mls_id") or "") for i in items}, now=ctx.now)
    return report


# The every-minute job's name for the same work: deferred texts whose time has come are just
# items whose `not_before` has passed, so releasing them is delivering what is due.
release_due = deliver_due


def _deliver_one(ctx: DeliveryContext, item: OutboxItem) -> ItemOutcome:
    try:
        if item.kind == KIND_FOLLOWUP:
            return _deliver_followup(ctx, item)
        return deliver_text(ctx, item)
    except Exception as exc:
        # A bug or a database hiccup: hand the item back for later. A text whose slot was
        # taken keeps it, so the next attempt looks in GHL before sending.
        log.exception("notifier item %s failed unexpectedly", item.id)
        detail = f"unexpected_error: {describe_error(exc)}"
        return close_item(
            ctx, item, status="retry", detail=detail, until=ctx.now + RETRY_AFTER_BUSY
        )


def _deliver_followup(ctx: DeliveryContext, item: OutboxItem) -> ItemOutcome:
    payload = item.payload
    action = payload.get("action", "?")
    contact_id = payload.get("contact_id") or item.contact_id
    if ctx.token_refused:
        detail = "token_refused: GHL refused the token earlier in this run; not tried"
        return close_item(
            ctx, item, status="retry", detail=detail, until=ctx.now + RETRY_AFTER_TOKEN
        )
    if action == "workflow":
        with session_scope(ctx.engine, readonly=True) as session:
            buyer = buyers.get_buyer(session=session, contact_id=contact_id)
            known_id = str(contact_id or "")  # no contact id: nothing found, nothing paused
            paused = paused_contacts(session=session, contact_ids=[known_id]).get(known_id)
        if buyer is not None and buyer.opted_out:
            # A follow-up workflow may text; the buyer has opted out since the deal text.
            return close_item(ctx, item, status="cancelled", detail="opted_out: no workflow")
        if paused is not None:
            # ... and may text a buyer whose possible opt-out waits for a person: held.
            until = max(paused, ctx.now + PAUSE_RECHECK)
            return close_item(ctx, item, status="deferred", detail=f"{HELD}: {PAUSE_REASON}",
                              until=until)  # fmt: skip
        if item.outcome_unknown:
            # GHL offers no way to look for an enrolment, and a second one may text twice.
            detail = "outcome_unknown: workflow enrolment interrupted mid-call; check GHL"
            return close_item(ctx, item, status="failed", detail=detail)
    maybe_done = item.outcome_unknown or item.attempts > 1
    try:
        result = perform_followup(
            client=ctx.client, payload=payload, workflow_ids=ctx.workflow_ids, maybe_done=maybe_done
        )
    except WorkflowUnknownError as exc:
        return close_item(ctx, item, status="failed", detail=f"workflow_unknown: {exc}")
    except GHLError as exc:
        return _followup_failed(ctx, item, exc=exc, action=action)
    assert item.id is not None
    with session_scope(ctx.engine) as session:
        done = outbox.mark_sent(
            session=session, item_id=item.id, worker_id=ctx.worker_id, result=result, now=ctx.now
        )
    return ItemOutcome(
        item_id=item.id,
        kind=item.kind,
        contact_id=contact_id,
        status="sent" if done is not None else "lost",
        detail=f"{action} done",
    )


def _followup_failed(
    ctx: DeliveryContext, item: OutboxItem, *, exc: GHLError, action: str
) -> ItemOutcome:
    what = f"ghl_error: {action} ({describe_error(exc)})"
    if isinstance(exc, GHLAuthError | GHLPermissionError):
        ctx.token_refused = True
        return close_item(ctx, item, status="retry", detail=what, until=ctx.now + RETRY_AFTER_TOKEN)
    unknown = isinstance(exc, GHLServerError) or (
        isinstance(exc, GHLConnectionError) and exc.request_sent
    )
    if unknown and action == "workflow":
        return close_item(
            ctx, item, status="failed", detail=f"outcome_unknown: not repeated ({what})"
        )
    if unknown or isinstance(exc, GHLRateLimitError | GHLConnectionError):
        # Tags and DND are set semantics, notes and tasks are looked for before re-creating
        # (`maybe_done`), and a workflow gets here only when nothing reached GHL: repeating
        # any of them later is safe.
        wait = min(RETRY_AFTER_BUSY * 2 ** max(item.attempts - 1, 0), MAX_FOLLOWUP_WAIT)
        return close_item(ctx, item, status="retry", detail=what, until=ctx.now + wait)
    return close_item(ctx, item, status="failed", detail=what)
