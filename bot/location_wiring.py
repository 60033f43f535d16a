"""A GHL client and a profile for any one location (issue 14), from the deployment's Settings.

    client = client_for_location(settings, "loc_b", engine=engine)
    profile = location_profile(settings, "loc_b", engine=engine)

A location installed through the app (OAuth) gets its own tokens; the configured
GHL_LOCATION_ID keeps its private integration token; a dry run answers every location
in-process. A token deployment asked for another location gets a ConfigError naming the fix.
"""

from __future__ import annotations

from sqlalchemy import Engine

from bot.settings import ConfigError, Settings
from bot.wiring import build_ghl_client, open_store
from ghl.client import GHLClient
from services.locations import LocationProfile, profile_for
from store.db import session_scope


def client_for_location(
    settings: Settings, location_id: str, *, engine: Engine | None = None
) -> GHLClient:
    """A GHL client for `location_id` (the caller closes it)."""
    own_token = settings.ghl_api_key is not None and location_id == settings.ghl_location_id
    if settings.dry_run or own_token:
        return build_ghl_client(settings.model_copy(update={"ghl_location_id": location_id}))
    if not settings.oauth_configured:
        raise ConfigError(
            [
                f"GHL_API_KEY serves GHL_LOCATION_ID ({settings.ghl_location_id or 'unset'}) "
                f"only, not {location_id}: install the GHL app at {location_id} "
                "(GHL_CLIENT_ID, GHL_CLIENT_SECRET; README, 'Several locations')"
            ]
        )
    from bot.oauth_wiring import OAuthParts

    parts = OAuthParts.from_settings(settings, engine=engine or open_store(settings))
    return parts.client_for(location_id)


def location_profile(
    settings: Settings, location_id: str, *, engine: Engine | None = None
) -> LocationProfile:
    """`location_id`'s profile (`services.locations.profile_for`) read from the store."""
    engine = engine or open_store(settings)
    with session_scope(engine, readonly=True) as session:
        return profile_for(session, location_id, settings)
