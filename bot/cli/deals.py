"""`dealfinder import FILE` and `dealfinder validate`: deals in, and the GHL set-up checked.

Wired into the `dealfinder` app by `register(app)`; also runnable on its own for scripts and
tests: `python -m bot.cli.deals import services/samples/mls_batch.json --dry-run`.

Exit codes: 0 all good; 1 a record was bad, a property failed or a check failed; 2 settings,
mapping or input file unusable; 3 GHL failing.
"""

from __future__ import annotations

import contextlib
import json
import logging
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bot.cli.common import EXIT_CONFIG, EXIT_FAILED, err, friendly, out, settings_from_env
from bot.cli.import_rates import calls_detail, headroom_detail
from bot.runtime import Runtime
from bot.settings import Settings
from bot.slack.alert_wiring import describe_alerts
from ghl.health import check_ghl
from services.config import DealConfigError
from services.ghl_map import GHLMapError
from services.importer import ImportSummary, run_import
from services.pipeline.core import DealResult
from services.property_files import ReadError
from services.validator import ValidationReport, validate_setup


def register(app: typer.Typer) -> None:
    """Add `import` and `validate` to the `dealfinder` app."""
    app.command("import")(import_command)
    app.command("validate")(validate_command)


def _quiet_dry_run(settings: Settings) -> None:
    """A dry run's client is answered in-process by a demo-seeded emulator; ghl.dryrun logs
    every call at INFO, which would scroll the progress bar away."""
    if settings.dry_run:
        logging.getLogger("dealfinder.ghl.dryrun").setLevel(logging.WARNING)


@contextlib.contextmanager
def _connect(settings: Settings) -> Iterator[Runtime]:
    """The runtime the import works in; a dry run gets the emulator, a throw-away database
    and no Slack (its store is thrown away: its alerts would never be real)."""
    _quiet_dry_run(settings)
    with contextlib.ExitStack() as stack:
        if settings.dry_run:
            folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="dealfinder-dry-"))
            url = f"sqlite:///{Path(folder) / 'dry_run.db'}"
            settings = settings.model_copy(update={"database_url": url})
        runtime = Runtime(settings, slack=False if settings.dry_run else None)
        runtime.config  # noqa: B018 - a bad mapping file stops before any work
        stack.callback(runtime.close)
        yield runtime


def _fail(message: str) -> typer.Exit:
    err.print(f"[red]{message}[/red]", highlight=False)
    return typer.Exit(EXIT_CONFIG)


@friendly
def import_command(
    file: Annotated[Path, typer.Argument(help="properties: .json (object or list), .jsonl, .csv")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="run against an in-process GHL emulator")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
) -> None:
    """Turn analysed properties into worked GHL deals; safe to re-run and to interrupt."""
    settings = settings_from_env()
    if dry_run:
        settings = settings.model_copy(update={"dry_run": True})
    try:
        with _connect(settings) as runtime, _progress(quiet=as_json) as on_progress:
            # The same pipeline construction as `serve`'s: hot deals post their card at
            # once when this process has SLACK_BOT_TOKEN (else the alert waits in the store).
            summary = run_import(
                file, client=runtime.ghl, engine=runtime.engine, config=runtime.config,
                on_progress=on_progress, pipeline=lambda: runtime.deal_pipeline,
            )  # fmt: skip
            slack_note, hot_lines = describe_alerts(
                summary.results, engine=runtime.engine, location_id=runtime.ghl.location_id,
                dry_run=settings.dry_run, has_slack=runtime.slack,
            )  # fmt: skip
    except (DealConfigError, ReadError, GHLMapError) as exc:
        raise _fail(str(exc)) from None
    if as_json:
        data = summary.as_dict() | {"slack_alerts": slack_note}
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        _print_summary(summary, dry_run=settings.dry_run)
        _print_hot(slack_note, hot_lines)
    if not summary.ok:
        raise typer.Exit(EXIT_FAILED)


@friendly
def validate_command(
    fix: Annotated[
        bool, typer.Option("--fix", help="create missing custom fields and tags")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
    location: Annotated[
        str | None,
        typer.Option("--location", help="check this location with its own mapping overrides"),
    ] = None,
) -> None:
    """Check the GHL location against the mapping file: pipeline, stages, fields, tags, users."""
    settings = settings_from_env()
    runtime = Runtime(settings)
    maps = None
    if location is not None:
        from bot.cli.locations import location_config_and_client

        config, client = location_config_and_client(settings, location)
    else:
        try:
            config = runtime.config
        except DealConfigError as exc:
            raise _fail(str(exc)) from None
        _quiet_dry_run(settings)
        parts = runtime.location()
        client, maps = parts.ghl, parts.maps
    with client:
        reached = check_ghl(client)
        if reached.error is not None:  # unreachable or refused: one line, exit 3 or 2
            raise reached.error
        report = validate_setup(client, config, fix=fix)
        if report.fixed and report.ok and maps is not None:
            maps.refresh()  # what this process uses from now on sees the new fields
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2, ensure_ascii=False))
    else:
        _print_report(report)
    if not report.ok:
        raise typer.Exit(EXIT_FAILED)


