"""The health check job: look at every part DealFinder needs, store the result, alert on change.

What it checks (each failure becomes a `bot.ops.health_alerts.Finding` with its fix):
- the database answers;
- GHL: token and location reachable with one cheap call (`ghl.health.check_ghl`), the daily
  quota above 10 %, and the share of failed GHL calls over the last hour;
- the outbox: how long the oldest due item has waited (a stuck worker or a GHL outage);
- buyer sync: how old the buyer cache is;
- scheduled jobs that failed several times in a row (the jobs the job table marks as watched,
  `bot.ops.jobs.watched_jobs`).

The alert policy itself is `bot.ops.health_alerts.decide_alert`; its memory is kept in the store's
alert state (keys "health" and "health:{component}") and, while the database is unreachable,
in this process, so a restart never re-alerts and an outage of the store is reported once.

    monitor = HealthMonitor(engine=engine, client=ghl, post=slack_poster(web, "#ops-alerts"),
                            job_ids=watched_jobs(ctx))
    report = monitor.run(now)       # what the scheduler calls every HEALTH_INTERVAL_MINUTES
"""

from __future__ import annotations

import logging
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, text

from bot.ops.health_alerts import (
    DEGRADED,
    DOWN,
    FIXES,
    HEALTHY,
    AlertDecision,
    AlertMemory,
    ComponentState,
    Finding,
    decide_alert,
    overall_level,
)
from bot.ops.lease import read_job_record
from bot.slack.escape import escape
from ghl.client import GHLClient
from ghl.health import check_ghl
from services.buyer_sync import last_synced
from store.db import session_scope
from store.outbox import pending_stats
from store.state import get_alert_state, record_health_check, set_alert_state

log = logging.getLogger("dealfinder.health")


@dataclass(frozen=True, kw_only=True)
class HealthThresholds:
    """When a measurement becomes a finding (constructor arguments, from Settings)."""

    outbox_stuck_after: timedelta = timedelta(minutes=30)
    buyer_sync_stale_after: timedelta = timedelta(hours=3)
    error_share: float = 0.2  # of GHL calls in the last hour ...
    error_min_calls: int = 20  # ... once there were at least this many
    job_failures: int = 3  # failed runs in a row
    reminder_after: timedelta = timedelta(minutes=60)


@dataclass
class HealthReport:
    """One check: the overall state, the findings, the measurements and what was posted."""

    state: str
    findings: list[Finding]
    details: dict[str, Any]
    decision: AlertDecision
    posted: bool | None = None  # None: nothing to post


class ErrorWindow:
    """GHL call and error counts over the last hour, from the client's running totals.

    The client's `CallStats` count since the process started; keeping snapshots lets the
    check report the last hour only, so an old incident does not hold the state down.
    """

    def __init__(self, span: timedelta = timedelta(hours=1)) -> None:
        self.span = span
        # The client counts from zero when the process starts: until an hour of snapshots
        # exists, the window reaches back to the start.
        start = (datetime.min.replace(tzinfo=UTC), 0, Counter[str]())
        self._snapshots: deque[tuple[datetime, int, Counter[str]]] = deque([start])

    def observe(self, *, now: datetime, calls: int, errors: Counter[str]) -> tuple[int, Counter]:
        """Record the totals at `now`; returns (calls, errors by class) within the span."""
        self._snapshots.append((now, calls, Counter(errors)))
        while len(self._snapshots) > 1 and now - self._snapshots[1][0] >= self.span:
            self._snapshots.popleft()
        _, old_calls, old_errors = self._snapshots[0]
        return calls - old_calls, Counter(errors) - old_errors


@dataclass
class _Memory:
    """The alert memory kept in this process for when the store cannot be read or written."""

    last: AlertMemory | None = None


