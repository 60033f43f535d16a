"""Buyer notifications by SMS, end to end: plan, record the intent, deliver exactly once.

The policy (who, when, what) is `matching.notify`; this package is the I/O around it. Every
text goes through the outbox: the intent is written first (one item per buyer and property,
dedupe key ``sms:{contact_id}:{mls_id}``), then a worker delivers it (`deliver_due`).

    matches = load_matches(engine=engine, prop=facts, min_score=70, location_id=loc)
    plan = plan_notifications(engine=engine, property=facts, matches=matches, rules=rules,
                              config=config, location_timezone=tz, now=now)
    enqueue_notifications(engine=engine, plan=plan, property=facts, now=now)
    deliver_due(engine=engine, client=ghl, rules=rules, config=config, now=now,
                worker_id="cli-1", limit=50)

Modules: `services.notify.plan` (the read), `services.notify.send` (one text, exactly once),
`services.notify.delivery` (the worker), `services.notify.followups` (GHL writes after a
send), `services.optout.replies` (replies).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from matching.index import BuyerIndex
from matching.models import MatchResult, PropertyFacts
from services.hot_alerts import mark_cards_changed
from services.matcher import facts_from_mapping, profile_of
from services.notify.common import (
    KIND_FOLLOWUP,
    KIND_REPLY,
    KIND_SMS,
    PURPOSE_BROKER,
    PURPOSE_MATCH,
    match_key,
)
from services.notify.delivery import DeliveryRun, deliver_due, release_due
from services.notify.outcomes import DeliveryReport, ItemOutcome
from services.notify.plan import NotifyPlan, PlannedNotification, plan_notifications
from store import outbox
from store.buyers import list_active_buyers
from store.db import session_scope
from store.models import Property

__all__ = [
    "KIND_FOLLOWUP",
    "KIND_REPLY",
    "KIND_SMS",
    "PURPOSE_BROKER",
    "PURPOSE_MATCH",
    "DeliveryReport",
    "DeliveryRun",
    "EnqueueReport",
    "ItemOutcome",
    "NotifyPlan",
    "PlannedNotification",
    "deliver_due",
    "enqueue_notifications",
    "facts_from_property",
    "load_matches",
    "match_key",
    "plan_notifications",
    "release_due",
]


@dataclass
class EnqueueReport:
    """Which buyers got a new outbox item, in which state, and who was already recorded."""

    queued: list[str] = field(default_factory=list)
    deferred: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    item_ids: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "queued": self.queued,
            "deferred": self.deferred,
            "excluded": self.excluded,
            "skipped": self.skipped,
        }


def enqueue_notifications(
    *, engine: Engine, plan: NotifyPlan, property: PropertyFacts, now: datetime
) -> EnqueueReport:
    """Write the plan's intent: one outbox item per buyer, pending, deferred or excluded.

    Exclusions are recorded with their reason, never dropped. Idempotent: a buyer whose item
    exists (from this plan run twice, another process, or an earlier run) is skipped, so no
    buyer is texted one property twice, across restarts and processes.
    """
    if plan.mls_id != property.mls_id:
        raise ValueError(f"the plan is for {plan.mls_id}, not {property.mls_id}")
    report = EnqueueReport()
    with session_scope(engine) as session:
        for entry in plan.entries:
            if entry.group == "already":
                report.skipped.append(entry.contact_id)
                continue
            payload = {
                "contact_id": entry.contact_id,
                "message": entry.message,
                "mls_id": property.mls_id,
                "purpose": PURPOSE_MATCH,
                "score": entry.score,
                "reasons": list(entry.reasons),
                "address": property.address,
                "location_timezone": plan.location_timezone,
            }
            item, created = outbox.enqueue(
                session=session,
                kind=KIND_SMS,
                payload=payload,
                contact_id=entry.contact_id,
                dedupe_key=match_key(entry.contact_id, property.mls_id),
                not_before=now,
                now=now,
            )
            if not created:
                report.skipped.append(entry.contact_id)
                continue
            assert item.id is not None
            report.item_ids[entry.contact_id] = item.id
            why = f"{entry.code}: {entry.reason}"
            if entry.group == "deferred":
                assert entry.send_at is not None
                outbox.defer(
                    session=session, item_id=item.id, until=entry.send_at, reason=why, now=now
                )
                report.deferred.append(entry.contact_id)
            elif entry.group == "excluded":
                outbox.exclude(session=session, item_id=item.id, reason=why, now=now)
                report.excluded.append(entry.contact_id)
            else:
                report.queued.append(entry.contact_id)
    if report.item_ids:  # new waiting / excluded buyers: the deal's Slack card follows
        mark_cards_changed(engine, [property.mls_id], now=now)
    return report


def load_matches(
    *,
    engine: Engine,
    prop: PropertyFacts,
    min_score: int,
    location_id: str,
    limit: int | None = None,
) -> list[MatchResult]:
    """The location's active buyers who match `prop`, best first (matching's index, built here).

    Builds a fresh `BuyerIndex` from the store on every call (fine for one CLI run; the bot
    keeps one up to date in `services.matcher.BuyerMatcher`), from the same `profile_of`.
    """
    with session_scope(engine, readonly=True) as session:
        rows = list_active_buyers(session=session, location_id=location_id)
    # A buyer whose box matching cannot read stays out; the sync job reports why.
    profiles = [profile for row in rows if (profile := profile_of(row)) is not None]
    index = BuyerIndex.build(profiles)
    page = index.match(prop, min_score=min_score, limit=limit or max(len(profiles), 1))
    return list(page.results)


def facts_from_property(row: Property) -> PropertyFacts:
    """Matching's view of a stored property (`Property.data` as the pipeline writes it)."""
    from services.property import stored_record

    return facts_from_mapping(stored_record(row.mls_id, row.data))
