"""DealFinder's scheduled jobs: plain functions with explicit dependencies, and their schedule.

Every job is one row of `JOBS` (id, interval or daily time, lease, whether this process has
it, whether the health check watches it): the scheduler and the health check both read it.

    specs = build_job_specs(ctx)                     # ctx: OpsContext
    OpsScheduler(engine=ctx.engine, specs=specs, metrics=ctx.metrics).start()
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import time as clock_time
from typing import Any, Unpack

from sqlalchemy import Engine

from bot.ops.digest import post_digest
from bot.ops.health import HealthMonitor, HealthThresholds
from bot.ops.optout_reviews import JOB_OPTOUT_REVIEWS, settle_optout_reviews
from bot.ops.people_refresh import JOB_PEOPLE
from bot.ops.scheduler import JobSpec, instance_id
from bot.web.metrics import Metrics
from bot.web.webhook_handlers import WebhookHandlers
from bot.web.webhooks import process_webhook_events
from ghl.client import GHLClient
from matching.notify import NotifyRules
from services.buyer_sync import SyncReport, sync_buyers
from services.config import DealConfig
from services.notify.notifier import DeliveryReport, DeliveryRun, release_due
from services.pipeline.hot import WorkflowEnrolments
from store.db import session_scope
from store.webhooks import prune_webhook_ids

log = logging.getLogger("dealfinder.jobs")

JOB_HEALTH = "health_check"
JOB_RELEASE_SMS = "release_sms"
JOB_WEBHOOKS = "webhook_events"
JOB_BUYERS = "buyer_refresh"
JOB_PRUNE = "webhook_prune"
JOB_DIGEST = "deals_digest"
JOB_SLACK_RECOVER = "slack_alert_recovery"
JOB_SLACK_CARDS = "slack_cards"
JOB_WORKFLOWS = "hot_deal_workflows"
JOB_POLL = "ghl_event_poll"

# Webhook ids are kept well beyond GHL's 2-hour retry horizon (the timestamp window), so a
# replay that still passes the timestamp check always meets its id, and message ids beyond
# polling's 12-hour look-back (see store.webhooks.prune_webhook_ids, bot.ops.polling).
SEEN_WEBHOOK_IDS_KEPT = timedelta(days=1)


def release_deferred_sms(
    *,
    metrics: Metrics | None = None,
    limit: int = 50,
    max_passes: int = 10,
    location_timezone: str | None = None,
    **run: Unpack[DeliveryRun],
) -> list[DeliveryReport]:
    """Send the texts whose time has come (a deferred text is an item whose not_before passed).

    Works in passes of `limit` until one claims less (a backlog at 08:00 goes out in this run,
    not one batch a minute), but at most `max_passes` so a run stays short.
    """
    started, now = time.monotonic(), run["now"]

    def clock() -> datetime:
        # each item is judged at the moment it is sent, not at the tick's start (a long pass
        # near 21:00 must not send on a stale clock), counted from the tick's own `now`
        return now + timedelta(seconds=time.monotonic() - started)

    reports = []
    for _ in range(max_passes):
        report = release_due(**run, limit=limit, location_timezone=location_timezone, clock=clock)
        if metrics is not None:
            metrics.count_delivery(report.outcomes)
        reports.append(report)
        if len(report.outcomes) < limit:
            break
    return reports


def refresh_buyers(
    *, client: GHLClient, engine: Engine, config: DealConfig, now: datetime
) -> SyncReport:
    """The buyer cache's incremental refresh (only contacts GHL changed since the last sync)."""
    return sync_buyers(client=client, engine=engine, config=config, full=False, now=now)


def prune_seen_webhooks(
    *, engine: Engine, now: datetime, keep: timedelta = SEEN_WEBHOOK_IDS_KEPT
) -> int:
    """Forget webhook ids older than `keep`; returns how many."""
    with session_scope(engine) as session:
        return prune_webhook_ids(session=session, older_than=now - keep)


