"""`dealfinder health` when the GHL app is installed (issue 14): every active location checked.

A deployment on a private integration token serves one location and keeps the one-location
report. With the app (GHL_CLIENT_ID), each active location is checked with its own tokens and
reported under its name (one active location: the usual one-location report); exit 1 when
any is degraded or down, 2 when none is active.
"""

from __future__ import annotations

import json
from typing import Any

import typer

from bot.cli.common import EXIT_CONFIG, EXIT_FAILED, err, out
from bot.cli.errors import stop_with


def health_all(settings: Any, *, as_json: bool) -> None:
    from bot.location_wiring import client_for_location
    from bot.runtime import open_store
    from ghl.health import check_ghl
    from store.db import session_scope
    from store.locations import active_location_ids, list_locations

    engine = open_store(settings)
    try:
        with session_scope(engine, readonly=True) as session:
            active = active_location_ids(session, configured=settings.ghl_location_id)
            names = {row.location_id: row.name for row in list_locations(session)}
        reports = {}
        for location_id in active:
            with client_for_location(settings, location_id, engine=engine) as client:
                reports[location_id] = check_ghl(client)
    finally:
        engine.dispose()
    if not reports:
        err.print(
            "no active location: install the GHL app at a location (GET /ghl/install) or set "
            "GHL_LOCATION_ID; `dealfinder locations list --all` shows disabled ones",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(EXIT_CONFIG)
    if len(reports) == 1:  # one location: the one-location report and exit codes, as before
        (report,) = reports.values()
        if as_json:
            out.print_json(json.dumps(report.as_dict()))
        else:
            out.print(report.render())
        if report.error is not None:
            raise stop_with(report.error)  # one line naming the setting, exit 2 or 3
    elif as_json:
        out.print_json(json.dumps({loc: report.as_dict() for loc, report in reports.items()}))
    else:
        for location_id, report in reports.items():
            name = names.get(location_id)
            label = f"{name} ({location_id})" if name else location_id
            out.print(f"[bold]{label}[/bold]")
            out.print(report.render())
    if not all(report.ok for report in reports.values()):
        raise typer.Exit(EXIT_FAILED)
