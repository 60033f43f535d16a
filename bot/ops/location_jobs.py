"""Each leased location's scheduled jobs in an agency worker (issue 14, item 2): its buyer
cache refresh (with its own mapping), its health check (alerting its ops channel on change,
the location named), and its hot-deal workflow enrolments left due (a retry after a 429, one an
operator put back), and with Slack its hot-deal cards left queued (`bot.ops.agency_slack`).
They run in the location's own thread (`bot.ops.location_runner`), so a
location whose GHL is slow or failing delays only its own jobs.

    jobs_for = location_jobs(settings, engine=engine, client_for=client_for)
    AgencyWorker(..., jobs_for=jobs_for)
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from bot.ops.agency_slack import ALERTS_EVERY
from bot.ops.health import HealthMonitor
from bot.ops.location_runner import LocationJob
from bot.settings import Settings
from services.buyer_sync import sync_buyers
from services.locations import profile_for
from services.pipeline.hot import WorkflowEnrolments
from store.db import session_scope
from store.types import utcnow

WORKFLOWS_EVERY = timedelta(minutes=1)


def location_jobs(
    settings: Settings,
    *,
    engine: Engine,
    client_for: Callable[[str], Any],
    poster_for: Callable[[Settings], Callable[[str], bool]] | None = None,
    alerts_for: Callable[[str], Any] | None = None,
) -> Callable[[str], list[LocationJob]]:
    """`location_id -> its jobs`, with its client, its ops channel and its label."""
    if poster_for is None:
        from bot.ops.wiring import ops_poster

        poster_for = ops_poster

    def build(location_id: str) -> list[LocationJob]:
        client = client_for(location_id)
        with session_scope(engine, readonly=True) as session:
            profile = profile_for(session, location_id, settings)
        own = settings.model_copy(update={"ops_channel": profile.ops_channel})
        monitor = HealthMonitor(
            engine=engine, client=client, post=poster_for(own), location_id=location_id,
            location_label=profile.label,
        )  # fmt: skip
        enrolments = WorkflowEnrolments(
            client=client, engine=engine, clock=utcnow, worker_id=f"agency:{location_id}"[:128]
        )

        def buyers(now: datetime) -> object:  # incremental: what GHL changed since the last
            return sync_buyers(
                client=client, engine=engine, config=profile.config, full=False, now=now
            )

        def workflows(_now: datetime) -> int:
            return enrolments.drain()

        health_every = timedelta(minutes=settings.health_interval_minutes)
        jobs = [
            LocationJob("buyer_refresh", timedelta(minutes=settings.buyer_cache_minutes), buyers),
            LocationJob("health_check", health_every, monitor.run),
            LocationJob("hot_deal_workflows", WORKFLOWS_EVERY, workflows, when_parked=False),
        ]
        if alerts_for is not None:  # cards render from GHL: not while its day is used up
            alerts = alerts_for(location_id)
            jobs.append(
                LocationJob(
                    "slack_alerts", ALERTS_EVERY, lambda _now: alerts.recover(), when_parked=False
                )
            )
        return jobs

    return build
