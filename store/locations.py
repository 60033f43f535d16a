"""Locations this deployment serves and their overrides (issue 14).

    list_locations(session)                      # every known location, disabled ones left out
    active_location_ids(session, configured=settings.ghl_location_id)
    update_location(session=session, location_id="loc1", settings={"sms_states": ["TX"]})
    set_status(session=session, location_id="loc1", status=LocationStatus.DISABLED)

A location is known when it has a row here, an install (`ghl_installs`), or is the configured
GHL_LOCATION_ID (`configured=`; the store never reads the environment). It is *active* when it
is installed or configured, and not disabled. A single-location deployment has no rows at all:
its configured location is active and uses the defaults. Like the other store modules these
functions never commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from store.models_locations import Location, LocationStatus
from store.models_oauth import GHLInstall
from store.types import utcnow

__all__ = [
    "Location",
    "LocationStatus",
    "active_location_ids",
    "get_location",
    "install_statuses",
    "list_locations",
    "set_status",
    "update_location",
]


def install_statuses(session: Session) -> dict[str, str]:
    """location id -> "installed" | "uninstalled", for every location the app has seen."""
    return {row.location_id: row.status for row in session.exec(select(GHLInstall))}


def list_locations(
    session: Session, *, include_disabled: bool = False, configured: str | None = None
) -> list[Location]:
    """Every known location, sorted by id; the ones without a row come back unsaved."""
    rows = {row.location_id: row for row in session.exec(select(Location))}
    installs = {row.location_id: row for row in session.exec(select(GHLInstall))}
    for location_id, install in installs.items():
        rows.setdefault(location_id, Location(location_id=location_id, name=install.name))
    if configured:
        rows.setdefault(configured, Location(location_id=configured))
    return [
        row
        for _, row in sorted(rows.items())
        if include_disabled or row.status != LocationStatus.DISABLED
    ]


def active_location_ids(session: Session, *, configured: str | None = None) -> list[str]:
    """Ids of the locations to work for: installed (or `configured`) and not disabled."""
    installed = {k for k, status in install_statuses(session).items() if status == "installed"}
    if configured:
        installed.add(configured)
    return [
        row.location_id
        for row in list_locations(session, configured=configured)
        if row.location_id in installed
    ]


def get_location(session: Session, location_id: str) -> Location | None:
    return session.get(Location, location_id)


def _row(session: Session, location_id: str) -> Location:
    row = session.get(Location, location_id)
    if row is None:
        install = session.get(GHLInstall, location_id)
        row = Location(location_id=location_id, name=install.name if install else None)
    return row


def update_location(
    *,
    session: Session,
    location_id: str,
    name: str | None = None,
    settings: Mapping[str, Any] | None = None,
    unset: Iterable[str] = (),
    now: datetime | None = None,
) -> Location:
    """Create or change `location_id`'s row: a new name, settings merged in, keys removed."""
    row = _row(session, location_id)
    merged = {**(row.settings or {}), **(settings or {})}
    for key in unset:
        merged.pop(key, None)
    row.settings = merged  # a new dict, so the JSON column is seen as changed
    row.name = name or row.name
    row.updated_at = now or utcnow()
    session.add(row)
    return row


def set_status(
    *, session: Session, location_id: str, status: LocationStatus, now: datetime | None = None
) -> Location:
    """Disable or re-enable `location_id` (a row is made if it had none)."""
    row = _row(session, location_id)
    row.status, row.updated_at = LocationStatus(status), now or utcnow()
    session.add(row)
    return row
