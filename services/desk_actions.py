"""What people do to deals from Slack — add, notify buyers, claim, pass — without Slack.

Each method is one use case over the services: the deal pipeline, the notifier (plan ->
outbox -> delivery, exactly once per buyer and property) and GHL. Claims and passes are kept
in the store's generic `SyncState` under `slack_deal:{mls_id}`, beside (not inside) the
pipeline's own property data, which the pipeline rewrites on every run.

    actions = DeskActions(desk, on_hot_deal=[alerts.on_hot_deal])
    result = actions.add(record)                     # services.pipeline.core.DealResult
    plan = actions.plan("TPA-1")                     # who would be texted, when, and why not
    outcome = actions.claim("TPA-1", actor="U0BROKER1", ghl_email="maria@x.com", override=True)
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from matching.models import MatchResult
from services.deal_edits import stored_link
from services.desk import DealDesk, desk_key
from services.hot_alerts import mark_cards_changed
from services.notify.notifier import (
    DeliveryReport,
    EnqueueReport,
    NotifyPlan,
    deliver_due,
    enqueue_notifications,
    plan_notifications,
)
from services.pipeline.core import DealPipeline, DealResult, HotHook, StageMove
from services.property import PropertyRecord
from store import state as store_state
from store.db import session_scope
from store.deals import OpportunityLinkIn, record_opportunity_link

log = logging.getLogger("dealfinder.services.desk_actions")


class ClaimHook(Protocol):
    """Called after a claim is done in GHL and recorded: `hook(mls_id, actor=..., previous=...)`."""

    def __call__(self, mls_id: str, *, actor: str, previous: str | None) -> None: ...


MATCH_CAP = 500  # buyers a notification plan considers, best first
DELIVER_EXTRA = 20  # also deliver a few older due items the worker finds on the way


@dataclass(frozen=True)
class ClaimOutcome:
    """What a Claim did. `code`: claimed, already_yours, taken_over, claimed_by_other,
    unknown_deal, no_opportunity, no_ghl_user."""

    code: str
    mls_id: str
    previous: str | None = None
    owner: str | None = None

    @property
    def ok(self) -> bool:
        return self.code in ("claimed", "already_yours", "taken_over")


@dataclass(frozen=True)
class NotifyOutcome:
    """A confirmed notification: what was recorded in the outbox and what went out now."""

    mls_id: str
    plan: NotifyPlan
    enqueued: EnqueueReport
    delivered: DeliveryReport


class DeskActions:
    """Writes about deals for one location. Thread-safe: the pipeline runs one deal at a time."""

    def __init__(
        self,
        desk: DealDesk,
        *,
        on_hot_deal: Sequence[HotHook] = (),
        on_claim: Sequence[ClaimHook] = (),
        worker_id: str | None = None,
        on_notified: Sequence[Callable[[NotifyOutcome], None]] = (),
        pipeline: Callable[[], DealPipeline] | None = None,
    ):
        self.desk = desk
        self.on_hot_deal = list(on_hot_deal)
        self.on_claim = list(on_claim)
        # After a notify (e.g. the batch summary in the deal's Slack thread); never undoes it.
        self.on_notified = list(on_notified)
        self.worker_id = worker_id or f"slack:{socket.gethostname()}:{os.getpid()}"
        # The process's one pipeline (`bot.runtime`), or one built here with `on_hot_deal`.
        self._build_pipeline = pipeline
        self._pipeline: DealPipeline | None = None
        self._pipeline_lock = threading.Lock()
        self._marks_lock = threading.Lock()

    # -- add a property -------------------------------------------------------------------

    def add(self, record: PropertyRecord) -> DealResult:
        """Run the deal pipeline on one record (GHLMapError if GHL does not match the mapping)."""
        with self._pipeline_lock:
            return self._the_pipeline().process(record)

    def process(self, record: PropertyRecord) -> DealResult:
        """`add` under the pipeline's own name: the intake worker shares this one pipeline
        (one deal at a time with Slack's adds)."""
        return self.add(record)

    def advance_on_task_completed(self, *, contact_id: str, task_title: str) -> list[StageMove]:
        """A task was completed in GHL: move its deal forward, through this process's one
        pipeline (the jobs use it too: one pipeline, one hot-deal hook per process)."""
        with self._pipeline_lock:
            return self._the_pipeline().advance_on_task_completed(
                contact_id=contact_id, task_title=task_title
            )

    def _the_pipeline(self) -> DealPipeline:
        if self._pipeline is None and self._build_pipeline is not None:
            self._pipeline = self._build_pipeline()
        if self._pipeline is None:
            desk = self.desk
            self._pipeline = DealPipeline(
                desk.ghl, desk.engine, desk.config, desk.map_source().get(),
                clock=desk.clock, on_hot_deal=self.on_hot_deal, rules=desk.rules,
                worker_id=self.worker_id,
            )  # fmt: skip
        return self._pipeline

    # -- notify buyers --------------------------------------------------------------------

    def plan(
        self, mls_id: str, *, matches: Sequence[MatchResult] | None = None
    ) -> NotifyPlan | None:
        """Who would be texted about the deal now, later (when) or not (why); None: no deal.

        `matches` limits the plan to those buyers (default: every buyer at the score floor).
        """
        desk = self.desk
        facts = desk.facts(mls_id)
        if facts is None:
            return None
        if matches is None:
            outcome = desk.matcher.match(facts, min_score=desk.min_score, limit=MATCH_CAP)
            matches = outcome.page.results
        return plan_notifications(
            engine=desk.engine, property=facts, matches=list(matches),
            rules=desk.rules, config=desk.config, location_timezone=desk.location_timezone(),
            now=desk.clock(),
        )  # fmt: skip

    def notify(self, mls_id: str) -> NotifyOutcome | None:
        """Plan afresh, record every buyer's intent in the outbox, and deliver what is due."""
        desk = self.desk
        plan = self.plan(mls_id)
        facts = desk.facts(mls_id)
        if plan is None or facts is None:
            return None
        now = desk.clock()
        enqueued = enqueue_notifications(engine=desk.engine, plan=plan, property=facts, now=now)
        delivered = deliver_due(
            engine=desk.engine, client=desk.ghl, rules=desk.rules, config=desk.config, now=now,
            worker_id=self.worker_id, limit=len(enqueued.queued) + DELIVER_EXTRA,
            location_timezone=plan.location_timezone,
        )  # fmt: skip
        outcome = NotifyOutcome(mls_id=mls_id, plan=plan, enqueued=enqueued, delivered=delivered)
        for hook in self.on_notified:
            try:
                hook(outcome)
            except Exception:
                log.exception("a notify hook failed for %s", mls_id)
        return outcome

    # -- claim and pass -------------------------------------------------------------------

    def claim(
        self, mls_id: str, *, actor: str, ghl_email: str | None, override: bool
    ) -> ClaimOutcome:
        """Assign the deal's GHL opportunity to the actor's GHL user (PUT assignedTo).

        A deal someone else claimed stays theirs unless `override` (brokers and admins).
        """
        desk = self.desk
        link = stored_link(desk, mls_id)
        if isinstance(link, str):
            return ClaimOutcome(link, mls_id)
        ghl_map = desk.map_source().get()
        user_id = ghl_map.user_id(ghl_email)
        if user_id is None:
            return ClaimOutcome("no_ghl_user", mls_id)
        previous = self.marks(mls_id).get("claimed_by")
        if previous not in (None, actor) and not override:
            return ClaimOutcome("claimed_by_other", mls_id, previous=previous)
        opp = desk.ghl.opportunities.update(link.opportunity_id, {"assignedTo": user_id})
        link_in = OpportunityLinkIn(
            mls_id=mls_id, location_id=link.location_id, opportunity_id=opp.id,
            contact_id=opp.contact_id or link.contact_id, pipeline_id=opp.pipeline_id,
            stage_id=opp.pipeline_stage_id, assigned_to=opp.assigned_to, status=opp.status,
        )  # fmt: skip
        with session_scope(desk.engine) as session:
            record_opportunity_link(session=session, link_in=link_in, now=desk.clock())
        self._mark(mls_id, claimed_by=actor, claimed_at=desk.clock().isoformat())
        self._claimed(mls_id, actor=actor, previous=previous)
        user = ghl_map.users.get((ghl_email or "").lower())
        owner = (user.name or user.email) if user else ghl_email
        if previous == actor:
            return ClaimOutcome("already_yours", mls_id, owner=owner)
        code = "taken_over" if previous else "claimed"
        return ClaimOutcome(code, mls_id, previous=previous, owner=owner)

    def _claimed(self, mls_id: str, *, actor: str, previous: str | None) -> None:
        """Tell the claim hooks (e.g. the Slack Home tab); a failing hook never undoes a claim."""
        for hook in self.on_claim:
            try:
                hook(mls_id, actor=actor, previous=previous)
            except Exception:
                log.exception("a claim hook failed for %s", mls_id)

    def pass_deal(self, mls_id: str, *, actor: str) -> bool:
        """Record that `actor` passed on the deal; False when the store has no such deal."""
        if self.desk.facts(mls_id) is None:
            return False
        passed = list(self.marks(mls_id).get("passed_by") or [])
        if actor not in passed:
            passed.append(actor)
        self._mark(mls_id, passed_by=passed)
        return True

    def marks(self, mls_id: str) -> dict[str, Any]:
        """What people did to the deal in Slack: claimed_by, claimed_at, passed_by."""
        with session_scope(self.desk.engine, readonly=True) as session:
            found = store_state.get_sync_state(session=session, key=desk_key(mls_id))
            return dict(found.value) if found else {}

    def _mark(self, mls_id: str, **changes: Any) -> None:
        # Read-modify-write under a process lock; SyncState is last-writer-wins, so two
        # instances clicking the same deal in the same instant may lose one pass (never a claim:
        # GHL's assignedTo is the truth the card shows).
        with self._marks_lock, session_scope(self.desk.engine) as session:
            found = store_state.get_sync_state(session=session, key=desk_key(mls_id))
            value = dict(found.value) if found else {}
            value.update(changes)
            store_state.set_sync_state(
                session=session, key=desk_key(mls_id), value=value, now=self.desk.clock()
            )
        mark_cards_changed(self.desk.engine, [mls_id], now=self.desk.clock())
