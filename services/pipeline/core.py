"""An analysed property becomes a worked deal in GHL: contact, opportunity, note, tasks, alerts.

Safe to re-run and to kill: the store's MLS id -> opportunity link (or, on a machine without
it, a GHL search by MLS id) finds the deal before anything is created; progress is written
before and after the calls it covers (`services.pipeline.progress`); an unchanged record
costs no GHL call at all.

    pipeline = DealPipeline(client, engine, config, GHLMapSource(client, config).get())
    result = pipeline.process(record)      # DealResult: created / updated / skipped / failed

GHL calls for a new property: contact upsert, tags added (only those the contact lacks: tags
in an upsert would replace a CRM contact's own), opportunity create (custom fields, stage and
owner inside), note, one per task; a hot deal adds the workflow enrolment. Finding
an unlinked deal costs a search, or nothing after `prefetch` listed the pipeline for the
batch. `bench/import.py` measures it.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from ghl.client import GHLClient
from ghl.errors import (
    GHLAuthError,
    GHLDailyLimitError,
    GHLError,
    GHLPermissionError,
)
from ghl.models import Contact, Opportunity
from matching.notify import NotifyRules, load_rules
from services.config import DealConfig
from services.ghl_map import GHLMap
from services.hot_alerts import alert_state, queue_alert
from services.pipeline import rules
from services.pipeline.activity import StageAdvancer, StageMove
from services.pipeline.hot import HotDealActions
from services.pipeline.listing import ListingDeals
from services.pipeline.lookup import OpportunityLookup
from services.pipeline.progress import DealState, load_state, save_state
from services.pipeline.result import NO_HISTORY, DealResult, HotHook, explain_error
from services.property import PropertyRecord
from store.deals import OpportunityLinkIn
from store.locks import named_lock
from store.types import utcnow

__all__ = [
    "DealPipeline",
    "DealResult",
    "HotHook",
    "StageMove",
    "explain_error",
    "process_property",
]

log = logging.getLogger("dealfinder.pipeline")


IN_PROGRESS = "another DealFinder process is working on this deal right now"


class DealPipeline:
    """Turns records into GHL deals for one location, one record at a time (not thread-safe)."""

    def __init__(
        self,
        client: GHLClient,
        engine: Engine,
        config: DealConfig,
        ghl_map: GHLMap,
        *,
        clock: Callable[[], datetime] = utcnow,
        on_hot_deal: Sequence[HotHook] = (),
        rules: NotifyRules | None = None,
        worker_id: str | None = None,
    ):
        self.client, self.engine, self.config, self.ghl_map = client, engine, config, ghl_map
        self.clock = clock
        self.on_hot_deal = list(on_hot_deal)
        self.location_id = client.location_id
        self.lookup = OpportunityLookup(client=client, engine=engine, ghl_map=ghl_map)
        self.listing_deals = ListingDeals(client=client, ghl_map=ghl_map)
        self.stages = StageAdvancer(
            client=client, engine=engine, config=config, ghl_map=ghl_map, clock=clock
        )
        self.hot = HotDealActions(
            client=client, engine=engine, config=config, ghl_map=ghl_map, clock=clock,
            rules=rules or load_rules(),
            worker_id=worker_id or f"deals:{socket.gethostname()}:{os.getpid()}",
        )  # fmt: skip

    # -- activity (called by the webhook and poll wiring) ---------------------------------------

    def advance_on_task_completed(self, *, contact_id: str, task_title: str) -> list[StageMove]:
        """A task was completed in GHL: move its deal forward (see `services.pipeline.activity`)."""
        return self.stages.on_task_completed(contact_id=contact_id, task_title=task_title)

    def advance_on_appointment(self, *, contact_id: str) -> list[StageMove]:
        """A showing was booked with the contact: move its deals to "showing" if forward."""
        return self.stages.on_appointment(contact_id=contact_id)

    # -- one property ---------------------------------------------------------------------

    def process(self, record: PropertyRecord) -> DealResult:
        """Create, update or skip the deal for `record`; GHL failures become a failed result.

        Raises only what should stop a whole batch: the daily limit and a refused token.
        """
        result = DealResult(mls_id=record.mls_id, record=record)
        result.hot = record.deal_score >= self.config.thresholds.hot
        before = self.client.stats.calls
        lock = named_lock(self.engine, f"deal:{self.location_id}:{record.mls_id}")
        try:
            with lock as held:
                if not held:
                    # Two runs of one property at once would both make its note and tasks
                    # (GHL has no idempotency key for them); the other run finishes it.
                    result.action, result.reason = "skipped", IN_PROGRESS
                    return result
                self._process(record, result)
        except (GHLDailyLimitError, GHLAuthError, GHLPermissionError):
            raise
        except GHLError as exc:
            result.action, result.reason = "failed", explain_error(exc)
            log.warning("deal %s failed: %s", record.mls_id, result.reason)
        finally:
            result.ghl_calls = self.client.stats.calls - before
        return result

    def prefetch(self, records: Sequence[PropertyRecord]) -> None:
        """Before a batch: let the lookup list the pipeline once if that beats searching."""
        self.lookup.prefetch(records)

    def _process(self, record: PropertyRecord, result: DealResult) -> None:
        if record.deal_score < self.config.thresholds.min_import:
            result.action = "skipped"
            result.reason = (
                f"score below thresholds.min_import ({self.config.thresholds.min_import})"
            )
            return
        version = record.version()
        state = load_state(self.engine, mls_id=record.mls_id, location_id=self.location_id)
        if state.link is not None and state.progress.done == version:
            self._describe_link(state, result)
            result.action, result.reason = "skipped", "unchanged"
            return
        existing, trusted = self.lookup.find(record, state.link)
        ours = trusted or state.has_history  # this store has worked on the deal before
        created = False
        if existing is None:
            # Written ahead of the create, so a crash before the link is recorded still
            # leaves this store's mark: the next run, finding the deal by search, knows the
            # hot-deal side effects were never done (on a new machine they may have been).
            state.progress.pending = version
            self._save(state, record, None)
            opp, created = self._create(record, state, result)
            if created:
                trusted = ours = True
                self.lookup.remember(record.mls_id, opp)
            else:  # per_property: GHL's upsert found the listing's deal (another run made it)
                existing = opp
        if not created:
            assert existing is not None
            opp = self._update(record, existing, state, result)
        contact_id = opp.contact_id or result.contact_id
        assert contact_id is not None
        result.contact_id, result.opportunity_id = contact_id, opp.id
        result.opportunity_url = self.client.opportunity_url(opp.id)
        progress = state.progress
        # Without a look, what the store says exists is what exists: true when the deal was
        # just created, or the link and progress are ours and no step was left half-done.
        known = trusted and progress.contact_id == contact_id and progress.pending is None
        look = not created and not known
        if progress.contact_id != contact_id:
            progress.contact_id, progress.notes, progress.tasks = contact_id, [], []
        progress.pending = version
        # The link goes in at once (no GHL call in between): from here a crash finds the deal
        # by its link, and `pending` tells the next run to look for the note and tasks.
        self._save(state, record, opp)
        self._note(record, version, contact_id, look=look, state=state, result=result)
        self._tasks(record, contact_id, look=look, state=state, result=result)
        if result.hot and (opp.status or "open") == "open":
            if ours:
                self._hot(record, contact_id, result)
            else:
                result.warnings.append(NO_HISTORY)
        progress.pending, progress.done = None, version
        self._save(state, record, None)

    # -- steps --------------------------------------------------------------------------------

    def _deal_contact(self, record: PropertyRecord) -> Contact:
        """The contact the deal hangs on: the agent's ("seller") or the listing's own.

        "per_property" names the agent in the listing's contact and its analysis note rather
        than upserting the agent's own contact too: one GHL call per listing fewer, which
        keeps a batch import at GHL's limit above 95 properties a minute (bench/import.py).
        """
        if self.ghl_map.opportunity_contact == "per_property":
            body = rules.property_contact_body(record, config=self.config)
        else:
            body = rules.contact_body(record)
        return self.client.contacts.upsert(body).contact

    def _agent_line(self, record: PropertyRecord) -> str | None:
        if self.ghl_map.opportunity_contact != "per_property":
            return None
        return rules.agent_line(record)

    def _create(
        self, record: PropertyRecord, state: DealState, result: DealResult
    ) -> tuple[Opportunity, bool]:
        """The new deal and True; or, per property, the listing's existing deal and False."""
        # The seller may already be in the CRM with tags of its own (another listing, another
        # team's campaign): `tags` in an upsert would replace them all, so they are added.
        contact = self._deal_contact(record)
        stage_key = rules.initial_stage_key(self.config, score=record.deal_score)
        owner_email = self.config.owner_email_for(
            state=record.state, city=record.city, zip_code=record.zip5
        )
        owner_id = self.ghl_map.user_id(owner_email)
        body: dict[str, Any] = {
            "pipelineId": self.ghl_map.pipeline_id,
            "pipelineStageId": self.ghl_map.stage_ids[stage_key],
            "name": rules.opportunity_name(record),
            "contactId": contact.id,
            "monetaryValue": record.list_price,
            "customFields": rules.custom_field_values(
                record, config=self.config, ghl_map=self.ghl_map
            ),
        }
        if owner_id:
            body["assignedTo"] = owner_id
        if self.ghl_map.opportunity_contact == "per_property":
            opp, created = self.listing_deals.create(body)
            if not created:
                return opp, False
        else:
            opp = self.client.opportunities.create(body)
        wanted = rules.deal_tags(self.config, score=record.deal_score)
        missing = [t for t in wanted if t not in contact.tags]
        if missing:
            self.client.contacts.add_tags(contact.id, missing)
        state.progress.quality_tag = self.config.quality_tag(score=record.deal_score)
        result.action, result.contact_id = "created", contact.id
        self._describe(result, stage_key=stage_key, owner_id=owner_id)
        return opp, True

    def _update(
        self, record: PropertyRecord, opp: Opportunity, state: DealState, result: DealResult
    ) -> Opportunity:
        # The contact exists: refresh its details without `tags` (that would replace them all)
        # and add the quality tag on its own if it is not there yet.
        contact = self._deal_contact(record)
        quality = self.config.quality_tag(score=record.deal_score)
        if contact.id == opp.contact_id:
            wanted = rules.deal_tags(self.config, score=record.deal_score)
            missing = [t for t in wanted if t not in contact.tags]
            if missing:
                self.client.contacts.add_tags(contact.id, missing)
            old = state.progress.quality_tag
            if old and old != quality and old in contact.tags:
                self.client.contacts.remove_tags(contact.id, [old])
            state.progress.quality_tag = quality
        else:
            result.warnings.append("the seller contact changed; GHL keeps the deal on the first")
        current = self.ghl_map.stage_key(opp.pipeline_stage_id)
        target = rules.initial_stage_key(self.config, score=record.deal_score)
        move = None
        if (opp.status or "open") == "open":  # a won or lost deal keeps its stage
            move = rules.forward_stage(
                current=current, target=target, progression=self.config.pipeline.progression
            )
        body: dict[str, Any] = {
            "name": rules.opportunity_name(record),
            "monetaryValue": record.list_price,
            "customFields": rules.custom_field_values(
                record, config=self.config, ghl_map=self.ghl_map
            ),
        }
        if move:
            body["pipelineStageId"] = self.ghl_map.stage_ids[move]
        updated = self.client.opportunities.update(opp.id, body)
        result.action, result.contact_id = "updated", opp.contact_id
        if not move and current != target:
            result.reason = f"stage kept at {current or 'an unmapped stage'} (never moved back)"
        self._describe(result, stage_key=move or current, owner_id=updated.assigned_to)
        return updated

    def _note(
        self, record: PropertyRecord, version: str, contact_id: str, *, look: bool,
        state: DealState, result: DealResult,
    ) -> None:  # fmt: skip
        progress = state.progress
        if version in progress.notes:
            return
        marker = rules.note_marker(record.mls_id, version)
        if look and any(
            (n.body or "").startswith(marker) for n in self.client.contacts.notes(contact_id)
        ):
            progress.notes.append(version)
            return
        body = rules.note_body(
            record,
            version=version,
            stage_name=result.stage_name or "",
            agent=self._agent_line(record),
        )
        self.client.contacts.add_note(contact_id, body)
        progress.notes.append(version)
        result.note_created = True

    def _tasks(
        self, record: PropertyRecord, contact_id: str, *, look: bool, state: DealState,
        result: DealResult,
    ) -> None:  # fmt: skip
        progress = state.progress
        wanted = [(s, rules.task_title(s, record)) for s in self.config.tasks_for(
            score=record.deal_score)]  # fmt: skip
        missing = [(s, title) for s, title in wanted if title not in progress.tasks]
        if missing and look:
            existing = {t.title for t in self.client.contacts.tasks(contact_id)}
            progress.tasks += [title for _, title in missing if title in existing]
            missing = [(s, title) for s, title in missing if title not in existing]
        now = self.clock()
        for spec, title in missing:
            self.client.contacts.create_task(
                contact_id,
                title=title,
                due=now + timedelta(hours=spec.due_hours),
                body=rules.task_body(spec, record, url=result.opportunity_url or ""),
                assigned_to=self.ghl_map.user_id(spec.assignee) or result.owner_id,
            )
            progress.tasks.append(title)
            result.tasks_created.append(title)

    def _hot(self, record: PropertyRecord, contact_id: str, result: DealResult) -> None:
        # The Slack alert is queued here, in the one path every door goes through, so a
        # process without Slack leaves it for one that has it (services.hot_alerts).
        queue_alert(
            self.engine, location_id=self.location_id, mls_id=record.mls_id, now=self.clock()
        )
        warning = self.hot.enrol(mls_id=record.mls_id, contact_id=contact_id)
        result.warnings += [warning] if warning else []
        result.warnings += self.hot.alert_brokers(record, url=result.opportunity_url or "")
        for hook in self.on_hot_deal:
            try:
                hook(result)
            except Exception as exc:  # a subscriber's bug must not lose the deal
                log.exception("on_hot_deal hook %r failed for %s", hook, record.mls_id)
                result.warnings.append(f"hot-deal hook {getattr(hook, '__name__', hook)}: {exc}")
        result.alert = alert_state(self.engine, location_id=self.location_id, mls_id=record.mls_id)

    # -- bookkeeping ----------------------------------------------------------------------

    def _save(self, state: DealState, record: PropertyRecord, opp: Opportunity | None) -> None:
        link_in = None
        if opp is not None:
            link_in = OpportunityLinkIn(
                mls_id=record.mls_id, location_id=self.location_id, opportunity_id=opp.id,
                contact_id=opp.contact_id, pipeline_id=opp.pipeline_id,
                stage_id=opp.pipeline_stage_id, assigned_to=opp.assigned_to, status=opp.status,
            )  # fmt: skip
        save_state(
            self.engine, state=state, record=record, location_id=self.location_id,
            now=self.clock(), link_in=link_in,
        )  # fmt: skip

    def _describe(self, result: DealResult, *, stage_key: str | None, owner_id: str | None) -> None:
        result.stage_key = stage_key
        result.stage_name = self.ghl_map.stage_names.get(stage_key or "")
        result.owner_id = owner_id
        result.owner_email = next(
            (email for email, u in self.ghl_map.users.items() if u.id == owner_id), None
        )

    def _describe_link(self, state: DealState, result: DealResult) -> None:
        link = state.link
        assert link is not None
        result.opportunity_id, result.contact_id = link.opportunity_id, link.contact_id
        result.opportunity_url = self.client.opportunity_url(link.opportunity_id)
        self._describe(
            result, stage_key=self.ghl_map.stage_key(link.stage_id), owner_id=link.assigned_to
        )


def process_property(record: PropertyRecord, *, pipeline: DealPipeline) -> DealResult:
    """`pipeline.process(record)`, as a function for callers that hold a pipeline."""
    return pipeline.process(record)
