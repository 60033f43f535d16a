"""A GHL client and a profile for any one location (issue 14), from the deployment's Settings.

    client = client_for_location(settings, "loc_b", engine=engine)
    profile = location_profile(settings, "loc_b", engine=engine)

A location installed through the app (OAuth) gets its own tokens; the configured
GHL_LOCATION_ID keeps its private integration token; a dry run answers every location
in-process. A token deployment asked for another location gets a ConfigError naming the fix.
"""

from __future__ import annotations

from sqlalchemy import Engine

from bot.runtime import client_for_location, open_store
from bot.settings import Settings
from services.locations import LocationProfile, profile_for
from store.db import session_scope

__all__ = ["client_for_location", "location_profile"]


def location_profile(
    settings: Settings, location_id: str, *, engine: Engine | None = None
) -> LocationProfile:
    """`location_id`'s profile (`services.locations.profile_for`) read from the store."""
    engine = engine or open_store(settings)
    with session_scope(engine, readonly=True) as session:
        return profile_for(session, location_id, settings)
