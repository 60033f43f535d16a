"""One delivery run's context and its report, and the outbox transitions a worker ends items with.

Every item a worker claims ends in exactly one `ItemOutcome`; `close_item` writes the matching
outbox transition (and gives back an SMS slot that was not used) in one transaction.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Engine

from ghl.client import GHLClient
from matching.notify import NotifyRules
from services.config import DealConfig
from store import outbox, sms
from store.db import session_scope
from store.models import OutboxItem

# What became of one claimed item. "retry": back to pending at `until` (GHL busy or the outcome
# of a send unknown); "lost": another worker took the item over (our lease had expired).
Status = Literal["sent", "deferred", "excluded", "cancelled", "retry", "failed", "lost"]

# Called at named points of a text's delivery with the item: "claimed", "checked" (the policy
# allows it now), "reserved" (SMS slot taken), "sent" (GHL accepted it, not yet recorded). A
# hook for tests that hold or kill a worker at an exact step; production passes nothing.
Checkpoint = Callable[[str, OutboxItem], None]


@dataclass(frozen=True, kw_only=True)
class ItemOutcome:
    """What one delivery attempt did with one outbox item, and why."""

    item_id: int
    kind: str
    contact_id: str | None
    status: Status
    detail: str
    until: datetime | None = None
    message_id: str | None = None
    found_in_ghl: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "item_id": self.item_id,
            "kind": self.kind,
            "contact_id": self.contact_id,
            "status": self.status,
            "detail": self.detail,
            "until": self.until.isoformat() if self.until else None,
            "message_id": self.message_id,
            "found_in_ghl": self.found_in_ghl,
        }


@dataclass
class DeliveryReport:
    """Everything one `deliver_due` run claimed, with one outcome per item."""

    outcomes: list[ItemOutcome] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        """Outcomes by status, e.g. {"sent": 3, "deferred": 17}."""
        return dict(Counter(outcome.status for outcome in self.outcomes))

    def of(self, status: Status, *, kind: str | None = None) -> list[ItemOutcome]:
        return [o for o in self.outcomes if o.status == status and (kind is None or o.kind == kind)]

    def as_dict(self) -> dict[str, Any]:
        return {"counts": self.counts, "items": [o.as_dict() for o in self.outcomes]}


@dataclass
class DeliveryContext:
    """What every item of one run needs; `workflow_ids` caches GHL's workflows for the run.

    `now` is the time the current item is judged at: the run's `now`, or `clock()` read as
    each item starts when the caller passes a clock (production: the wall clock).
    """

    engine: Engine
    client: GHLClient
    rules: NotifyRules
    config: DealConfig
    now: datetime
    worker_id: str
    lease_seconds: float = 120.0
    location_timezone: str | None = None
    checkpoint: Checkpoint | None = None
    clock: Callable[[], datetime] | None = None
    workflow_ids: dict[str, str] = field(default_factory=dict)
    # Set when GHL refused the token: the rest of the run is handed back without calling GHL.
    token_refused: bool = False
    # Looked up on each call (not bound once), so a patched clock in tests stays consistent.
    started: float = field(default_factory=lambda: time.monotonic())

    def pause(self, point: str, item: OutboxItem) -> None:
        if self.checkpoint is not None:
            self.checkpoint(point, item)

    def elapsed(self) -> float:
        """Real seconds since the run started (monotonic: immune to clock changes)."""
        return time.monotonic() - self.started

    def hold(self, item: OutboxItem) -> bool:
        """Renew this worker's lease on `item` from the real present; False if it was lost.

        Called right before a send, so the send (bounded by the client's timeout) finishes
        inside a lease no other worker can take over, however long the look-ups took.
        """
        assert item.id is not None
        present = self.clock() if self.clock else self.now + timedelta(seconds=self.elapsed())
        until = present + timedelta(seconds=self.lease_seconds)
        with session_scope(self.engine) as session:
            kept = outbox.extend_lease(
                session=session, item_id=item.id, worker_id=self.worker_id, until=until
            )
        return kept is not None


def close_item(
    ctx: DeliveryContext,
    item: OutboxItem,
    *,
    status: Status,
    detail: str,
    until: datetime | None = None,
    release_slot_id: int | None = None,
) -> ItemOutcome:
    """End this worker's hold on `item` with `status`; release an unused SMS slot with it.

    When the lease was lost the transition is refused, the slot is left to the new holder and
    the outcome is "lost".
    """
    assert item.id is not None
    with session_scope(ctx.engine) as session:
        common: dict[str, Any] = {
            "session": session,
            "item_id": item.id,
            "worker_id": ctx.worker_id,
            "now": ctx.now,
        }
        if status == "deferred":
            assert until is not None
            done = outbox.defer(**common, until=until, reason=detail)
        elif status == "excluded":
            done = outbox.exclude(**common, reason=detail)
        elif status == "cancelled":
            done = outbox.cancel(**common, reason=detail)
        elif status in ("retry", "failed"):
            done = outbox.mark_failed(**common, error=detail, retry_at=until)
        else:
            raise ValueError(f"close_item does not record {status!r}")
        if done is not None and release_slot_id is not None:
            sms.release_sms_slot(session=session, slot_id=release_slot_id)
    if done is None:
        status, detail = "lost", f"lost_lease: another worker took the item over ({detail})"
    return ItemOutcome(
        item_id=item.id,
        kind=item.kind,
        contact_id=item.payload.get("contact_id") or item.contact_id,
        status=status,
        detail=detail,
        until=until,
    )
