"""`/ghl/install` and `/ghl/oauth/callback`: installing DealFinder's GHL Marketplace app.

1. `GET /ghl/install` -> 302 to GHL's location chooser with DealFinder's scopes and a fresh
   `state` (random, Authlib's; kept server-side as its SHA-256 for 10 minutes, usable once).
2. GHL sends the browser back to `GET /ghl/oauth/callback?code=...&state=...`. A missing,
   unknown, expired or already used `state` is a forged or replayed callback (CSRF): 400, and
   nothing is stored. Otherwise the code is exchanged at `POST /oauth/token`; a location
   install stores its tokens, a company (agency) install stores the company's and gets each
   approved location's from `POST /oauth/locationToken`. Tokens are encrypted at rest.

Every refusal is a small HTML page with the reason and what to do, never a traceback.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from ghl.errors import GHLError
from ghl.oauth import GHLOAuthApp, GHLOAuthError, OAuthTokens
from ghl.oauth_provider import company_key
from store.db import session_scope
from store.installs import record_install
from store.oauth_states import consume_state, remember_state
from store.oauth_tokens import TokenVault
from store.types import utcnow

log = logging.getLogger("dealfinder.oauth")

STATE_TTL = timedelta(minutes=10)  # time to pick a location in GHL's chooser
MAX_PARAM = 2048  # codes and states are short; anything longer is not GHL's

StartResponse = Callable[..., Any]


def page(start_response: StartResponse, status: str, title: str, text: str) -> list[bytes]:
    body = (
        "<!doctype html><meta charset='utf-8'><title>DealFinder</title>"
        f"<h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>"
    ).encode()
    start_response(
        status,
        [
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
            ("Referrer-Policy", "no-referrer"),  # the callback URL carries the code
        ],
    )
    return [body]


class InstallRoutes:
    """The two WSGI apps of the install, sharing the OAuth app, the vault and the store."""

    def __init__(
        self,
        *,
        app: GHLOAuthApp,
        vault: TokenVault,
        engine: Engine,
        authorize_url: str,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.app, self.vault, self.engine = app, vault, engine
        self.authorize_url = authorize_url
        self.clock = clock

    # -- GET /ghl/install -----------------------------------------------------------------

    def start(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD", "GET").upper() != "GET":
            return page(
                start_response,
                "405 Method Not Allowed",
                "Not allowed",
                "Open /ghl/install in a browser (GET).",
            )
        url, state = self.app.authorize_url(self.authorize_url)
        try:
            with session_scope(self.engine) as session:
                remember_state(session=session, state=state, now=self.clock(), ttl=STATE_TTL)
        except SQLAlchemyError as exc:
            log.error("install state not stored: %s", type(exc).__name__)
            return page(
                start_response,
                "503 Service Unavailable",
                "Try again shortly",
                "DealFinder's database did not answer; nothing was changed.",
            )
        start_response("302 Found", [("Location", url), ("Cache-Control", "no-store")])
        return [b""]

    # -- GET /ghl/oauth/callback ----------------------------------------------------------

    def callback(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        status, title, text = self._callback(environ)
        return page(start_response, status, title, text)

    def _callback(self, environ: dict[str, Any]) -> tuple[str, str, str]:
        if environ.get("REQUEST_METHOD", "GET").upper() != "GET":
            return "405 Method Not Allowed", "Not allowed", "GHL calls back with a GET."
        query = parse_qs(environ.get("QUERY_STRING", ""), max_num_fields=20)
        state = (query.get("state") or [""])[0]
        code = (query.get("code") or [""])[0]
        again = "Start the install again at /ghl/install."
        if not state or len(state) > MAX_PARAM:
            return "400 Bad Request", "Install refused", f"The callback has no state. {again}"
        try:
            with session_scope(self.engine) as session:
                valid = consume_state(session=session, state=state, now=self.clock())
        except SQLAlchemyError as exc:
            log.error("install state not checked: %s", type(exc).__name__)
            return (
                "503 Service Unavailable",
                "Try again shortly",
                "DealFinder's database did not answer; nothing was changed.",
            )
        if not valid:
            log.warning("OAuth callback refused: unknown, expired or used state")
            return (
                "400 Bad Request",
                "Install refused",
                f"This install link is unknown, expired or already used. {again}",
            )
        if query.get("error"):
            return (
                "400 Bad Request",
                "Install cancelled",
                f"GHL did not approve the install. {again}",
            )
        if not code or len(code) > MAX_PARAM:
            return "400 Bad Request", "Install refused", f"The callback has no code. {again}"
        try:
            installed = self._install(code)
        except GHLOAuthError as exc:
            log.warning("GHL refused the install code: %s", exc)
            return (
                "400 Bad Request",
                "GHL refused the install",
                f"GHL did not accept the authorization code ({exc.status}): it may have "
                f"expired or been used. {again}",
            )
        except GHLError as exc:
            log.error("install failed talking to GHL: %s", exc)
            return (
                "502 Bad Gateway",
                "GHL did not answer",
                f"GHL could not be reached to finish the install. {again}",
            )
        names = ", ".join(installed) or "no location"
        return (
            "200 OK",
            "DealFinder is installed",
            f"Installed at {names}. You can close this window.",
        )

    def _install(self, code: str) -> list[str]:
        """Exchange the code and store the tokens; the locations installed."""
        tokens = self.app.exchange_code(code)
        now = self.clock()
        if tokens.user_type == "Company" and tokens.company_id:
            return self._install_company(tokens, now)
        if not tokens.location_id:
            raise GHLOAuthError("GHL's token answer names no location", status=None)
        self._save(tokens.location_id, tokens, now=now, company_id=tokens.company_id)
        return [tokens.location_id]

    def _install_company(self, tokens: OAuthTokens, now: datetime) -> list[str]:
        assert tokens.company_id is not None
        self.vault.save_grant(
            key=company_key(tokens.company_id),
            kind="company",
            tokens=tokens,
            now=now,
            company_id=tokens.company_id,
        )
        installed = []
        for location_id in tokens.approved_locations:
            location = self.app.location_token(
                tokens.access_token, company_id=tokens.company_id, location_id=location_id
            )
            self._save(
                location_id, location, now=now, company_id=tokens.company_id, source="company"
            )
            installed.append(location_id)
        return installed

    def _save(
        self,
        location_id: str,
        tokens: OAuthTokens,
        *,
        now: datetime,
        company_id: str | None,
        source: str = "oauth",
    ) -> None:
        self.vault.save_grant(
            key=location_id,
            kind="location",
            tokens=tokens,
            now=now,
            location_id=location_id,
            company_id=company_id,
            source=source,
        )
        with session_scope(self.engine) as session:
            record_install(session=session, location_id=location_id, company_id=company_id, now=now)
        log.info("GHL app installed at %s (tokens stored encrypted)", location_id)
