"""The `dealfinder` command. Each subcommand builds Settings once and passes them down.

Errors a user can fix (a setting, a service down or refusing the token, bad input) end with
one line naming the setting and the fix and a documented exit code (bot.cli.errors), never a
traceback.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

# Re-exported for callers that imported them from here before bot.cli.common existed.
from bot.cli.common import (  # noqa: F401
    EXIT_CONFIG,
    EXIT_FAILED,
    EXIT_GHL,
    EXIT_UNREACHABLE,
    err,
    friendly,
    out,
    settings_from_env,
)
from bot.cli.errors import EXIT_CODES_HELP, ErrorMappingGroup, stop_with

app = typer.Typer(
    name="dealfinder",
    help="DealFinder: Slack chat-ops for real-estate deal teams on GoHighLevel.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Every command's errors become one line on stderr and an exit code, in one place.
    cls=ErrorMappingGroup,
    epilog=EXIT_CODES_HELP,
)


@app.command()
@friendly
def emulator(
    port: Annotated[int, typer.Option(help="port to listen on")] = 8765,
    host: Annotated[str, typer.Option(help="address to bind")] = "127.0.0.1",
    demo: Annotated[bool, typer.Option(help="seed demo data (pipeline, fields, buyers)")] = True,
    buyers: Annotated[int, typer.Option(help="demo buyers to seed")] = 200,
    webhook_url: Annotated[
        str | None, typer.Option(help="POST signed GHL webhooks here (the bot's /ghl/webhooks)")
    ] = None,
) -> None:
    """Run the local GHL emulator (GHL API v2, validated against the official OpenAPI files)."""
    settings_from_env()
    from sandbox.ghl_emulator import EmulatorConfig, run_forever

    config = EmulatorConfig(webhook_url=webhook_url)
    run_forever(host=host, port=port, config=config, demo=demo, buyers=buyers)


@app.command()
@friendly
def demo(
    buyers: Annotated[int, typer.Option(help="demo buyers to seed in the emulator")] = 200,
    port: Annotated[
        int | None,
        typer.Option(
            min=1, max=65535, help="port of the sandbox page [default: 8080, else a free one]"
        ),
    ] = None,
    once: Annotated[bool, typer.Option(help="print the summary and stop; no page")] = False,
) -> None:
    """Sandbox without credentials: GHL emulator, Slack fake, the real bot, and a page to try it."""
    settings = settings_from_env()
    from bot.cli.demo import page_port, run_demo

    chosen = page_port(port, once=once)
    if chosen is None:
        raise typer.BadParameter(
            f"port {port} is in use; pick another with --port, or leave it out", param_hint="--port"
        )
    run_demo(settings=settings, console=out, buyers=buyers, port=chosen, once=once)


@app.command()
@friendly
def health(
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Check GHL: token and location reachable, rate-limit headroom (answers within 10 s).

    Exit 1 when degraded, 2 when GHL refuses the token or location, 3 when unreachable.
    """
    settings = settings_from_env()
    from bot.wiring import build_ghl_client
    from ghl.health import check_ghl

    with build_ghl_client(settings) as client:
        report = check_ghl(client)
    if as_json:
        out.print_json(json.dumps(report.as_dict()))
    elif settings.dry_run:
        # The in-process emulator's headroom (1,000,000 a second) says nothing about GHL's.
        from dataclasses import replace

        out.print(replace(report, burst_max=None, daily_max=None).render())
        out.print(
            "  headroom: none shown: a dry run uses the in-process emulator, not GHL's limits"
        )
    else:
        out.print(report.render())
    if report.error is not None:
        raise stop_with(report.error)  # one line naming the setting, exit 2 or 3
    if not report.ok:
        raise typer.Exit(EXIT_FAILED)


def _register_subcommands() -> None:
    """Subcommands that live in their own modules (one per area), registered on the app."""
    from bot.cli import deals as cli_deals
    from bot.cli import locations as cli_locations
    from bot.cli import match as cli_match
    from bot.cli import notify as cli_notify
    from bot.cli import ops as cli_ops
    from bot.cli import outbox as cli_outbox
    from bot.cli import serve as cli_serve

    for module in (cli_deals, cli_locations, cli_match, cli_notify, cli_ops, cli_outbox, cli_serve):
        module.register(app)


_register_subcommands()


def main() -> None:
    """Console entry point."""
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
