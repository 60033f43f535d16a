"""`dealfinder outbox`: what waits to be done, what failed, and settling failures by hand.

DealFinder retries what is safe to retry; what is not (GHL's answer lost in the middle of an
SMS or a workflow enrolment, GHL refusing a call for good) is recorded as failed and waits for
a person, who looks in GHL and then puts it back or closes it.

    dealfinder outbox                                   # counts by kind and status, failed items
    dealfinder outbox --json
    dealfinder outbox retry 42 43 --note "not in GHL"   # back in the queue, due now
    dealfinder outbox resolve 44 --happened --note "GHL shows the enrolment"   # done: sent
    dealfinder outbox resolve 45 --note "deal withdrawn"                      # never do it
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Annotated, Any

import typer
from rich.table import Table

from bot.cli.common import EXIT_FAILED, err, friendly, out, settings_from_env

outbox_app = typer.Typer(
    help="See what waits in the outbox and what failed; retry or close failed items.",
    invoke_without_command=True,
    no_args_is_help=False,
)

REASON_WIDTH = 300


def register(app: typer.Typer) -> None:
    """Add the `outbox` command group to the `dealfinder` app."""
    app.add_typer(outbox_app, name="outbox")


def _engine(settings: Any) -> Any:
    from bot.runtime import Runtime

    return Runtime(settings).engine


@outbox_app.callback()
@friendly
def show(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="failed items to list")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Counts by kind and status, then the failed items with their reasons."""
    if ctx.invoked_subcommand is not None:
        return
    from store.db import session_scope
    from store.outbox_admin import failed_items, status_counts

    engine = _engine(settings_from_env())
    with session_scope(engine, readonly=True) as session:
        counts = status_counts(session=session)
        failed = [_row(item) for item in failed_items(session=session, limit=limit)]
    engine.dispose()
    if as_json:
        by_kind: dict[str, dict[str, int]] = {}
        for (kind, status), n in sorted(counts.items()):
            by_kind.setdefault(kind, {})[status] = n
        out.print_json(json.dumps({"counts": by_kind, "failed": failed}))
        return
    if not counts:
        out.print("The outbox is empty.")
        return
    statuses = sorted({status for _, status in counts})
    table = Table(title="Outbox", title_justify="left")
    table.add_column("kind")
    for status in statuses:
        table.add_column(status, justify="right")
    for kind in sorted({kind for kind, _ in counts}):
        table.add_row(kind, *(str(counts.get((kind, s), 0)) for s in statuses))
    out.print(table)
    if not failed:
        out.print("No failed items.")
        return
    out.print(f"Failed ({len(failed)} shown, newest first):")
    for row in failed:
        contact = f", contact {row['contact_id']}" if row["contact_id"] else ""
        out.print(
            f"  {row['id']}  {row['kind']}  {row['what']}{contact}  failed at "
            f"{row['failed_at'][:16].replace('T', ' ')} UTC",
            markup=False, highlight=False, soft_wrap=True,
        )  # fmt: skip
        out.print(f"      {row['why'][:REASON_WIDTH]}", markup=False, highlight=False,
                  soft_wrap=True)  # fmt: skip
    out.print(
        "Look in GHL, then: `dealfinder outbox retry ID` to do it again, "
        "`dealfinder outbox resolve ID --happened` if GHL shows it done, "
        "`dealfinder outbox resolve ID` to close it.",
        markup=False, highlight=False, soft_wrap=True,
    )  # fmt: skip


def _row(item: Any) -> dict[str, Any]:
    return {
        "id": item.id,
        "kind": item.kind,
        "what": item.dedupe_key,
        "contact_id": item.contact_id,
        "attempts": item.attempts,
        "failed_at": item.updated_at.isoformat(),
        "why": item.last_error or "",
    }


@outbox_app.command("retry")
@friendly
def retry(
    item_ids: Annotated[list[int], typer.Argument(help="ids of failed items")],
    note: Annotated[str, typer.Option(help="why, kept with the item")] = "",
) -> None:
    """Put failed items back in the queue, due now (rules, opt-outs and caps still apply)."""
    from store.outbox_admin import requeue_failed

    _settle(item_ids, lambda session, item_id: requeue_failed(
        session=session, item_id=item_id, note=note), done="back in the queue")  # fmt: skip


@outbox_app.command("resolve")
@friendly
def resolve(
    item_ids: Annotated[list[int], typer.Argument(help="ids of failed items")],
    happened: Annotated[
        bool, typer.Option("--happened", help="GHL shows it was done: record it as sent")
    ] = False,
    note: Annotated[str, typer.Option(help="why, kept with the item")] = "",
) -> None:
    """Close failed items for good: as sent (--happened) or as cancelled."""
    from store.outbox_admin import resolve_failed

    _settle(item_ids, lambda session, item_id: resolve_failed(
        session=session, item_id=item_id, note=note, happened=happened,
    ), done="recorded as sent" if happened else "closed")  # fmt: skip


def _settle(item_ids: Sequence[int], change: Callable[[Any, int], Any], *, done: str) -> None:
    from store.db import session_scope

    settings = settings_from_env()
    if settings.dry_run:
        err.print("DEALFINDER_DRY_RUN is set: nothing changed.")
        raise typer.Exit(EXIT_FAILED)
    engine = _engine(settings)
    missing = []
    try:
        for item_id in dict.fromkeys(item_ids):
            with session_scope(engine) as session:
                changed = change(session, item_id)
            if changed is None:
                missing.append(item_id)
            else:
                out.print(f"{item_id} ({changed.kind}): {done}", highlight=False)
    finally:
        engine.dispose()
    if missing:
        err.print(
            f"not a failed item (unknown id, or not failed any more): "
            f"{', '.join(map(str, missing))}; `dealfinder outbox` lists the failed ones",
            highlight=False,
        )
        raise typer.Exit(EXIT_FAILED)