@contextlib.contextmanager
def _progress(*, quiet: bool) -> Iterator[Callable[[int, int, DealResult | None], None] | None]:
    if quiet:
        yield None
        return
    columns = (
        TextColumn("importing"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[counts]}"),
        TimeElapsedColumn(),
    )
    counts = {"created": 0, "updated": 0, "skipped": 0, "failed": 0}
    with Progress(*columns, console=err) as bar:
        task = bar.add_task("import", total=None, counts="")

        def on_progress(done: int, total: int, result: DealResult | None) -> None:
            if result is not None:
                counts[result.action] += 1
            text = " ".join(f"{k} {v}" for k, v in counts.items())
            bar.update(task, completed=done, total=total, counts=text)

        try:
            yield on_progress
        except BaseException:
            bar.live.transient = True  # the error's one line stands alone, no half bar above
            raise


def _print_summary(summary: ImportSummary, *, dry_run: bool) -> None:
    counts = summary.counts()
    title = f"Import of {summary.source}" + (" (dry run: in-process emulator)" if dry_run else "")
    table = Table(title=title, header_style="bold")
    for name, justify in (("what", "left"), ("count", "right"), ("detail", "left")):
        table.add_column(name, justify=justify, overflow="fold")  # type: ignore[arg-type]
    reasons = Counter(r.reason for r in summary.results if r.action == "skipped")
    table.add_row("created", str(counts["created"]), "")
    table.add_row("updated", str(counts["updated"]), "")
    table.add_row(
        "skipped", str(counts["skipped"]), "; ".join(f"{n} {k}" for k, n in reasons.items())
    )
    table.add_row("failed", str(counts["failed"]), "see below" if counts["failed"] else "")
    table.add_row("bad records", str(len(summary.bad)), "see below" if summary.bad else "")
    table.add_row("GHL calls", str(summary.ghl_calls), calls_detail(summary, dry_run=dry_run))
    headroom = headroom_detail(summary, dry_run=dry_run)
    if headroom:
        table.add_row("headroom left", "", headroom)
    out.print(table)
    # Reasons as plain lines: a person reads and greps them; table cells would chop them.
    for r in summary.results:
        if r.action == "failed":
            out.print(f"[red]failed[/red] {r.mls_id}: {r.reason}", highlight=False, soft_wrap=True)
    for e in summary.bad:
        where = f"line {e.line}" + (f" ({e.mls_id})" if e.mls_id else "")
        out.print(f"[red]bad record[/red] {where}: {e.reason}", highlight=False, soft_wrap=True)
    notes = [*summary.warnings, *(f"{r.mls_id}: {w}" for r in summary.results for w in r.warnings)]
    for note in notes:
        out.print(f"[yellow]warning[/yellow] {note}", highlight=False, soft_wrap=True)
    if summary.stopped:
        err.print(
            f"[red]Stopped early:[/red] {summary.stopped}. {summary.left} properties left.",
            highlight=False,
        )


def _print_hot(note: str | None, lines: list[tuple[str, str]]) -> None:
    """Each hot deal of the run and whether Slack was told or its alert is queued."""
    for mls_id, what in lines:
        out.print(f"[bold]hot deal[/bold] {mls_id}: {what}", highlight=False, soft_wrap=True)
    if note:
        out.print(f"[yellow]{note}[/yellow]", highlight=False, soft_wrap=True)


def _print_report(report: ValidationReport) -> None:
    table = Table(title=f"GHL set-up of {report.location or 'the location'}", header_style="bold")
    for name in ("check", "result", "detail"):
        table.add_column(name, overflow="fold")
    marks = {"ok": "[green]pass[/green]", "warning": "[yellow]warn[/yellow]"}
    for row in report.rows:
        mark = marks["ok"] if row.ok else marks.get(row.severity, "[red]FAIL[/red]")
        table.add_row(row.check, mark, row.detail)
    out.print(table)
    # Fixes as plain lines under the table: long sentences a person copies, not cells.
    for row in [*report.failures, *report.warnings]:
        out.print(f"[red]{row.check}[/red]: {row.fix}", highlight=False, soft_wrap=True)
    if report.fixed:
        out.print("Created: " + ", ".join(report.fixed))
    verdict = "[green]set-up OK[/green]" if report.ok else "[red]set-up has problems[/red]"
    out.print(f"{verdict}: {len(report.failures)} failed, {len(report.warnings)} warnings")


if __name__ == "__main__":
    from bot.cli.main import main  # registers this module's commands with the others

    main()
