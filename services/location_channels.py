"""Which location a Slack channel stands for, and how a message names its location (issue 14).

A channel is bound to a location by the location's settings: its `channels` (deals / ops /
replies), its `bound_channels`, or a market's channels in its mapping's `slack_routing` (a
channel bound to a market is bound to that market's location). A command typed in a bound
channel acts on that location; anywhere else it acts on the default location.

    location_for_channel(session, channel_id="C0DEALSB", channel_name="deals-b", defaults=s)
    location_label(session, "loc1", configured=s.ghl_location_id)   # None with one location
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from services.config import DealConfigError
from services.locations import (
    Defaults,
    LocationProfile,
    LocationSettingsError,
    RulesError,
    profile_for,
)
from store.locations import active_location_ids, list_locations


@dataclass(frozen=True)
class ChannelBinding:
    """The location a channel acts on, and the market when the channel is a market's."""

    location_id: str
    market: str | None = None


def _names(channel_id: str | None, channel_name: str | None) -> set[str]:
    names = {channel_id} if channel_id else set()
    if channel_name:
        names.add("#" + channel_name.lstrip("#").lower())
    return names


def _market(profile: LocationProfile, names: set[str]) -> str | None:
    for market in profile.routing.markets:
        if names & set(market.channels.values()):
            return market.zip_prefix or market.city or market.state
    return None


def location_for_channel(
    session: Session,
    *,
    channel_id: str | None,
    channel_name: str | None = None,
    defaults: Defaults,
) -> ChannelBinding | None:
    """The active location `channel_id` (or `#channel_name`) is bound to; None if unbound.

    Only locations with overrides can bind a channel, so a one-location deployment reads one
    empty table. A location whose overrides are broken binds nothing (its own checks say why).
    """
    names = _names(channel_id, channel_name)
    if not names:
        return None
    active = set(active_location_ids(session, configured=defaults.ghl_location_id))
    for row in list_locations(session):
        if row.location_id not in active or not row.settings:
            continue
        try:
            profile = profile_for(session, row.location_id, defaults)
        except (LocationSettingsError, DealConfigError, RulesError):
            continue
        if names & profile.bound_channels():
            return ChannelBinding(row.location_id, _market(profile, names))
    return None


def default_location(session: Session, *, defaults: Defaults) -> str | None:
    """The location commands act on outside bound channels: GHL_LOCATION_ID, else the only
    active location; None when there are several and none is configured."""
    if defaults.ghl_location_id:
        return defaults.ghl_location_id
    active = active_location_ids(session)
    return active[0] if len(active) == 1 else None


def location_label(session: Session, location_id: str, *, configured: str | None) -> str | None:
    """How a card or message names `location_id` when several locations are active, else None
    (a one-location team is not told which location every time)."""
    active = active_location_ids(session, configured=configured)
    if len(active) < 2:
        return None
    for row in list_locations(session, include_disabled=True, configured=configured):
        if row.location_id == location_id and row.name:
            return f"{row.name} ({location_id})"
    return location_id
