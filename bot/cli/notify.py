"""`dealfinder notify --mls-id X [--dry-run] [--json]`: text a property's matched buyers.

Shows who would be texted now, who is deferred until when (buyer-local and UTC) and who is
excluded and why; without `--dry-run` it records the texts in the outbox and delivers what is
due now. Wired into the `dealfinder` app by `register(app)`.
"""

from __future__ import annotations

import json
import os
import socket
from collections import Counter
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from bot.cli.common import EXIT_CONFIG, EXIT_FAILED, err, friendly, settings_from_env
from bot.runtime import Runtime
from ghl.client import GHLClient
from ghl.errors import GHLError
from matching.notify import NotifyRules, RulesError
from services.config import DealConfig, DealConfigError
from services.notify import words
from services.notify.notifier import (
    DeliveryReport,
    DeliveryRun,
    NotifyPlan,
    PlannedNotification,
    deliver_due,
    enqueue_notifications,
    facts_from_property,
    load_matches,
    plan_notifications,
)
from store.db import session_scope
from store.deals import get_property

MAX_PASSES = 10  # delivery passes per run: texts, then their follow-ups
_TITLES = {
    "send_now": "Texted now",
    "deferred": "Later",
    "excluded": "Not texted",
    "already": "Already texted or queued",
}


def register(app: typer.Typer) -> None:
    """Add the `notify` command to the `dealfinder` app."""
    app.command("notify")(notify)


@friendly
def notify(
    mls_id: Annotated[str, typer.Option("--mls-id", help="the property's MLS number")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="show the plan; queue and send nothing")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Text a property's matched buyers (quiet hours, opt-outs and the daily cap apply)."""
    settings = settings_from_env()
    runtime = Runtime(settings)
    rules, config = _business_rules(runtime)
    now = datetime.now(UTC)
    engine = runtime.engine  # migrated: a fresh store reads as empty, not as an error
    try:
        with session_scope(engine, readonly=True) as session:
            row = get_property(session=session, mls_id=mls_id)
        if row is None:
            err.print(f"No property {mls_id} in the store; run the deal pipeline on it first.")
            raise typer.Exit(EXIT_FAILED)
        facts = facts_from_property(row)
        with runtime.ghl as client:
            zone = _location_timezone(client, dry_run=dry_run)
            matches = load_matches(
                engine=engine,
                prop=facts,
                min_score=settings.match_min_score,
                location_id=row.location_id,
            )
            plan = plan_notifications(
                engine=engine,
                property=facts,
                matches=matches,
                rules=rules,
                config=config,
                location_timezone=zone,
                now=now,
            )
            if dry_run:
                _show(plan, as_json=as_json, extra={"dry_run": True})
                return
            enqueued = enqueue_notifications(engine=engine, plan=plan, property=facts, now=now)
            worker = f"cli-{socket.gethostname()}-{os.getpid()}"
            run = DeliveryRun(engine=engine, client=client, rules=rules, config=config,
                              now=now, worker_id=worker)  # fmt: skip
            delivery = _deliver(run, zone=zone)
    finally:  # an unreachable store or GHL: one line and exit code from bot.cli.errors
        engine.dispose()
    _show(
        plan,
        as_json=as_json,
        extra={"dry_run": False, "enqueued": enqueued.as_dict(), "delivery": delivery.as_dict()},
    )


def _business_rules(runtime: Runtime) -> tuple[NotifyRules, DealConfig]:
    try:
        return runtime.rules, runtime.config
    except (RulesError, DealConfigError) as exc:
        err.print(str(exc), markup=False, highlight=False)
        raise typer.Exit(EXIT_CONFIG) from None


def _location_timezone(client: GHLClient, *, dry_run: bool) -> str | None:
    """The GHL location's zone, the fallback for buyers whose own zone is unknown."""
    try:
        return client.locations.get().timezone
    except GHLError as exc:
        if not dry_run:
            raise
        err.print(f"GHL location not read ({exc}); planning with the default time zone.")
        return None


def _deliver(run: DeliveryRun, *, zone: str | None) -> DeliveryReport:
    """Deliver what is due now: the texts, then the follow-ups they queue."""
    total = DeliveryReport()
    for _ in range(MAX_PASSES):
        report = deliver_due(**run, limit=100, location_timezone=zone)
        if not report.outcomes:
            break
        total.outcomes.extend(report.outcomes)
    return total


def _show(plan: NotifyPlan, *, as_json: bool, extra: dict[str, Any]) -> None:
    if as_json:
        typer.echo(json.dumps(plan.as_dict() | extra, indent=2))
        return
    typer.echo(
        f"MLS {plan.mls_id}: "
        + words.conclusion(
            now=len(plan.send_now), later=len(plan.deferred), excluded=len(plan.excluded),
            already=len(plan.already),
        )
        + f" ({len(plan.entries)} matched buyer(s), planned at "
        f"{plan.planned_at:%Y-%m-%d %H:%M} UTC)"
    )  # fmt: skip
    for name, title in _TITLES.items():
        entries = plan.group(name)  # type: ignore[arg-type]
        if not entries:
            continue
        typer.echo(f"\n{title} ({len(entries)}):")
        for entry in entries:
            typer.echo(f"  {_line(entry, now=plan.planned_at)}")
    if extra.get("dry_run"):
        typer.echo("\nDry run: nothing was queued or sent.")
        return
    items = extra["delivery"]["items"]
    texts = [i for i in items if i["kind"] != "ghl_followup"]
    sent = sum(1 for i in texts if i["status"] == "sent")
    followups = sum(1 for i in items if i["kind"] == "ghl_followup" and i["status"] == "sent")
    others = Counter(i["status"] for i in texts if i["status"] != "sent")
    queued = extra["enqueued"]
    typer.echo(
        f"\nQueued {len(queued['queued'])}, deferred {len(queued['deferred'])}, "
        f"excluded {len(queued['excluded'])}, skipped {len(queued['skipped'])}. "
        f"Texts sent now: {sent}; GHL follow-ups done: {followups}."
    )
    if others:
        typer.echo(
            "Texts not sent in this run: " + ", ".join(f"{n} {s}" for s, n in others.items())
        )


def _line(entry: PlannedNotification, *, now: datetime) -> str:
    who = f"{entry.name} ({entry.contact_id}) {entry.score}/100"
    if entry.group == "send_now":
        local = entry.local_send_at
        return f"{who} - {local:%-I:%M %p %Z} their time" if local else who
    if entry.group == "deferred":
        why = words.later_words(
            code=entry.code, send_at=entry.send_at, zone=entry.zone, now=now, cap=entry.cap,
            window=entry.window, window_states=entry.window_states, cap_states=entry.cap_states,
        )  # fmt: skip
        utc = f" ({entry.send_at:%Y-%m-%d %H:%M} UTC)" if entry.send_at else ""
        return f"{who} - {why}{utc}"
    if entry.group == "excluded":
        return f"{who} - {words.not_words(entry.code, entry.reason)}"
    return f"{who} - {entry.reason}"
