"""`dealfinder worker` (the scheduled jobs without the Slack server) and `dealfinder webhook-key`.

dealfinder worker            # every job on its schedule until Ctrl-C
dealfinder worker --once     # each job once, now, then exit (a cron-style run, or a check)
dealfinder worker --agency   # work the installed locations, shared with other workers by lease
DEALFINDER_DRY_RUN=1 dealfinder worker   # against the in-process GHL emulator
dealfinder agency-status     # who works each location, and is any parked or failing
dealfinder webhook-key       # is GHL_WEBHOOK_PUBLIC_KEY readable, and which scheme is on
"""

from __future__ import annotations

import contextlib
import logging
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bot.cli.common import EXIT_CONFIG, EXIT_FAILED, err, friendly, out, settings_from_env
from bot.settings import Settings

if TYPE_CHECKING:
    from ghl.client import GHLClient

log = logging.getLogger("dealfinder.worker")


@contextlib.contextmanager
def _runtime(settings: Settings) -> Iterator[Any]:
    """The worker's runtime (`bot.runtime`). A dry run gets the in-process emulator and a
    throw-away database: the real outbox must never be "delivered" to an emulator."""
    from bot.cli.preflight import check_redis, check_slack
    from bot.runtime import Runtime

    with contextlib.ExitStack() as stack:
        if settings.dry_run:
            folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="dealfinder-worker-"))
            url = f"sqlite:///{Path(folder) / 'dry_run.db'}"
            settings = settings.model_copy(update={"database_url": url})
        else:
            settings.require("ghl")
        runtime = Runtime(settings)
        stack.callback(runtime.close)
        runtime.engine  # noqa: B018 - migrated before the checks, as `serve` does
        # A worker started with Redis down or a token Slack refuses would fail on every job.
        check_redis(settings)
        check_slack(settings)
        runtime.ghl  # noqa: B018 - a GHL setting missing stops here, not in the first job
        yield runtime


def worker(
    once: Annotated[bool, typer.Option(help="run each job once, now, and exit")] = False,
    digest_hour: Annotated[
        int | None, typer.Option(min=0, max=23, help="post the hot-deals digest at this hour")
    ] = None,
    agency: Annotated[
        bool, typer.Option(help="work every installed location, sharing them with other workers")
    ] = False,
) -> None:
    """Run the scheduled jobs (health, deferred SMS, webhooks, buyer refresh) until Ctrl-C."""
    settings = settings_from_env()
    if agency:
        _agency(settings)
        return
    if digest_hour is not None:
        settings = settings.model_copy(update={"digest_hour": digest_hour})
    with _runtime(settings) as runtime:
        if not runtime.slack:
            err.print(
                "SLACK_BOT_TOKEN is not set: ops alerts go to the log only, and deal messages "
                "are not refreshed from GHL webhooks."
            )
        # With Slack: the bot's own DealAlerts, so webhooks this worker handles update deal
        # messages, and its one pipeline (with the hot-deal hook) for deals moved by GHL.
        ops = runtime.ops
        if once:
            failed = 0
            for job_id in ops.scheduler.specs:
                outcome = ops.scheduler.run_now(job_id)
                out.print(f"{job_id}: {outcome}")
                failed += outcome == "failed"
            if failed:
                raise typer.Exit(EXIT_FAILED)
            return
        _run_until_signalled(ops.scheduler, dry_run=settings.dry_run)
        out.print("worker stopped")


_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def _agency(settings: Settings) -> None:
    """`worker --agency`: location leases and one thread per leased location until a signal."""
    import threading

    from bot.ops.agency import run_agency_worker
    from bot.runtime import Runtime

    if settings.dry_run:  # the real intake queue must never be "worked" against an emulator
        err.print("worker --agency works the store's real queues: it has no dry run")
        raise typer.Exit(EXIT_CONFIG)
    oauth = settings.ghl_api_key is None and settings.oauth_configured
    if oauth and (problems := settings.oauth_problems()):
        err.print("\n".join(problems))
        raise typer.Exit(EXIT_CONFIG)
    runtime = Runtime(settings)
    engine = runtime.engine
    client_for: Callable[[str], GHLClient]
    if oauth:
        assert runtime.oauth is not None
        client_for = runtime.oauth.client_for  # each installed location's own tokens
    else:  # a Private Integration Token: one location, as without --agency
        client = runtime.ghl
        client_for = {client.location_id: client}.__getitem__
    stop = threading.Event()
    thread = threading.Thread(
        target=run_agency_worker, name="agency", daemon=True,
        args=(settings,),
        kwargs={"engine": engine, "client_for": client_for, "stop": stop,
                # with SLACK_BOT_TOKEN each location posts its own hot-deal cards
                "web_client": runtime.web_client if runtime.slack else None},
    )  # fmt: skip
    out.print(f"agency worker started (lease {settings.lease_seconds:g} s). Ctrl-C stops.")
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    try:
        thread.start()
        signal.sigwait(_STOP_SIGNALS)
        out.print("stopping: finishing the properties in hand...")
    finally:
        stop.set()
        thread.join(timeout=60)
        engine.dispose()
    out.print("worker stopped")


