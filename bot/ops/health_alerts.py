"""When to tell the ops channel that DealFinder is broken, and what to say: a pure policy.

Each health check yields `Finding`s (a component that is degraded or down, what is wrong, how
to fix it). `decide_alert` compares them with what was known before (`AlertMemory`, kept in
the store) and answers with the new memory and at most one message:

* a component changing state (failing, getting worse or better, recovering) -> an alert that
  lists every current problem with since when and the fix;
* everything healthy again -> a recovery message saying how long it lasted;
* nothing changed but still unhealthy -> silence, except a reminder every `reminder_after`.

No I/O and no clock: the caller passes `now`. Slack text is escaped here (`&`, `<`, `>`).

    decision = decide_alert(previous=memory, findings=findings, now=now,
                            reminder_after=timedelta(minutes=60))
    if decision.text: post(decision.text)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from bot.slack.escape import escape

HEALTHY, DEGRADED, DOWN = "healthy", "degraded", "down"
_RANK = {HEALTHY: 0, DEGRADED: 1, DOWN: 2}
Kind = Literal["none", "alert", "recovery", "reminder"]

COMPONENT_NAMES = {
    "database": "Database",
    "ghl": "GHL API",
    "ghl_quota": "GHL daily quota",
    "ghl_errors": "GHL error rate",
    "outbox": "Outbox (SMS and GHL writes)",
    "buyer_sync": "Buyer sync",
}


# What to do about each problem: the text after "Fix:" in the ops channel.
FIXES = {
    "database": "check DATABASE_URL and that the database server is running and reachable "
    "from this host; DealFinder reconnects by itself once it answers.",
    "ghl_auth": "GHL refused the token: check GHL_API_KEY (Settings -> Private Integrations) "
    "and GHL_LOCATION_ID, then run `dealfinder health`.",
    "ghl": "GHL is unreachable or failing: check status.gohighlevel.com and this host's "
    "network; queued texts and GHL writes wait in the outbox and go out when GHL answers.",
    "ghl_quota": "less than 10 % of today's GHL quota is left: pause bulk imports and buyer "
    "syncs until the daily window resets; texts keep priority over imports.",
    "ghl_errors": "many GHL calls failed in the last hour: see the error classes above and "
    "the log (dealfinder.ghl) for the failing endpoints.",
    "outbox": "texts or GHL writes are not going out: check that a worker runs "
    "(`dealfinder worker` or `serve`) and read the outbox items' last_error.",
    "buyer_sync": "the buyer cache is stale, so matches miss recent buyer changes: run "
    "`dealfinder sync-buyers` and check the buyer_refresh job.",
    "job": "a scheduled job keeps failing: its last error is above; see the log "
    "(dealfinder.scheduler) for the traceback.",
}


@dataclass(frozen=True)
class Finding:
    """One component that is not healthy: how bad, what is wrong, and what fixes it."""

    component: str
    level: str  # DEGRADED | DOWN
    problem: str
    fix: str

    def __post_init__(self) -> None:
        if self.level not in (DEGRADED, DOWN):
            raise ValueError(f"a finding is degraded or down, not {self.level!r}")


@dataclass(frozen=True)
class ComponentState:
    level: str
    since: datetime


@dataclass(frozen=True)
class AlertMemory:
    """What the last check concluded; stored so a restart neither forgets nor re-alerts."""

    overall: str
    since: datetime
    last_alerted_at: datetime | None = None
    components: Mapping[str, ComponentState] = field(default_factory=dict)


@dataclass(frozen=True)
class AlertDecision:
    """The memory to store after this check, and the message to post (None: stay quiet)."""

    memory: AlertMemory
    kind: Kind
    text: str | None


def overall_level(findings: Sequence[Finding]) -> str:
    """The worst level among the findings; healthy when there are none."""
    return max((f.level for f in findings), key=_RANK.__getitem__, default=HEALTHY)


def component_name(component: str) -> str:
    if component.startswith("job:"):
        return f"Scheduled job {component[4:]}"
    return COMPONENT_NAMES.get(component, component)


def decide_alert(
    *,
    previous: AlertMemory | None,
    findings: Sequence[Finding],
    now: datetime,
    reminder_after: timedelta,
) -> AlertDecision:
    """The alert policy: message on a change of state, a reminder while it holds, else quiet."""
    before = previous or AlertMemory(overall=HEALTHY, since=now)
    worst: dict[str, Finding] = {}
    for finding in findings:
        held = worst.get(finding.component)
        if held is None or _RANK[finding.level] > _RANK[held.level]:
            worst[finding.component] = finding
    components: dict[str, ComponentState] = {}
    for name, finding in worst.items():
        old = before.components.get(name)
        same = old is not None and old.level == finding.level
        components[name] = ComponentState(finding.level, old.since if old and same else now)
    changed = {n for n in worst if n not in before.components} | {
        n
        for n, state in before.components.items()
        if n not in components or components[n].level != state.level
    }
    recovered = {n: s for n, s in before.components.items() if n not in components}
    overall = overall_level(list(worst.values()))
    since = before.since if overall == before.overall else now

    def memory(alerted: bool) -> AlertMemory:
        last = now if alerted else before.last_alerted_at
        return AlertMemory(
            overall=overall, since=since, last_alerted_at=last, components=components
        )

    if changed and overall == HEALTHY:
        text = _recovery_text(before=before, recovered=recovered, now=now)
        return AlertDecision(memory(True), "recovery", text)
    if changed:
        text = _alert_text(
            overall, since=since, findings=worst, states=components, recovered=recovered, now=now
        )
        return AlertDecision(memory(True), "alert", text)
    last = before.last_alerted_at or before.since
    if overall != HEALTHY and now - last >= reminder_after:
        text = _reminder_text(overall, since=since, findings=worst, states=components, now=now)
        return AlertDecision(memory(True), "reminder", text)
    return AlertDecision(memory(False), "none", None)


# -- the messages ------------------------------------------------------------------------


def duration(span: timedelta) -> str:
    """A short human duration: "45 s", "12 min", "2 h 5 min", "3 d 4 h"."""
    seconds = max(0, int(span.total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def _at(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"


_ICONS = {DOWN: ":red_circle:", DEGRADED: ":large_yellow_circle:"}


def _problem_lines(
    findings: Mapping[str, Finding], states: Mapping[str, ComponentState], now: datetime
) -> list[str]:
    ordered = sorted(findings.values(), key=lambda f: (-_RANK[f.level], f.component))
    lines = []
    for finding in ordered:
        began = states[finding.component].since
        lines.append(
            f"• *{escape(component_name(finding.component))}* ({finding.level}, since "
            f"{_at(began)}, {duration(now - began)}): {escape(finding.problem)}\n"
            f"    Fix: {escape(finding.fix)}"
        )
    return lines


def _alert_text(
    overall: str,
    *,
    since: datetime,
    findings: Mapping[str, Finding],
    states: Mapping[str, ComponentState],
    recovered: Mapping[str, ComponentState],
    now: datetime,
) -> str:
    lines = [f"{_ICONS[overall]} *DealFinder is {overall.upper()}* (since {_at(since)})"]
    lines += _problem_lines(findings, states, now)
    for name, state in sorted(recovered.items()):
        lines.append(
            f"• :white_check_mark: {escape(component_name(name))} recovered after "
            f"{duration(now - state.since)}"
        )
    return "\n".join(lines)


def _reminder_text(
    overall: str,
    *,
    since: datetime,
    findings: Mapping[str, Finding],
    states: Mapping[str, ComponentState],
    now: datetime,
) -> str:
    head = (
        f":repeat: {_ICONS[overall]} *Still {overall.upper()}* since {_at(since)} "
        f"({duration(now - since)})"
    )
    return "\n".join([head, *_problem_lines(findings, states, now)])


def _recovery_text(
    *, before: AlertMemory, recovered: Mapping[str, ComponentState], now: datetime
) -> str:
    # The incident began with its first failing component, not at its last change of level.
    began = min((state.since for state in recovered.values()), default=before.since)
    lines = [
        f":white_check_mark: *DealFinder recovered*: healthy again after "
        f"{duration(now - began)} (unhealthy since {_at(began)})"
    ]
    for name, state in sorted(recovered.items()):
        lines.append(
            f"• {escape(component_name(name))} was {state.level} for {duration(now - state.since)}"
        )
    return "\n".join(lines)
