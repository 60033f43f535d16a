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
from collections.abc import Callable, Mapping
from typing import Annotated, Literal

import typer

from bot.cli.common import friendly, settings_from_env
from bot.settings import ConfigError, Settings

log = logging.getLogger("dealfinder.bot")

Mode = Literal["http", "socket"]
# Operations routes (webhooks, readiness, metrics) mounted by whoever wires them:
# `ROUTE_FACTORIES.append(lambda settings, services: {"/metrics": metrics_app})`.
RouteFactory = Callable[..., Mapping[str, Callable[..., object]]]
ROUTE_FACTORIES: list[RouteFactory] = []
# Called with (settings, services) once the app is built, e.g. to start the scheduler; a hook
# may return a callable, which `serve` calls when it stops.
STARTUP_HOOKS: list[Callable[..., Callable[[], None] | None]] = []


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
    """Build every part from Settings and serve until interrupted."""
    from slack_bolt.error import BoltError
    from slack_sdk.errors import SlackClientError

    from bot.cli.preflight import check_redis, check_slack
    from bot.slack.app import build_services, create_app, make_web_client
    from bot.slack.roles import RolesError
    from bot.web.server import build_wsgi_app
    from bot.wiring import build_ghl_client, open_store
    from matching.notify import RulesError
    from services.config import DealConfigError

    engine = open_store(settings)
    check_redis(settings)
    check_slack(settings)  # refused token: exit 2; Slack unreachable: exit 3 (bot.cli.errors)
    ghl = build_ghl_client(settings)
    web_client = make_web_client(settings)
    try:
        services = build_services(settings, ghl=ghl, engine=engine, web_client=web_client)
        bolt_app = create_app(settings, ghl=ghl, engine=engine, services=services)
    except (RolesError, DealConfigError, RulesError) as exc:
        raise ConfigError([str(exc)]) from None
    except (BoltError, SlackClientError) as exc:
        # Bolt checks the bot token with auth.test when the app is made.
        raise ConfigError([f"Slack refused or did not answer (check SLACK_BOT_TOKEN and "
                           f"SLACK_API_URL): {type(exc).__name__}: {exc}"]) from None  # fmt: skip
    routes: dict[str, Callable[..., object]] = {}
    for factory in ROUTE_FACTORIES:
        routes.update(factory(settings, services))
    wsgi = build_wsgi_app(bolt_app=bolt_app, extra_routes=routes)  # type: ignore[arg-type]
    recovered = services.alerts.recover()
    if recovered:
        log.info("finished %d deal post(s) an earlier run left unfinished", recovered)
    shutdown: list[Callable[[], None]] = []
    try:
        for hook in STARTUP_HOOKS:
            stop = hook(settings, services)
            if callable(stop):
                shutdown.append(stop)
        _run(settings, bolt_app, wsgi, mode=mode, host=host, port=port)
    finally:
        # Stop the jobs while the process still has its thread pools (atexit is too late:
        # a job due at that moment would find them gone and log a traceback).
        for stop in reversed(shutdown):
            stop()


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


def _ops_routes(settings: Settings, services: object) -> Mapping[str, Callable[..., object]]:
    """`/ghl/webhooks`, `/readyz` and `/metrics` beside Slack's endpoint."""
    from bot.ops.wiring import ops_for_bot

    return ops_for_bot(settings, services).routes()


def _start_ops(settings: Settings, services: object) -> Callable[[], None]:
    """Start the scheduled jobs (health, SMS release, buyer refresh, webhooks, alert
    recovery); return how to stop them, which `serve` calls on its way out."""
    from bot.ops.wiring import ops_for_bot

    scheduler = ops_for_bot(settings, services).scheduler
    scheduler.start()
    return lambda: scheduler.shutdown(wait=True)


def _oauth_routes(settings: Settings, services: object) -> Mapping[str, Callable[..., object]]:
    """`/ghl/install` and `/ghl/oauth/callback` when the GHL app install is configured."""
    if not settings.oauth_configured:
        return {}
    from bot.oauth_wiring import OAuthParts

    return OAuthParts.from_settings(settings, engine=services.engine).routes()  # type: ignore[attr-defined]


def _intake_routes(settings: Settings, services: object) -> Mapping[str, Callable[..., object]]:
    """`/api/*`: the intake API for the analysis module (`bot.web.intake_api`)."""
    from bot.web.intake_wiring import intake_routes

    return intake_routes(settings, services)


def _start_intake(settings: Settings, services: object) -> Callable[[], None]:
    """The worker that turns queued intake records into deals; returns how to stop it."""
    from bot.web.intake_wiring import start_intake

    return start_intake(settings, services)


ROUTE_FACTORIES.append(_ops_routes)
ROUTE_FACTORIES.append(_oauth_routes)
ROUTE_FACTORIES.append(_intake_routes)
STARTUP_HOOKS.append(_start_ops)
STARTUP_HOOKS.append(_start_intake)


def register(app: typer.Typer) -> None:
    app.command("serve")(friendly(serve))