@dataclass(kw_only=True)
class OpsContext:
    """Everything the jobs need, built once at the entry point (see `bot.ops.wiring`)."""

    engine: Engine
    client: GHLClient
    config: DealConfig
    rules: NotifyRules
    handlers: WebhookHandlers
    post_ops: Callable[[str], bool]
    post_deals: Callable[[str], bool] | None = None
    metrics: Metrics | None = None
    worker_id: str = field(default_factory=lambda: f"ops:{instance_id()}")
    health_interval: timedelta = timedelta(minutes=5)
    buyer_refresh: timedelta = timedelta(minutes=60)
    release_interval: timedelta = timedelta(minutes=1)
    webhook_interval: timedelta = timedelta(seconds=5)
    thresholds: HealthThresholds | None = None
    location_timezone: str | None = None
    digest_hour: int | None = None  # None: no digest
    digest_timezone: str = "America/New_York"
    stage_names: Callable[[], Mapping[str, str]] = dict
    # the bot's `DealAlerts.recover`: finish hot-deal posts a crash or Slack error left undone
    recover_alerts: Callable[[], int] | None = None
    alerts_interval: timedelta = timedelta(seconds=5)
    # `bot.slack.card_refresh.CardRefresher.flush`: changed deal cards re-rendered (None: no Slack)
    flush_cards: Callable[[], int] | None = None
    cards_interval: timedelta = timedelta(seconds=2)
    # `bot.slack.optout_review.OptoutReviewPoster`: possible opt-outs to Slack (None: no Slack)
    optout_poster: Any = None
    # GHL polling for events (`bot.ops.polling`): "auto" (when no event path delivered lately),
    # "on" or "off" (DEALFINDER_POLLING)
    polling: str = "auto"
    poll_interval: timedelta = timedelta(minutes=1)
    # The bot's Slack `WebClient` (None: no people refresh), `bot.ops.people_refresh`.
    slack_client: Any = None
    people_interval: timedelta = timedelta(minutes=60)


# -- the job table ---------------------------------------------------------------------------
# Each row says what a job runs (built from the context), how often, how long its lease holds
# a second process off (SQLite; PostgreSQL's advisory lock holds exactly as long as the run),
# whether this process has it at all, and whether the health check watches it (alerts when it
# fails `HealthThresholds.job_failures` times in a row). The scheduler and the health check both
# read this table; nothing else lists the jobs.


def _always(ctx: OpsContext) -> bool:
    return True


@dataclass(frozen=True, kw_only=True)
class Job:
    """One row of the job table; `spec(ctx)` is the scheduler's entry for this process."""

    id: str
    run: Callable[[OpsContext], Callable[[datetime], object]]
    every: Callable[[OpsContext], timedelta] | None = None
    daily: Callable[[OpsContext], tuple[clock_time, str]] | None = None  # (at, timezone)
    lease: timedelta
    watched: bool
    when: Callable[[OpsContext], bool] = _always
    run_when_first_scheduled: bool = False
    unleased_when_store_down: bool = False

    def spec(self, ctx: OpsContext) -> JobSpec:
        at, tz = self.daily(ctx) if self.daily is not None else (None, "UTC")
        return JobSpec(
            id=self.id, run=self.run(ctx), every=self.every(ctx) if self.every else None,
            daily_at=at, timezone=tz, lease=self.lease,
            run_when_first_scheduled=self.run_when_first_scheduled,
            unleased_when_store_down=self.unleased_when_store_down,
        )  # fmt: skip


def _release(ctx: OpsContext) -> Callable[[datetime], object]:
    return lambda now: release_deferred_sms(
        engine=ctx.engine, client=ctx.client, rules=ctx.rules, config=ctx.config, now=now,
        worker_id=ctx.worker_id, metrics=ctx.metrics, location_timezone=ctx.location_timezone,
    )  # fmt: skip


def _workflows(ctx: OpsContext) -> Callable[[datetime], object]:
    # Enrolments left due: a retry after a 429 or a call that never reached GHL, or one an
    # operator put back (`dealfinder outbox retry`). Never one whose outcome is unknown.
    return lambda now: WorkflowEnrolments(
        client=ctx.client, engine=ctx.engine, clock=lambda: now, worker_id=ctx.worker_id
    ).drain()


def _webhooks(ctx: OpsContext) -> Callable[[datetime], object]:
    return lambda now: process_webhook_events(
        engine=ctx.engine, handlers=ctx.handlers, now=now, metrics=ctx.metrics
    )


def _buyers(ctx: OpsContext) -> Callable[[datetime], object]:
    return lambda now: refresh_buyers(
        client=ctx.client, engine=ctx.engine, config=ctx.config, now=now
    )


def _optout_reviews(ctx: OpsContext) -> Callable[[datetime], object]:
    return lambda now: settle_optout_reviews(
        engine=ctx.engine, client=ctx.client, rules=ctx.rules, config=ctx.config, now=now,
        poster=ctx.optout_poster, worker_id=ctx.worker_id,
    )  # fmt: skip


