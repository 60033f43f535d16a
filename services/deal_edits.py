"""Edits people make to a deal from Slack — stage, owner, won / lost, note — done in GHL.

No Slack here: each method takes plain values, changes the deal's GHL opportunity (or its
contact, for a note), keeps the store's opportunity link as GHL answered, and says what it did.
Who may do it is checked by the caller (`bot.slack.listeners.deal_edits`, with `guarded`).

    edits = DealEdits(desk)
    edits.move_stage("TPA-1", "under contract")        # EditOutcome("done", stage="Under Contract")
    edits.reassign("TPA-1", ghl_email="maria@x.com")
    edits.close("TPA-1", "won")
    edits.add_note("TPA-1", "Seller wants to close in May", author_email="james@x.com")
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ghl.models import Opportunity
from services.desk import DealDesk
from services.ghl_map import GHLMap
from store.db import session_scope
from store.deals import OpportunityLinkIn, get_opportunity_link, record_opportunity_link
from store.models import OpportunityLink

CLOSING_STATUSES = ("won", "lost")
MAX_NOTE = 5000  # a note is for a person to read; longer text is a document, not a note
MissingLink = Literal["no_opportunity", "unknown_deal"]


@dataclass(frozen=True)
class EditOutcome:
    """What an edit did. `code`: done, unchanged, unknown_deal, no_opportunity, unknown_stage,
    no_ghl_user, bad_status, empty_note. `stages`: the valid names, for unknown_stage."""

    code: str
    mls_id: str
    stage: str | None = None
    owner: str | None = None
    status: str | None = None
    stages: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.code in ("done", "unchanged")


def find_stage(stages: tuple[tuple[str, str], ...], wanted: str) -> tuple[str, str] | None:
    """The (id, name) of the stage named `wanted` (case and spacing ignored), or by its id."""
    folded = " ".join(wanted.split()).lower()
    for stage_id, name in stages:
        if " ".join(name.split()).lower() == folded or stage_id == wanted:
            return stage_id, name
    return None


def stored_link(desk: DealDesk, mls_id: str) -> OpportunityLink | MissingLink:
    """The deal's stored opportunity link in the desk's location, else why there is none:
    "no_opportunity" for a stored deal without one, "unknown_deal" for no such deal."""
    with session_scope(desk.engine, readonly=True) as session:
        link = get_opportunity_link(
            session=session, mls_id=mls_id, location_id=desk.ghl.location_id
        )
    if link is None:
        return "no_opportunity" if desk.facts(mls_id) is not None else "unknown_deal"
    return link


class DealEdits:
    """Writes to one location's deals in GHL. Thread-safe (no state of its own)."""

    def __init__(self, desk: DealDesk):
        self.desk = desk

    def _map(self) -> GHLMap:
        return self.desk.map_source().get()

    def _link(self, mls_id: str) -> OpportunityLink | EditOutcome:
        """The deal's stored opportunity link, or the outcome that explains why there is none."""
        link = stored_link(self.desk, mls_id)
        return EditOutcome(link, mls_id) if isinstance(link, str) else link

    def stage_names(self) -> tuple[str, ...]:
        return tuple(name for _, name in self._map().pipeline_stages)

    def move_stage(self, mls_id: str, stage: str) -> EditOutcome:
        """Move the deal's opportunity to the pipeline stage named `stage` (or with that id)."""
        ghl_map = self._map()
        found = find_stage(ghl_map.pipeline_stages, stage)
        if found is None:
            return EditOutcome("unknown_stage", mls_id, stages=self.stage_names())
        link = self._link(mls_id)
        if isinstance(link, EditOutcome):
            return link
        if link.stage_id == found[0]:
            return EditOutcome("unchanged", mls_id, stage=found[1])
        opp = self.desk.ghl.opportunities.update(
            link.opportunity_id,
            {"pipelineStageId": found[0]},
        )
        self._keep(link, opp)
        return EditOutcome("done", mls_id, stage=found[1])

    def reassign(self, mls_id: str, *, ghl_email: str | None) -> EditOutcome:
        """Make the GHL user with `ghl_email` the opportunity's owner (PUT assignedTo)."""
        ghl_map = self._map()
        user = ghl_map.users.get((ghl_email or "").strip().lower())
        if user is None:
            return EditOutcome("no_ghl_user", mls_id)
        link = self._link(mls_id)
        if isinstance(link, EditOutcome):
            return link
        owner = user.name or user.email
        if link.assigned_to == user.id:
            return EditOutcome("unchanged", mls_id, owner=owner)
        opp = self.desk.ghl.opportunities.update(
            link.opportunity_id,
            {"assignedTo": user.id},
        )
        self._keep(link, opp)
        return EditOutcome("done", mls_id, owner=owner)

    def close(self, mls_id: str, status: str) -> EditOutcome:
        """Mark the opportunity won or lost (PUT /opportunities/{id}/status)."""
        if status not in CLOSING_STATUSES:
            return EditOutcome("bad_status", mls_id, status=status)
        link = self._link(mls_id)
        if isinstance(link, EditOutcome):
            return link
        if link.status == status:
            return EditOutcome("unchanged", mls_id, status=status)
        ghl = self.desk.ghl
        opportunity_id = link.opportunity_id
        ghl.opportunities.update_status(opportunity_id, status)
        self._keep(link, ghl.opportunities.get(opportunity_id))
        return EditOutcome("done", mls_id, status=status)

    def add_note(self, mls_id: str, body: str, *, author_email: str | None) -> EditOutcome:
        """A GHL note on the contact of the deal's opportunity, by the author's GHL user."""
        text = body.strip()
        if not text:
            return EditOutcome("empty_note", mls_id)
        link = self._link(mls_id)
        if isinstance(link, EditOutcome):
            return link
        contact_id = link.contact_id
        if not contact_id:
            return EditOutcome("no_opportunity", mls_id)
        user_id = self._map().user_id(author_email)
        note = f"{text[:MAX_NOTE]}\n\n(DealFinder, deal {mls_id})"
        self.desk.ghl.contacts.add_note(contact_id, note, user_id=user_id)
        return EditOutcome("done", mls_id)

    def _keep(self, link: OpportunityLink, opp: Opportunity) -> None:
        """The stored link as GHL now has it (cards and the digest read the store)."""
        link_in = OpportunityLinkIn(
            mls_id=link.mls_id, location_id=link.location_id,
            opportunity_id=opp.id,
            contact_id=opp.contact_id or link.contact_id,
            pipeline_id=opp.pipeline_id, stage_id=opp.pipeline_stage_id,
            assigned_to=opp.assigned_to, status=opp.status,
        )  # fmt: skip
        with session_scope(self.desk.engine) as session:
            record_opportunity_link(session=session, link_in=link_in, now=self.desk.clock())