def _run_until_signalled(scheduler: Any, *, dry_run: bool) -> None:
    """Run the scheduler until Ctrl-C or SIGTERM, then let running jobs finish.

    The stop signals are blocked before the scheduler's threads start (threads inherit the
    mask) and taken synchronously with `sigwait`, so no handler ever interrupts code holding
    a lock or is swallowed by a library's `except Exception`. After the first signal they
    are unblocked with Python's default handling: a second Ctrl-C interrupts the wait.
    """
    if not hasattr(signal, "pthread_sigmask"):  # Windows: Ctrl-C arrives as KeyboardInterrupt
        _run_until_interrupted(scheduler, dry_run=dry_run)
        return
    signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    try:
        scheduler.start()
        _started(scheduler, dry_run=dry_run)
        signal.sigwait(_STOP_SIGNALS)
        out.print("stopping: letting running jobs finish...")
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
        scheduler.shutdown(wait=True)


def _run_until_interrupted(scheduler: Any, *, dry_run: bool) -> None:
    try:
        scheduler.start()
        _started(scheduler, dry_run=dry_run)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        out.print("stopping: letting running jobs finish...")
    finally:
        scheduler.shutdown(wait=True)


def _started(scheduler: Any, *, dry_run: bool) -> None:
    mode = " (dry run: in-process GHL emulator)" if dry_run else ""
    out.print(f"worker started{mode}: {', '.join(scheduler.specs)}. Ctrl-C stops.")


def agency_status(
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Each active location: its worker, its state, its queue. Exit 1 when one is not held,
    parked at GHL's daily limit, or failing."""
    import json

    from bot.ops.agency_status import agency_report
    from bot.runtime import open_store
    from store.types import utcnow

    settings = settings_from_env()
    engine = open_store(settings)
    try:
        configured = settings.ghl_location_id if settings.ghl_api_key is not None else None
        rows = agency_report(engine, now=utcnow(), configured=configured)
    finally:
        engine.dispose()
    if as_json:
        out.print_json(json.dumps([row.as_dict() for row in rows]))
    else:
        for row in rows:
            out.print(row.line(), markup=False, highlight=False)
        if not rows:
            out.print("no active locations (install the GHL app, or set GHL_LOCATION_ID)")
    if not all(row.ok for row in rows):
        raise typer.Exit(EXIT_FAILED)


def webhook_key() -> None:
    """Check GHL_WEBHOOK_PUBLIC_KEY and say which webhook signatures will be accepted."""
    settings = settings_from_env()
    from cryptography.hazmat.primitives import serialization

    from bot.web.webhook_verify import GHL_ED25519_KEY, WebhookKeyError, load_ed25519_key

    try:
        key = load_ed25519_key(settings.webhook_public_key or GHL_ED25519_KEY)
    except WebhookKeyError as exc:
        err.print(str(exc))
        raise typer.Exit(EXIT_CONFIG) from None
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    source = "GHL_WEBHOOK_PUBLIC_KEY" if settings.webhook_public_key else "GHL's published key"
    out.print(f"Ed25519 key OK (X-GHL-Signature, {source}); raw key starts {raw.hex()[:16]}...")
    legacy = "accepted" if settings.webhook_legacy_rsa else "refused (retired 2026-07-01)"
    out.print(f"Legacy RSA signatures (X-WH-Signature): {legacy}")


def register(app: typer.Typer) -> None:
    """Add `worker`, `agency-status` and `webhook-key` to the `dealfinder` app."""
    app.command("worker")(friendly(worker))
    app.command("agency-status")(friendly(agency_status))
    app.command("webhook-key")(friendly(webhook_key))