class HealthMonitor:
    """Runs the health check and the alert policy around it; `run(now)` is the job."""

    def __init__(
        self,
        *,
        engine: Engine,
        client: GHLClient,
        post: Callable[[str], bool],
        job_ids: Sequence[str] = (),
        thresholds: HealthThresholds | None = None,
        location_id: str | None = None,
        location_label: str | None = None,
    ) -> None:
        self.engine = engine
        self.client = client
        self.post = post
        self.job_ids = list(job_ids)
        self.thresholds = thresholds or HealthThresholds()
        self.location_id = location_id or client.location_id
        # With several locations (issue 14): alerts start with the location, and each keeps
        # its own alert memory ("health@<id>"); alone, the keys and texts are as before.
        self.location_label = location_label
        self._key = f"health@{self.location_id}" if location_label else "health"
        self.errors = ErrorWindow()
        self._memory = _Memory()

    def run(self, now: datetime) -> HealthReport:
        details: dict[str, Any] = {"location": self.location_id} if self.location_label else {}
        findings = self.check(now=now, details=details)
        state = overall_level(findings)
        stored = self._store_ok(details)
        if stored:
            with session_scope(self.engine) as session:
                record_health_check(session=session, state=state, details=details, now=now)
        previous = self._load_memory() if stored else self._memory.last
        decision = decide_alert(
            previous=previous,
            findings=findings,
            now=now,
            reminder_after=self.thresholds.reminder_after,
        )
        report = HealthReport(state=state, findings=findings, details=details, decision=decision)
        if decision.text is not None:
            named = f"[{escape(self.location_label)}] " if self.location_label else ""
            report.posted = self.post(named + decision.text)
            if not report.posted:
                return report  # keep the old memory: the next check tries the message again
        self._memory.last = decision.memory
        if stored:
            self._save_memory(decision.memory, now=now, alerted=decision.kind != "none")
        log.info("health check: %s (%d finding(s), %s)", state, len(findings), decision.kind)
        return report

    # -- measuring -------------------------------------------------------------------------

    def check(self, *, now: datetime, details: dict[str, Any]) -> list[Finding]:
        """Every measurement into `details`; every problem as a finding."""
        findings: list[Finding] = []
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            details["database"] = "ok"
        except Exception as exc:
            details["database"] = f"unreachable: {type(exc).__name__}"
            findings.append(
                Finding(
                    "database",
                    DOWN,
                    f"the database does not answer ({type(exc).__name__})",
                    FIXES["database"],
                )
            )
        findings += self._ghl(now=now, details=details)
        if details["database"] == "ok":
            findings += self._store_checks(now=now, details=details)
        return findings

    def _ghl(self, *, now: datetime, details: dict[str, Any]) -> list[Finding]:
        health = check_ghl(self.client)
        details["ghl"] = health.as_dict()
        found: list[Finding] = []
        problems = "; ".join(health.problems) or "no answer"
        if health.state == DOWN:
            refused = any(w in problems.lower() for w in ("token", "401", "403", "auth"))
            fix = FIXES["ghl_auth"] if refused else FIXES["ghl"]
            found.append(Finding("ghl", DOWN, problems, fix))
        elif health.state == DEGRADED:
            found.append(Finding("ghl_quota", DEGRADED, problems, FIXES["ghl_quota"]))
        stats = self.client.stats
        calls, errors = self.errors.observe(now=now, calls=stats.calls, errors=stats.errors)
        failed = sum(errors.values())
        details["ghl_last_hour"] = {"calls": calls, "errors": dict(errors)}
        limits = self.thresholds
        if calls >= limits.error_min_calls and failed / max(calls, 1) >= limits.error_share:
            classes = ", ".join(f"{name} x{count}" for name, count in errors.most_common(4))
            text_ = f"{failed} of {calls} GHL calls failed in the last hour ({classes})"
            found.append(Finding("ghl_errors", DEGRADED, text_, FIXES["ghl_errors"]))
        return found

    def _store_checks(self, *, now: datetime, details: dict[str, Any]) -> list[Finding]:
        found: list[Finding] = []
        limits = self.thresholds
        with session_scope(self.engine, readonly=True) as session:
            due, oldest = pending_stats(session=session, now=now)
        details["outbox"] = {"due": due, "oldest_due_seconds": round(oldest)}
        if oldest >= limits.outbox_stuck_after.total_seconds():
            text_ = (
                f"{due} item(s) due, the oldest waiting {int(oldest // 60)} min "
                f"(limit {int(limits.outbox_stuck_after.total_seconds() // 60)} min)"
            )
            found.append(Finding("outbox", DEGRADED, text_, FIXES["outbox"]))
        synced = last_synced(engine=self.engine, location_id=self.location_id)
        details["buyer_sync"] = synced.isoformat() if synced else None
        if synced is None:
            found.append(
                Finding(
                    "buyer_sync", DEGRADED, "buyers were never synced from GHL", FIXES["buyer_sync"]
                )
            )
        elif now - synced >= limits.buyer_sync_stale_after:
            age = int((now - synced).total_seconds() // 60)
            found.append(
                Finding(
                    "buyer_sync", DEGRADED, f"last buyer sync {age} min ago", FIXES["buyer_sync"]
                )
            )
        jobs: dict[str, Any] = {}
        for job_id in self.job_ids:
            record = read_job_record(engine=self.engine, job_id=job_id)
            jobs[job_id] = {"failures_in_a_row": record.consecutive_failures, "ok": record.ok}
            if record.consecutive_failures >= limits.job_failures:
                text_ = (
                    f"failed {record.consecutive_failures} times in a row; last error: "
                    f"{record.last_error or 'unknown'}"
                )
                found.append(Finding(f"job:{job_id}", DEGRADED, text_, FIXES["job"]))
        details["jobs"] = jobs
        return found

    # -- memory ----------------------------------------------------------------------------

    def _store_ok(self, details: dict[str, Any]) -> bool:
        return details.get("database") == "ok"

    def _component_keys(self) -> list[str]:
        names = ["database", "ghl", "ghl_quota", "ghl_errors", "outbox", "buyer_sync"]
        return names + [f"job:{job_id}" for job_id in self.job_ids]

    def _load_memory(self) -> AlertMemory | None:
        with session_scope(self.engine, readonly=True) as session:
            overall = get_alert_state(session=session, key=self._key)
            if overall is None:
                return self._memory.last
            components = {}
            for name in self._component_keys():
                row = get_alert_state(session=session, key=f"{self._key}:{name}")
                if row is not None and row.state != HEALTHY:
                    components[name] = ComponentState(row.state, row.since)
        stored = AlertMemory(
            overall=overall.state,
            since=overall.since,
            last_alerted_at=overall.last_alerted_at,
            components=components,
        )
        # A database outage is only known in memory (it could not be stored): keep it, so its
        # recovery is reported.
        if self._memory.last is not None and "database" in self._memory.last.components:
            return self._memory.last
        return stored

    def _save_memory(self, memory: AlertMemory, *, now: datetime, alerted: bool) -> None:
        with session_scope(self.engine) as session:
            set_alert_state(
                session=session, key=self._key, state=memory.overall, now=now, alerted=alerted
            )
            for name in self._component_keys():
                state = memory.components.get(name)
                set_alert_state(
                    session=session,
                    key=f"{self._key}:{name}",
                    state=state.level if state else HEALTHY,
                    now=now,
                )
