"""Locations the GHL app is installed at: name and time zone from GHL, installed or not."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from store.models_oauth import GHLInstall


def record_install(
    *,
    session: Session,
    location_id: str,
    now: datetime,
    company_id: str | None = None,
    name: str | None = None,
    timezone: str | None = None,
) -> GHLInstall:
    """Mark `location_id` installed (again), keeping known details that are not given."""
    row = session.get(GHLInstall, location_id) or GHLInstall(location_id=location_id)
    row.company_id = company_id or row.company_id
    row.name = name or row.name
    row.timezone = timezone or row.timezone
    if row.status != "installed" or row.installed_at is None:
        row.installed_at = now
    row.status, row.uninstalled_at, row.updated_at = "installed", None, now
    session.add(row)
    return row


def record_uninstall(*, session: Session, location_id: str, now: datetime) -> bool:
    """Mark `location_id` uninstalled (its data stays); True when it was installed."""
    row = session.get(GHLInstall, location_id) or GHLInstall(location_id=location_id)
    changed = row.status != "uninstalled"
    row.status, row.uninstalled_at, row.updated_at = "uninstalled", now, now
    session.add(row)
    return changed


def get_install(*, session: Session, location_id: str) -> GHLInstall | None:
    return session.get(GHLInstall, location_id)