def _poll(ctx: OpsContext) -> Callable[[datetime], object]:
    from bot.ops.polling import poll_events

    return lambda now: poll_events(
        engine=ctx.engine, client=ctx.client, handlers=ctx.handlers, now=now,
        mode="on" if ctx.polling == "on" else "auto", buyer_tag=ctx.config.tags.buyer,
        metrics=ctx.metrics,
    )  # fmt: skip


def _digest(ctx: OpsContext) -> Callable[[datetime], object]:
    return lambda now: post_digest(
        engine=ctx.engine, location_id=ctx.client.location_id, hot=ctx.config.thresholds.hot,
        stage_names=ctx.stage_names, post=ctx.post_deals or ctx.post_ops, now=now,
        timezone=ctx.digest_timezone, opportunity_url=ctx.client.opportunity_url,
    )  # fmt: skip


def _people(ctx: OpsContext) -> Callable[[datetime], object]:
    from bot.ops.people_refresh import run_people_refresh

    return lambda now: run_people_refresh(
        slack=ctx.slack_client, ghl=ctx.client, engine=ctx.engine, now=now
    )


def _health(ctx: OpsContext) -> Callable[[datetime], object]:
    return HealthMonitor(
        engine=ctx.engine, client=ctx.client, post=ctx.post_ops, job_ids=watched_jobs(ctx),
        thresholds=ctx.thresholds,
    ).run  # fmt: skip


def _minutes(n: int) -> timedelta:
    return timedelta(minutes=n)


JOBS: tuple[Job, ...] = (
    Job(id=JOB_RELEASE_SMS, run=_release, every=lambda c: c.release_interval, lease=_minutes(10),
        watched=True),
    Job(id=JOB_WORKFLOWS, run=_workflows, every=lambda c: c.release_interval, lease=_minutes(5),
        watched=True),
    Job(id=JOB_WEBHOOKS, run=_webhooks, every=lambda c: c.webhook_interval, lease=_minutes(5),
        watched=True),
    Job(id=JOB_BUYERS, run=_buyers, every=lambda c: c.buyer_refresh, lease=_minutes(30),
        watched=True, run_when_first_scheduled=True),
    Job(id=JOB_PRUNE, run=lambda c: lambda now: prune_seen_webhooks(engine=c.engine, now=now),
        every=lambda c: timedelta(hours=1), lease=_minutes(5), watched=True),
    Job(id=JOB_OPTOUT_REVIEWS, run=_optout_reviews, every=lambda c: c.release_interval,
        lease=_minutes(5), watched=True),
    Job(id=JOB_POLL, run=_poll, every=lambda c: c.poll_interval, lease=_minutes(5), watched=True,
        when=lambda c: c.polling != "off"),
    Job(id=JOB_DIGEST, run=_digest, daily=lambda c: (clock_time(c.digest_hour or 0),
        c.digest_timezone), lease=_minutes(10), watched=True,
        when=lambda c: c.digest_hour is not None),
    # Also how hot deals queued by processes without Slack (an import) reach Slack: seconds.
    Job(id=JOB_SLACK_RECOVER, run=lambda c: lambda now: c.recover_alerts(),  # type: ignore[misc]
        every=lambda c: c.alerts_interval, lease=_minutes(5), watched=True,
        when=lambda c: c.recover_alerts is not None),
    # Card refreshes and the people match are cosmetic: a failing run is logged and counted
    # (metrics), not an alert.
    Job(id=JOB_SLACK_CARDS, run=lambda c: lambda now: c.flush_cards(),  # type: ignore[misc]
        every=lambda c: c.cards_interval, lease=_minutes(2), watched=False,
        when=lambda c: c.flush_cards is not None),
    Job(id=JOB_PEOPLE, run=_people, every=lambda c: c.people_interval, lease=_minutes(10),
        watched=False, when=lambda c: c.slack_client is not None, run_when_first_scheduled=True),
    # Last, so a one-off run (`worker --once`) reports on what the other jobs just did; not
    # watched by itself (its own failure is the alert it would send).
    Job(id=JOB_HEALTH, run=_health, every=lambda c: c.health_interval, lease=_minutes(5),
        watched=False, unleased_when_store_down=True),
)  # fmt: skip


def watched_jobs(ctx: OpsContext) -> list[str]:
    """The ids of this process's jobs the health check watches."""
    return [job.id for job in JOBS if job.watched and job.when(ctx)]


def build_job_specs(ctx: OpsContext) -> list[JobSpec]:
    """The schedule: one `JobSpec` per job of `JOBS` this process has, in table order."""
    return [job.spec(ctx) for job in JOBS if job.when(ctx)]
