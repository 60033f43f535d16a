"""`dealfinder serve`: run the Slack bot in Socket Mode (SLACK_APP_TOKEN set: no public URL
needed) or HTTP mode (`--http`, waitress, Slack's requests at `/slack/events`).

Both modes also serve `/healthz` and the operations routes over HTTP on `--port` (GHL webhooks
need an HTTP endpoint in either mode). With `DEALFINDER_DRY_RUN=1` GHL is the in-process
emulator, so the bot runs against the Slack fake (`python -m sandbox.slack_fake`) with no account.

    dealfinder serve                       # Socket Mode when SLACK_APP_TOKEN is set
    dealfinder serve --http --port 3000    # HTTP mode
"""

from __future__ import annotations

import logging
import signal
from typing import Annotated, Literal

import typer

from bot.cli.common import friendly, settings_from_env
from bot.settings import ConfigError, Settings

log = logging.getLogger("dealfinder.bot")

Mode = Literal["http", "socket"]


def choose_mode(*, http: bool, has_app_token: bool) -> Mode:
    """HTTP when asked for or when there is no app-level token; Socket Mode otherwise."""
    return "http" if http or not has_app_token else "socket"


def serve(
    http: Annotated[bool, typer.Option("--http", help="HTTP mode instead of Socket Mode")] = False,
    port: Annotated[int, typer.Option(help="HTTP port (Slack in HTTP mode, health)")] = 3000,
    host: Annotated[str, typer.Option(help="address to bind")] = "0.0.0.0",  # noqa: S104
) -> None:
    """Run the Slack bot: slash commands, hot-deal alerts and their buttons."""
    settings = settings_from_env()
    mode = choose_mode(http=http, has_app_token=settings.slack_app_token is not None)
    settings.require("slack" if mode == "http" else "socket")
    stop_on_sigterm()
    run_bot(settings, mode=mode, host=host, port=port)


def stop_on_sigterm() -> None:
    """Make SIGTERM (docker stop, systemd, Kubernetes) stop the bot as Ctrl-C does: by default
    it kills the process at once, losing work already acked to Slack users."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def run_bot(settings: Settings, *, mode: Mode, host: str, port: int) -> None:
    """Build every part from Settings (`bot.runtime`) and serve until interrupted."""
    from slack_bolt.error import BoltError
    from slack_sdk.errors import SlackClientError

    from bot.cli.preflight import check_redis, check_slack
    from bot.runtime import Runtime
    from bot.slack.roles import RolesError
    from bot.web.server import build_wsgi_app
    from matching.notify import RulesError
    from services.config import DealConfigError

    runtime = Runtime(settings)
    runtime.engine  # noqa: B018 - the store first: migrated before anything else starts
    check_redis(settings)
    check_slack(settings)  # refused token: exit 2; Slack unreachable: exit 3 (bot.cli.errors)
    try:
        bolt_app = runtime.slack_app()
    except (RolesError, DealConfigError, RulesError) as exc:
        raise ConfigError([str(exc)]) from None
    except (BoltError, SlackClientError) as exc:
        # Bolt checks the bot token with auth.test when the app is made.
        raise ConfigError([f"Slack refused or did not answer (check SLACK_BOT_TOKEN and "
                           f"SLACK_API_URL): {type(exc).__name__}: {exc}"]) from None  # fmt: skip
    wsgi = build_wsgi_app(bolt_app=bolt_app, extra_routes=runtime.http_routes())
    try:
        runtime.start_background()
        _run(settings, bolt_app, wsgi, mode=mode, host=host, port=port)
    finally:
        # Stop the jobs while the process still has its thread pools (atexit is too late:
        # a job due at that moment would find them gone and log a traceback).
        runtime.stop_background()


def _run(settings: Settings, bolt_app, wsgi, *, mode: Mode, host: str, port: int) -> None:
    """Serve until interrupted: HTTP on waitress, or Socket Mode (health and webhooks on HTTP)."""
    from bot.web.server import serve_http, start_http_in_thread

    if settings.dry_run:
        log.warning("DRY RUN: GHL calls are answered by an in-process emulator")
    if mode == "http":
        serve_http(wsgi, host=host, port=port)
        return
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    assert settings.slack_app_token is not None
    handler = SocketModeHandler(bolt_app, app_token=settings.slack_app_token.get_secret_value())
    with start_http_in_thread(wsgi, host=host, port=port) as running:
        log.info("Socket Mode; health and webhooks on %s", running.url)
        try:
            handler.start()
        finally:
            # Hang up before the acked work drains at exit: while the websocket is open, Slack
            # keeps sending envelopes here that nobody acks (the user sees operation_timeout)
            # instead of sending them to another connection of the app.
            handler.close()


def register(app: typer.Typer) -> None:
    app.command("serve")(friendly(serve))
