"""A GHL app install world for the OAuth tests: the emulator, the bot's real HTTP server with
`/ghl/install` and `/ghl/oauth/callback`, a store, the Slack fake's #ops-alerts.

    world = OAuthWorld.build(emulator=emu, db_url=url, slack=web_client)
    world.install()                       # GET /ghl/install -> chooser -> callback, over HTTP
    world.client("loc_demo").locations.get()
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from cryptography.fernet import Fernet
from slack_bolt import App
from sqlalchemy import Engine

from bot.oauth_wiring import OAuthParts
from bot.ops.wiring import log_poster, slack_poster
from bot.settings import Settings, load_settings
from bot.web.server import RunningHTTP, build_wsgi_app, start_http_in_thread
from ghl.client import GHLClient
from sandbox.ghl_emulator import Emulator
from sandbox.ghl_emulator.oauth_state import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from store.db import make_engine, migrate


class _Late:
    """A WSGI app whose routes are set once the server's port (the redirect URL) is known."""

    def __init__(self) -> None:
        self.app: Any = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self.app(environ, start_response)


def oauth_settings(
    *, emulator_url: str, db_url: str, redirect: str, key: str, **more: Any
) -> Settings:
    return load_settings(
        GHL_BASE_URL=emulator_url,
        GHL_CLIENT_ID=DEFAULT_CLIENT_ID,
        GHL_CLIENT_SECRET=DEFAULT_CLIENT_SECRET,
        GHL_APP_REDIRECT_URL=redirect,
        GHL_OAUTH_AUTHORIZE_URL=emulator_url + "/oauth/chooselocation",
        DEALFINDER_SECRET_KEY=key,
        DATABASE_URL=db_url,
        GHL_MAX_RETRIES=1,
        GHL_RETRY_BASE_DELAY=0.05,
        **more,
    )


@dataclass
class OAuthWorld:
    emulator: Emulator
    engine: Engine
    settings: Settings
    parts: OAuthParts
    http: RunningHTTP
    key: str

    @classmethod
    def build(cls, *, emulator: Emulator, db_url: str, web_client: Any = None) -> OAuthWorld:
        engine = make_engine(db_url)
        migrate(engine)
        late = _Late()
        bolt = App(token="xoxb-test", signing_secret="s" * 32, token_verification_enabled=False)
        http = start_http_in_thread(late)
        key = Fernet.generate_key().decode()
        settings = oauth_settings(
            emulator_url=emulator.url,
            db_url=db_url,
            key=key,
            redirect=http.url + "/ghl/oauth/callback",
        )
        post = slack_poster(web_client, "#ops-alerts") if web_client is not None else log_poster
        parts = OAuthParts.from_settings(settings, engine=engine, post_ops=post)
        late.app = build_wsgi_app(bolt_app=bolt, extra_routes=parts.routes())
        return cls(
            emulator=emulator, engine=engine, settings=settings, parts=parts, http=http, key=key
        )

    def install(self) -> requests.Response:
        """A GHL admin installs the app: /ghl/install, GHL's chooser (approves by itself),
        back to the callback; every hop a real HTTP request, redirects followed."""
        return requests.get(self.http.url + "/ghl/install", timeout=30)

    def start_install(self) -> tuple[str, str]:
        """/ghl/install and the chooser, stopping before the callback: (callback URL, state)."""
        first = requests.get(self.http.url + "/ghl/install", allow_redirects=False, timeout=10)
        assert first.status_code == 302
        chooser = requests.get(first.headers["Location"], allow_redirects=False, timeout=10)
        assert chooser.status_code == 302
        callback = chooser.headers["Location"]
        return callback, parse_qs(urlsplit(callback).query)["state"][0]

    def client(self, location_id: str) -> GHLClient:
        return self.parts.client_for(location_id)

    def close(self) -> None:
        self.http.stop()
        self.engine.dispose()
