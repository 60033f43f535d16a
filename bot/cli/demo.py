"""`dealfinder demo`: DealFinder working end to end without a Slack workspace or GHL account.

It starts the sandbox (`sandbox.run`): the GHL emulator with a demo sub-account, the
Slack fake, a throw-away store and the real bot over HTTP; runs a morning's work through the
same services production uses; prints what happened in GHL and Slack; and serves a page that
shows the Slack channels, where a person can type slash commands and click the alert buttons.
"""

from __future__ import annotations

import errno
import socket
import time

from rich.console import Console
from rich.panel import Panel

from bot.settings import Settings

DEFAULT_PAGE_PORT = 8080


def page_port(requested: int | None, *, once: bool) -> int | None:
    """The port to serve the sandbox page on: 0 (any) for --once, which shows no page; the
    requested one if free (None if taken); without one 8080, or any free port if it is taken."""
    if once:
        return 0
    wanted = DEFAULT_PAGE_PORT if requested is None else requested
    if _free(wanted):
        return wanted
    return 0 if requested is None else None


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def run_demo(
    *,
    settings: Settings,
    console: Console,
    buyers: int = 200,
    port: int = DEFAULT_PAGE_PORT,
    once: bool = False,
) -> None:
    """Run the sandbox scenario, print its summary, then serve the page until Ctrl-C."""
    from sandbox.run import run_scenario, start_sandbox

    with console.status("starting the GHL emulator, the Slack fake and the bot…"):
        sandbox = start_sandbox(buyers=buyers, page_port=port, mapping_file=settings.mapping_file)
    with sandbox:
        console.print(
            Panel.fit(
                "GHL emulator (API v2, strict against GHL's OpenAPI files): "
                f"{sandbox.ghl.base_url}\nSlack fake: {sandbox.settings.slack_api_url}   "
                f"bot: {sandbox.bot_url}/slack/events\n"
                f"store: {sandbox.workdir / 'sandbox.db'}\n"
                f"simulated time: {sandbox.clock():%Y-%m-%d %H:%M} UTC "
                "(20:30 in New York, 17:30 in Los Angeles)",
                title="DealFinder sandbox",
            )
        )
        with console.status("a morning's work: buyer sync, MLS import, alerts, buyer SMS…"):
            summary = run_scenario(sandbox)
        for line in summary.lines():
            console.print(line, highlight=False)
        stats = sandbox.emulator.stats
        console.print(
            f"GHL calls: {sandbox.ghl.stats.calls}, 429s from our own pacing: "
            f"{stats['rate_limited'].get('limit', 0)}, spec violations: "
            f"{stats['violations']['request']} request, {stats['violations']['response']} response",
            highlight=False,
        )
        if once:
            return
        console.print(
            Panel.fit(
                f"Open [bold]{sandbox.page_url}[/] — the #deals channel with the hot-deal "
                "alerts.\nType /deal help, click Claim or Notify buyers; every action goes to "
                "the real bot as a signed Slack request.\nCtrl-C to stop.",
                title="Try it",
            )
        )
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            console.print("stopping")
