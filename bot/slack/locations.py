"""Slack commands act on a location (issue 14): the one their channel is bound to, or the one
an admin names with `--location ID`, else the deployment's default location.

    /deal hot                          # in #deals-bay (bound to loc_b): loc_b's hot deals
    /deal show TPA-1 --location loc_b  # an admin, anywhere: loc_b's deal

`LocationDesks` keeps one `BotServices` per location (its GHL client, map, SMS rules and
channels from its profile), built on first use; the default location's are the bot's own.
The binding itself is `services.location_channels.location_for_channel`.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from services.location_channels import location_for_channel
from store.db import session_scope
from store.locations import active_location_ids

if TYPE_CHECKING:
    from bot.slack.alerts import DealAlerts
    from bot.slack.app import BotServices
    from bot.slack.listeners.common import Turn

log = logging.getLogger("dealfinder.bot.locations")

NAMED = re.compile(r"(?:^|\s)--location(?:=|\s+)(\S+)")
CHOOSE_PERMISSION = "deal.location"  # naming a location explicitly: admins only


def split_location(text: str) -> tuple[str, str | None]:
    """The command text without `--location ID`, and the id (None when not named)."""
    found = NAMED.search(text or "")
    if found is None:
        return text, None
    return (text[: found.start()] + text[found.end() :]).strip(), found.group(1)


@dataclass
class LocationDesks:
    """The services of each location the bot answers for, built once per location."""

    default: BotServices
    build: Callable[[str], BotServices]
    _built: dict[str, BotServices] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def active(self) -> list[str]:
        with session_scope(self.default.engine, readonly=True) as session:
            return active_location_ids(session, configured=self.default.ghl.location_id)

    def location_of(self, body: dict[str, Any], named: str | None) -> str:
        """The location a request acts on: named, else its channel's, else the default."""
        if named:
            return named
        channel = body.get("channel")
        channel_id = body.get("channel_id") or (
            channel.get("id") if isinstance(channel, dict) else None
        )
        with session_scope(self.default.engine, readonly=True) as session:
            bound = location_for_channel(
                session,
                channel_id=channel_id,
                channel_name=body.get("channel_name"),
                defaults=self.default.settings,
            )
        return bound.location_id if bound else self.default.ghl.location_id

    def services_for(self, location_id: str) -> BotServices:
        if location_id == self.default.ghl.location_id:
            return self.default
        with self._lock:
            found = self._built.get(location_id)
            if found is None:
                found = self._built[location_id] = self.build(location_id)
                log.info("serving Slack commands for location %s", location_id)
            return found

    def alerts_for(self, location_id: str, *, active: list[str] | None = None) -> DealAlerts | None:
        """The hot-deal alerts of an active location (`bot.slack.alerts.OtherLocations`); None
        when it is not active (`active`: the list a caller just read), or its set-up is broken
        (logged: its own checks say why)."""
        if location_id not in (self.active() if active is None else active):
            return None
        try:
            return self.services_for(location_id).alerts
        except Exception:
            log.exception("location %s: its Slack services could not be built", location_id)
            return None

    def close(self) -> None:
        for services in self._built.values():
            services.close(wait=True)


def unknown_location(location_id: str, active: list[str]) -> str:
    return (
        f"There is no active location `{location_id}`. Active: "
        + (", ".join(f"`{a}`" for a in active) or "none")
        + "."
    )


def on_location(turn: Turn, named: str | None) -> Turn:
    """`turn` with the services of the location it acts on (itself with one location)."""
    desks = turn.services.locations
    if desks is None:
        return turn
    location_id = desks.location_of(turn.body, named)
    return replace(turn, services=desks.services_for(location_id))


def location_services_factory(
    default: BotServices, web_client: Any, *, client_for: Callable[..., Any] | None = None
) -> Callable[[str], Any]:
    """Build another location's services from its profile (bot.location_wiring); its GHL
    client from `client_for(settings, location_id, engine=...)` (default: its app install)."""

    def build(location_id: str) -> BotServices:
        from bot.location_wiring import client_for_location, location_profile
        from bot.slack.app import build_services

        settings, engine = default.settings, default.engine
        profile = location_profile(settings, location_id, engine=engine)
        own = settings.model_copy(
            update={
                "deals_channel": profile.deals_channel,
                "ops_channel": profile.ops_channel,
                "replies_channel_setting": profile.replies_channel,
                "roles_file": profile.roles_file,
            }
        )
        ghl = (client_for or client_for_location)(settings, location_id, engine=engine)
        return build_services(
            own, ghl=ghl, engine=engine, web_client=web_client, config=profile.config,
            rules=profile.rules, clock=default.clock,
        )  # fmt: skip

    return build
