"""The GHL app install built from Settings: the OAuth app, the token vault, per-location clients.

    parts = OAuthParts.from_settings(settings, engine=engine, post_ops=post)
    client = parts.client_for("loc_123")        # a GHLClient whose tokens renew themselves
    routes = parts.routes()                      # /ghl/install, /ghl/oauth/callback

Nothing outside `bot/` knows a client's token comes from here: `ghl.client.GHLClient` takes
a token provider and treats a Private Integration Token the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from bot.settings import Settings
from bot.slack.escape import escape
from ghl.client import GHLClient, make_rate_backend
from ghl.oauth import GHLOAuthApp
from ghl.oauth_provider import OAuthTokenProvider
from ghl.retry import RetryPolicy
from store.oauth_tokens import TokenVault

log = logging.getLogger("dealfinder.oauth")

Poster = Callable[[str], bool]


def reinstall_text(location_id: str, reason: str) -> str:
    """The ops alert for a location whose tokens are gone."""
    return (
        f":rotating_light: *GHL app needs re-install at location {escape(location_id)}*: "
        f"{escape(reason)}.\nDealFinder has stopped calling GHL for this location (other "
        "locations carry on). Fix: a GHL admin of the location opens `/ghl/install` on "
        "DealFinder's host and approves the app again."
    )


@dataclass
class OAuthParts:
    """Everything the app install needs in one process."""

    settings: Settings
    engine: Engine
    app: GHLOAuthApp
    vault: TokenVault
    post_ops: Poster
    clock: Callable[[], float] | None = None
    _clients: dict[str, GHLClient] = field(default_factory=dict)

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        engine: Engine,
        post_ops: Poster | None = None,
        clock: Callable[[], float] | None = None,
    ) -> OAuthParts:
        assert settings.ghl_client_id and settings.ghl_client_secret and settings.secret_key
        extra: dict[str, Any] = {"clock": clock} if clock else {}
        app = GHLOAuthApp(
            client_id=settings.ghl_client_id,
            client_secret=settings.ghl_client_secret.get_secret_value(),
            redirect_uri=settings.ghl_app_redirect_url or "",
            base_url=settings.ghl_base_url,
            timeout=(min(5.0, settings.ghl_timeout_seconds), settings.ghl_timeout_seconds),
            **extra,
        )
        vault = TokenVault(engine, settings.secret_key.get_secret_value())
        return cls(
            settings=settings,
            engine=engine,
            app=app,
            vault=vault,
            post_ops=post_ops or _ops_poster(settings),
            clock=clock,
        )

    def provider(self, location_id: str) -> OAuthTokenProvider:
        extra: dict[str, Any] = {"clock": self.clock} if self.clock else {}
        return OAuthTokenProvider(
            location_id=location_id,
            app=self.app,
            vault=self.vault,
            on_reinstall_needed=self._reinstall_needed,
            **extra,
        )

    def _reinstall_needed(self, location_id: str, reason: str) -> None:
        if not self.post_ops(reinstall_text(location_id, reason)):
            log.error("could not alert the ops channel that %s needs a re-install", location_id)

    def client_for(self, location_id: str) -> GHLClient:
        """A GHL client for an installed location (one per location per process)."""
        found = self._clients.get(location_id)
        if found is None:
            settings = self.settings
            found = GHLClient(
                auth=self.provider(location_id),
                location_id=location_id,
                base_url=settings.ghl_base_url,
                rate_backend=make_rate_backend(
                    settings.ghl_rate_backend,
                    database_url=settings.database_url,
                    redis_url=settings.redis_url,
                ),
                rate_margin=settings.ghl_rate_margin,
                retry=RetryPolicy(
                    max_retries=settings.ghl_max_retries,
                    base_delay=settings.ghl_retry_base_delay,
                ),
                timeout=(min(5.0, settings.ghl_timeout_seconds), settings.ghl_timeout_seconds),
            )
            self._clients[location_id] = found
        return found

    def routes(self) -> dict[str, Any]:
        """`/ghl/install` and `/ghl/oauth/callback` for the bot's HTTP server."""
        from bot.web.oauth_routes import InstallRoutes

        install = InstallRoutes(
            app=self.app,
            vault=self.vault,
            engine=self.engine,
            authorize_url=self.settings.ghl_oauth_authorize_url,
        )
        return {"/ghl/install": install.start, "/ghl/oauth/callback": install.callback}


def _ops_poster(settings: Settings) -> Poster:
    from bot.ops.wiring import ops_poster

    return ops_poster(settings)
