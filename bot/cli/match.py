"""`dealfinder match` and `dealfinder sync-buyers`: who buys this property, and why."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from bot.cli.common import EXIT_FAILED, err, friendly, out, settings_from_env
from store.buyers import display_name

SHOWN_EXCLUDED = 20  # buyers kept out of matching listed by sync-buyers


def _load_property(engine, location_id: str, mls_id: str | None, file: Path | None) -> dict:
    if (mls_id is None) == (file is None):
        err.print("Give exactly one of --mls-id X or --file property.json")
        raise typer.Exit(EXIT_FAILED)
    if file is not None:
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            err.print(f"Cannot read {file}: {exc}")
            raise typer.Exit(EXIT_FAILED) from None
        if not isinstance(data, dict):
            err.print(f"{file} must hold one property as a JSON object")
            raise typer.Exit(EXIT_FAILED)
        return data
    from services.property import stored_record
    from store.db import session_scope
    from store.deals import get_property

    assert mls_id is not None  # exactly one of the two was given
    with session_scope(engine, readonly=True) as session:
        row = get_property(session=session, mls_id=mls_id)
        if row is None:
            err.print(
                f"No analysed property with MLS id {mls_id!r}; import it first "
                "(dealfinder import FILE) or pass --file"
            )
            raise typer.Exit(EXIT_FAILED)
        return stored_record(row.mls_id, row.data)


def match(
    mls_id: Annotated[str | None, typer.Option("--mls-id", help="an imported property")] = None,
    file: Annotated[Path | None, typer.Option("--file", help="a property as JSON")] = None,
    min_score: Annotated[int | None, typer.Option(help="lowest score shown (default 70)")] = None,
    limit: Annotated[int, typer.Option(help="how many buyers")] = 20,
    offset: Annotated[int, typer.Option(help="skip this many (paging)")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Rank the buyers for a property, with each score's breakdown and reasons."""
    settings = settings_from_env()
    from bot.runtime import Runtime
    from services.matcher import BuyerMatcher, facts_from_mapping

    runtime = Runtime(settings)
    location_id = runtime.location_id
    engine = runtime.engine
    data = _load_property(engine, location_id, mls_id, file)
    try:
        facts = facts_from_mapping(data)
    except ValueError as exc:
        err.print(str(exc))
        raise typer.Exit(EXIT_FAILED) from None
    matcher = BuyerMatcher(
        engine=engine,
        location_id=location_id,
        cache_minutes=settings.buyer_cache_minutes,
        weights=settings.weights(),
    )
    score_floor = settings.match_min_score if min_score is None else min_score
    outcome = matcher.match(facts, min_score=score_floor, limit=limit, offset=offset)
    results = outcome.page.results
    if as_json:
        out.print_json(
            json.dumps(
                {
                    "mls_id": facts.mls_id,
                    "total": outcome.page.total,
                    "offset": offset,
                    "last_synced_at": outcome.last_synced_at.isoformat()
                    if outcome.last_synced_at
                    else None,
                    "stale": outcome.stale,
                    "matches": [
                        {
                            "contact_id": r.contact_id,
                            "name": display_name(outcome.buyers.get(r.contact_id)),
                            "score": r.score,
                            "components": {
                                c.name: {
                                    "points": c.points,
                                    "max": c.max_points,
                                    "reason": c.reason,
                                }
                                for c in r.components
                            },
                        }
                        for r in results
                    ],
                }
            )
        )
        return
    table = Table(
        title=f"Buyers for {facts.mls_id} — {facts.address}, {facts.city} "
        f"(${facts.price:,}) — {outcome.page.total} at >= {score_floor}"
    )
    for col in ("#", "buyer", "score", "budget", "location", "type", "beds", "why"):
        table.add_column(col, overflow="fold")
    for rank, r in enumerate(results, start=offset + 1):
        parts = {c.name: c for c in r.components}
        buyer = outcome.buyers.get(r.contact_id)
        table.add_row(
            str(rank),
            display_name(buyer, fallback=r.contact_id),
            str(r.score),
            *(
                f"{parts[n].points}/{parts[n].max_points}"
                for n in ("budget", "location", "property_type", "bedrooms")
            ),
            "; ".join(c.reason for c in r.components if c.points < c.max_points)
            or "fits every criterion",
        )
    out.print(table)
    out.print(
        f"{outcome.freshness()}; {outcome.excluded} buyers kept out of matching "
        "(see dealfinder sync-buyers)"
    )
    if outcome.page.has_more:
        out.print(f"more: --offset {offset + len(results)}")


def sync_buyers(
    full: Annotated[bool, typer.Option(help="re-read every buyer, not only changes")] = False,
) -> None:
    """Refresh the buyer cache from GHL contacts tagged active_buyer."""
    settings = settings_from_env()
    from bot.logs import demote
    from bot.runtime import Runtime
    from services.buyer_sync import sync_buyers as run_sync
    from services.matcher import BuyerMatcher

    demote("dealfinder.buyers")  # its log line is the summary printed below: print it once
    runtime = Runtime(settings)
    engine = runtime.engine
    with runtime.ghl as client:
        report = run_sync(client=client, engine=engine, config=runtime.config, full=full)
    out.print(report.summary())
    excluded = BuyerMatcher(engine=engine, location_id=client.location_id).excluded_buyers(
        limit=SHOWN_EXCLUDED + 1
    )
    if excluded:
        # Every sync so far, not only this run's (an incremental run re-reads only changes).
        many = f"the first {SHOWN_EXCLUDED}" if len(excluded) > SHOWN_EXCLUDED else "all"
        excluded = excluded[:SHOWN_EXCLUDED]
        table = Table(title=f"Buyers kept out of matching, {many} in the store (fix in GHL)")
        for col in ("contact", "name", "reason"):
            table.add_column(col)
        for row in excluded:
            table.add_row(*row)
        out.print(table)


def register(app: typer.Typer) -> None:
    app.command("match")(friendly(match))
    app.command("sync-buyers")(friendly(sync_buyers))
