"""`dealfinder locations`: the GHL locations this deployment serves and their overrides.

    dealfinder locations list [--all] [--json]        # known locations; --all: disabled too
    dealfinder locations show loc_b [--json]          # its profile: map, channels, overrides
    dealfinder locations set loc_b name="Bay Team" channels.deals=#deals-bay \\
        mapping.pipeline.name="Bay Acquisitions" 'sms_states={"CA": {"daily_cap": 1}}'
    dealfinder locations set loc_b channels.deals=    # an empty value removes the key
    dealfinder locations disable loc_b                # its work stops; data and overrides stay
    dealfinder locations enable loc_b

A value is read as JSON when it is JSON (numbers, lists, objects), else as text; dotted keys
reach inside objects. The keys are those of `services.locations.LocationSettings`, plus
`name`. Exit codes: 1 an unknown location; 2 a key or value that does not hold (the line
names it; nothing is changed).
"""

from __future__ import annotations

import copy
import json
from typing import Annotated, Any

import typer
from rich.table import Table

from bot.cli.common import EXIT_CONFIG, EXIT_FAILED, err, friendly, out, settings_from_env

locations_app = typer.Typer(
    help="The GHL locations this deployment serves: list, show, set overrides, disable.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add the `locations` command group to the `dealfinder` app."""
    app.add_typer(locations_app, name="locations")


def _stop(line: str, code: int) -> typer.Exit:
    err.print(line, highlight=False, markup=False, soft_wrap=True)
    return typer.Exit(code)


def _known(session: Any, location_id: str, configured: str | None) -> bool:
    from store.locations import list_locations

    every = list_locations(session, include_disabled=True, configured=configured)
    return any(row.location_id == location_id for row in every)


def _rows(*, include_disabled: bool) -> list[dict[str, Any]]:
    from bot.wiring import open_store
    from store.db import session_scope
    from store.locations import active_location_ids, install_statuses, list_locations

    settings = settings_from_env()
    configured = settings.ghl_location_id
    engine = open_store(settings)
    with session_scope(engine, readonly=True) as session:
        active = set(active_location_ids(session, configured=configured))
        installs = install_statuses(session)
        rows = list_locations(session, include_disabled=include_disabled, configured=configured)
        found = [
            {
                "location_id": row.location_id,
                "name": row.name,
                "status": row.status,
                "install": installs.get(row.location_id)
                or ("token" if row.location_id == configured else None),
                "active": row.location_id in active,
                "overrides": sorted(row.settings or {}),
            }
            for row in rows
        ]
    engine.dispose()
    return found


@locations_app.command("list")
@friendly
def list_command(
    include_disabled: Annotated[bool, typer.Option("--all", help="disabled ones too")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """The known locations: installed through the app, configured, or given overrides."""
    rows = _rows(include_disabled=include_disabled)
    if as_json:
        out.print_json(json.dumps(rows))
        return
    if not rows:
        out.print("No locations: set GHL_LOCATION_ID, or install the GHL app at a location.")
        return
    table = Table(title="Locations", title_justify="left")
    for column in ("location", "name", "status", "install", "active", "overrides"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["location_id"],
            row["name"] or "",
            row["status"],
            row["install"] or "-",
            "yes" if row["active"] else "no",
            ", ".join(row["overrides"]),
        )
    out.print(table)


def _profile(settings: Any, location_id: str, engine: Any) -> Any:
    from bot.location_wiring import location_profile
    from store.db import session_scope

    with session_scope(engine, readonly=True) as session:
        if not _known(session, location_id, settings.ghl_location_id):
            raise _unknown(location_id)
    return location_profile(settings, location_id, engine=engine)


def _unknown(location_id: str) -> typer.Exit:
    return _stop(
        f"unknown location {location_id}: `dealfinder locations list --all` shows the known "
        "ones (a location is known once the app is installed there, or it is GHL_LOCATION_ID)",
        EXIT_FAILED,
    )


@locations_app.command("show")
@friendly
def show_command(
    location_id: Annotated[str, typer.Argument(help="the GHL location id")],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """One location's profile: its map, SMS rules, channels and roles, with its overrides."""
    from bot.wiring import open_store

    settings = settings_from_env()
    engine = open_store(settings)
    try:
        profile = _profile(settings, location_id, engine)
    finally:
        engine.dispose()
    shown = {
        "location_id": profile.location_id,
        "name": profile.name,
        "status": profile.status,
        "installed": profile.installed,
        "pipeline": profile.config.pipeline.name,
        "channels": {
            "deals": profile.deals_channel,
            "ops": profile.ops_channel,
            "replies": profile.replies_channel,
        },
        "bound_channels": sorted(profile.bound_channels()),
        "roles_file": str(profile.roles_file) if profile.roles_file else None,
        "overrides": profile.overrides.model_dump(mode="json", exclude_defaults=True),
    }
    if as_json:
        out.print_json(json.dumps(shown))
        return
    for key, value in shown.items():
        text = value if isinstance(value, str) else json.dumps(value)
        out.print(f"{key}: {text}", highlight=False, markup=False)


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def apply_assignments(
    current: dict[str, Any], assignments: list[str]
) -> tuple[dict[str, Any], str | None]:
    """`current` with each `key=value` applied, and the new name (key `name`) if given.
    Raises ValueError naming a malformed assignment or an unknown key."""
    from services.locations import KEYS

    changed, name = copy.deepcopy(current), None
    for assignment in assignments:
        key, sep, text = assignment.partition("=")
        path = key.strip().split(".")
        if not sep or not all(path):
            raise ValueError(f"{assignment!r} is not key=value (e.g. channels.deals=#deals-bay)")
        if path == ["name"]:
            name = text.strip() or None
            continue
        if path[0] not in KEYS:
            raise ValueError(f"unknown key {path[0]!r}: use name or one of {', '.join(KEYS)}")
        parent = changed
        for part in path[:-1]:
            if not isinstance(parent.get(part), dict):
                parent[part] = {}
            parent = parent[part]
        if text == "":
            parent.pop(path[-1], None)
        else:
            parent[path[-1]] = _value(text)
    return changed, name


@locations_app.command("set")
@friendly
def set_command(
    location_id: Annotated[str, typer.Argument(help="the GHL location id")],
    assignments: Annotated[list[str], typer.Argument(help="key=value ... (key= removes it)")],
) -> None:
    """Change a location's overrides; the whole profile is checked before anything is saved."""
    from bot.wiring import open_store
    from services.config import DealConfigError
    from services.locations import LocationSettingsError, RulesError, check_settings, profile_for
    from store.db import session_scope
    from store.locations import get_location, install_statuses, update_location

    settings = settings_from_env()
    engine = open_store(settings)
    try:
        with session_scope(engine) as session:
            row = get_location(session, location_id)
            current = dict(row.settings or {}) if row else {}
            try:
                changed, name = apply_assignments(current, assignments)
            except ValueError as exc:
                raise _stop(f"location {location_id}: {exc}", EXIT_CONFIG) from None
            check_settings(location_id, changed)
            update_location(
                session=session,
                location_id=location_id,
                name=name,
                settings=changed,
                unset=[key for key in current if key not in changed],
            )
            profile_for(session, location_id, settings)  # a broken profile rolls it all back
            known = location_id == settings.ghl_location_id or location_id in install_statuses(
                session
            )
    except (LocationSettingsError, DealConfigError, RulesError) as exc:
        raise _stop(" ".join(str(exc).split()), EXIT_CONFIG) from None
    finally:
        engine.dispose()
    out.print(f"{location_id}: saved", highlight=False)
    if not known:
        out.print(f"note: {location_id} is not installed yet; this applies once it is")


def _set_status(location_id: str, status: str) -> None:
    from bot.wiring import open_store
    from store.db import session_scope
    from store.locations import LocationStatus, set_status

    settings = settings_from_env()
    engine = open_store(settings)
    try:
        with session_scope(engine) as session:
            if not _known(session, location_id, settings.ghl_location_id):
                raise _unknown(location_id)
            set_status(session=session, location_id=location_id, status=LocationStatus(status))
    finally:
        engine.dispose()
    out.print(f"{location_id}: {status}", highlight=False)


@locations_app.command("disable")
@friendly
def disable_command(location_id: Annotated[str, typer.Argument(help="the GHL location id")]):
    """Stop working for a location (its data and overrides stay; `enable` resumes)."""
    _set_status(location_id, "disabled")


@locations_app.command("enable")
@friendly
def enable_command(location_id: Annotated[str, typer.Argument(help="the GHL location id")]):
    """Work for a disabled location again."""
    _set_status(location_id, "active")


def location_config_and_client(settings: Any, location_id: str) -> tuple[Any, Any]:
    """For `dealfinder validate --location`: the location's map and a GHL client for it."""
    from bot.location_wiring import client_for_location
    from bot.wiring import open_store
    from services.config import DealConfigError
    from services.locations import LocationSettingsError, RulesError

    engine = open_store(settings)
    try:
        profile = _profile(settings, location_id, engine)
    except (LocationSettingsError, DealConfigError, RulesError) as exc:
        engine.dispose()
        raise _stop(" ".join(str(exc).split()), EXIT_CONFIG) from None
    return profile.config, client_for_location(settings, location_id, engine=engine)
