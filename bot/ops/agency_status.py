"""Each location's work across the agency workers, for `dealfinder agency-status`.

    rows = agency_report(engine, now=utcnow())
    rows[0].line()   # "loc_a  held by host:4242:ab12  idle  3 queued"

A location is healthy when a live worker holds it and its last pass neither failed nor ran
into GHL's daily limit.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func
from sqlmodel import col, select

from bot.ops.location_runner import location_status
from services.intake.queue import KIND, location_prefix
from store.db import session_scope
from store.location_leases import lease_holders
from store.locations import active_location_ids
from store.models import OutboxItem, OutboxStatus


@dataclass(frozen=True)
class LocationWork:
    location_id: str
    holder: str | None  # the live lease holder (None: nobody works it now)
    state: str  # working | idle | parked | failing | waiting (never worked yet)
    queued: int  # intake items not yet done
    worked: int = 0
    parked_until: str | None = None
    last_error: str | None = None

    @property
    def ok(self) -> bool:
        return self.holder is not None and self.state not in ("parked", "failing")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"ok": self.ok}

    def line(self) -> str:
        who = f"held by {self.holder}" if self.holder else "NOT HELD by any live worker"
        text = f"{self.location_id}  {who}  {self.state}  {self.queued} queued"
        if self.parked_until:
            text += f"  (parked until {self.parked_until})"
        if self.last_error and not self.ok:
            text += f"  last error: {self.last_error}"
        return text


def agency_report(
    engine: Engine, *, now: datetime, configured: str | None = None
) -> list[LocationWork]:
    """One row per active location, in id order."""
    holders = lease_holders(engine, now=now)
    status = location_status(engine)
    with session_scope(engine, readonly=True) as session:
        active = sorted(active_location_ids(session, configured=configured))
        waiting = (OutboxStatus.PENDING, OutboxStatus.DEFERRED, OutboxStatus.IN_FLIGHT)
        queued = {
            loc: session.exec(
                select(func.count()).where(
                    OutboxItem.kind == KIND,
                    col(OutboxItem.status).in_(waiting),
                    col(OutboxItem.dedupe_key).startswith(location_prefix(loc), autoescape=True),
                )
            ).one()
            for loc in active
        }
    return [_row(loc, holders.get(loc), status.get(loc, {}), int(queued[loc])) for loc in active]


def _row(location_id: str, holder: str | None, seen: dict[str, Any], queued: int) -> LocationWork:
    return LocationWork(
        location_id=location_id,
        holder=holder,
        state=seen.get("state", "waiting"),
        queued=queued,
        worked=int(seen.get("worked", 0)),
        parked_until=seen.get("parked_until"),
        last_error=seen.get("last_error"),
    )
