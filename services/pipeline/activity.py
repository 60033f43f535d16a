"""Stage progression from activity: a completed task or a booked showing moves the deal on.

The mapping (`services.pipeline.rules.STAGE_FOR_TASK`, `STAGE_FOR_APPOINTMENT`):
- "Review hot deal" completed        -> "priority"  (Priority Review)
- "Contact matched buyers" completed -> "contacted" (Buyers Contacted)
- "Schedule showing" completed       -> "showing"   (Showing Booked)
- an appointment booked              -> "showing"
Only forward: the current stage is read from GHL (a broker may have moved the deal since),
and a deal already at or past the target, closed (won/lost/abandoned), or in a stage the
mapping does not name is left where it is. The webhook and poll wiring call these.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlmodel import select

from ghl.errors import GHLNotFoundError
from services.pipeline.parts import LocationPart
from services.pipeline.rules import (
    STAGE_FOR_APPOINTMENT,
    STAGE_FOR_TASK,
    forward_stage,
    parse_task_title,
)
from store.db import session_scope
from store.deals import OpportunityLinkIn, record_opportunity_link
from store.models import OpportunityLink


@dataclass(frozen=True)
class StageMove:
    """What an activity did to one deal."""

    mls_id: str
    opportunity_id: str
    from_key: str | None
    to_key: str | None
    moved: bool
    reason: str


def deals_of_contact(engine: Engine, *, location_id: str, contact_id: str) -> list[OpportunityLink]:
    with session_scope(engine, readonly=True) as session:
        stmt = select(OpportunityLink).where(
            OpportunityLink.location_id == location_id, OpportunityLink.contact_id == contact_id
        )
        return list(session.exec(stmt).all())


class StageAdvancer(LocationPart):
    """Moves one location's deals forward on activity; made by `DealPipeline`."""

    def on_task_completed(self, *, contact_id: str, task_title: str) -> list[StageMove]:
        """A DealFinder task was completed; other tasks (no MLS id in the title) move nothing."""
        parsed = parse_task_title(self.config, task_title)
        if parsed is None or parsed[0].key not in STAGE_FOR_TASK:
            return []
        spec, mls_id = parsed
        links = [
            link
            for link in deals_of_contact(
                self.engine, location_id=self.client.location_id, contact_id=contact_id
            )
            if link.mls_id.casefold() == mls_id.casefold()
        ]
        return [self._advance(link, STAGE_FOR_TASK[spec.key]) for link in links]

    def on_appointment(self, *, contact_id: str) -> list[StageMove]:
        """A showing was booked with the contact: each of its deals moves to "showing"."""
        links = deals_of_contact(
            self.engine, location_id=self.client.location_id, contact_id=contact_id
        )
        return [self._advance(link, STAGE_FOR_APPOINTMENT) for link in links]

    def _advance(self, link: OpportunityLink, target: str) -> StageMove:
        def stay(current: str | None, reason: str) -> StageMove:
            return StageMove(link.mls_id, link.opportunity_id, current, current, False, reason)

        if target not in self.ghl_map.stage_ids:
            return stay(None, f"the mapping has no {target!r} stage")
        try:
            opp = self.client.opportunities.get(link.opportunity_id)
        except GHLNotFoundError:
            return stay(None, "the opportunity was deleted in GHL")
        current = self.ghl_map.stage_key(opp.pipeline_stage_id)
        if (opp.status or "open") != "open":
            return stay(current, f"the deal is {opp.status}")
        move = forward_stage(
            current=current, target=target, progression=self.config.pipeline.progression
        )
        if move is None:
            where = current or "a stage the mapping does not name"
            return stay(current, f"already at {where}; deals never move back")
        updated = self.client.opportunities.update(
            opp.id, {"pipelineStageId": self.ghl_map.stage_ids[move]}
        )
        with session_scope(self.engine) as session:
            record_opportunity_link(
                session=session,
                link_in=OpportunityLinkIn(
                    mls_id=link.mls_id,
                    location_id=link.location_id,
                    opportunity_id=updated.id,
                    contact_id=updated.contact_id or link.contact_id,
                    pipeline_id=updated.pipeline_id,
                    stage_id=updated.pipeline_stage_id,
                    assigned_to=updated.assigned_to,
                    status=updated.status,
                ),
                now=self.clock(),
            )
        return StageMove(link.mls_id, opp.id, current, move, True, f"moved to {move}")
