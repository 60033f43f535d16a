"""DealFinder's scheduled jobs: plain functions with explicit dependencies, and their schedule.

| id             | every                       | what                                        |
|----------------|-----------------------------|---------------------------------------------|
| health_check   | HEALTH_INTERVAL_MINUTES (5) | `HealthMonitor.run`: check, store, alert    |
| release_sms    | 1 min                       | deferred texts whose window opened go out   |
| webhook_events | 5 s                         | stored GHL webhooks are handled             |
| buyer_refresh  | BUYER_CACHE_MINUTES (60)    | incremental buyer sync from GHL             |
| webhook_prune  | 1 h                         | forget webhook ids older than a day         |
| ghl_event_poll | 1 min                       | `bot.ops.polling`: events read from GHL when idle |
| deals_digest   | daily at the digest hour    | hot deals and their status to #deals        |
| optout_reviews | 1 min                       | possible opt-outs undecided 24 h opt out    |
| slack_alert_recovery | 5 s (with Slack)      | queued hot-deal alerts posted, once         |
| slack_cards    | 2 s (with Slack)            | changed deal cards updated (debounced)      |
| people_refresh | PEOPLE_REFRESH_MINUTES (60) | Slack users matched to GHL users by email   |

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
from typing import Any

from sqlalchemy import Engine

from bot.ops.digest import post_digest
from bot.ops.health import HealthMonitor, HealthThresholds
from bot.ops.optout_reviews import JOB_OPTOUT_REVIEWS, optout_review_spec
from bot.ops.scheduler import JobSpec, instance_id
from bot.web.metrics import Metrics
from bot.web.webhook_handlers import WebhookHandlers
from bot.web.webhooks import process_webhook_events
from ghl.client import GHLClient
from matching.notify import NotifyRules
from services.buyer_sync import SyncReport, sync_buyers
from services.config import DealConfig
from services.notify.notifier import DeliveryReport, release_due
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
    engine: Engine,
    client: GHLClient,
    rules: NotifyRules,
    config: DealConfig,
    now: datetime,
    worker_id: str,
    metrics: Metrics | None = None,
    limit: int = 50,
    max_passes: int = 10,
    location_timezone: str | None = None,
) -> list[DeliveryReport]:
    """Send the texts whose time has come (a deferred text is an item whose not_before passed).

    Works in passes of `limit` until one claims less (a backlog at 08:00 goes out in this run,
    not one batch a minute), but at most `max_passes` so a run stays short.
    """
    started = time.monotonic()

    def clock() -> datetime:
        # each item is judged at the moment it is sent, not at the tick's start (a long pass
        # near 21:00 must not send on a stale clock), counted from the tick's own `now`
        return now + timedelta(seconds=time.monotonic() - started)

    reports = []
    for _ in range(max_passes):
        report = release_due(
            engine=engine,
            client=client,
            rules=rules,
            config=config,
            now=now,
            worker_id=worker_id,
            limit=limit,
            location_timezone=location_timezone,
            clock=clock,
        )
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


def build_job_specs(ctx: OpsContext) -> list[JobSpec]:
    """The schedule: one `JobSpec` per job, with its interval and its lease."""
    job_ids = [
        JOB_RELEASE_SMS, JOB_WORKFLOWS, JOB_WEBHOOKS, JOB_BUYERS, JOB_PRUNE, JOB_OPTOUT_REVIEWS,
    ]  # fmt: skip
    if ctx.polling != "off":
        job_ids.append(JOB_POLL)
    if ctx.digest_hour is not None:
        job_ids.append(JOB_DIGEST)
    monitor = HealthMonitor(
        engine=ctx.engine,
        client=ctx.client,
        post=ctx.post_ops,
        job_ids=job_ids,
        thresholds=ctx.thresholds,
    )

    def release(now: datetime) -> None:
        release_deferred_sms(
            engine=ctx.engine,
            client=ctx.client,
            rules=ctx.rules,
            config=ctx.config,
            now=now,
            worker_id=ctx.worker_id,
            metrics=ctx.metrics,
            location_timezone=ctx.location_timezone,
        )

    def workflows(now: datetime) -> None:
        # Enrolments left due: a retry after a 429 or a call that never reached GHL, or one
        # an operator put back (`dealfinder outbox retry`). Never one whose outcome is unknown.
        WorkflowEnrolments(
            client=ctx.client, engine=ctx.engine, clock=lambda: now, worker_id=ctx.worker_id
        ).drain()

    def webhooks(now: datetime) -> None:
        process_webhook_events(
            engine=ctx.engine, handlers=ctx.handlers, now=now, metrics=ctx.metrics
        )

    def buyers(now: datetime) -> None:
        refresh_buyers(client=ctx.client, engine=ctx.engine, config=ctx.config, now=now)

    specs = [
        # Leases: how long a SQLite run holds the job against a second process (PostgreSQL's
        # advisory lock holds it exactly as long as the run). Longer than any sane run.
        JobSpec(
            id=JOB_RELEASE_SMS, run=release, every=ctx.release_interval, lease=timedelta(minutes=10)
        ),
        JobSpec(
            id=JOB_WORKFLOWS, run=workflows, every=ctx.release_interval, lease=timedelta(minutes=5)
        ),
        JobSpec(
            id=JOB_WEBHOOKS, run=webhooks, every=ctx.webhook_interval, lease=timedelta(minutes=5)
        ),
        JobSpec(
            id=JOB_BUYERS,
            run=buyers,
            every=ctx.buyer_refresh,
            lease=timedelta(minutes=30),
            run_when_first_scheduled=True,
        ),
        JobSpec(
            id=JOB_PRUNE,
            run=lambda now: prune_seen_webhooks(engine=ctx.engine, now=now),
            every=timedelta(hours=1),
            lease=timedelta(minutes=5),
        ),
    ]
    specs.append(
        optout_review_spec(
            engine=ctx.engine,
            client=ctx.client,
            rules=ctx.rules,
            config=ctx.config,
            poster=ctx.optout_poster,
            every=ctx.release_interval,
            worker_id=ctx.worker_id,
        )
    )
    if ctx.polling != "off":
        from bot.ops.polling import poll_events

        def poll(now: datetime) -> None:
            poll_events(
                engine=ctx.engine,
                client=ctx.client,
                handlers=ctx.handlers,
                now=now,
                mode="on" if ctx.polling == "on" else "auto",
                buyer_tag=ctx.config.tags.buyer,
                metrics=ctx.metrics,
            )

        specs.append(
            JobSpec(id=JOB_POLL, run=poll, every=ctx.poll_interval, lease=timedelta(minutes=5))
        )
    if ctx.digest_hour is not None:
        post = ctx.post_deals or ctx.post_ops

        def digest(now: datetime) -> None:
            post_digest(
                engine=ctx.engine,
                location_id=ctx.client.location_id,
                hot=ctx.config.thresholds.hot,
                stage_names=ctx.stage_names,
                post=post,
                now=now,
                timezone=ctx.digest_timezone,
                opportunity_url=ctx.client.opportunity_url,
            )

        specs.append(
            JobSpec(
                id=JOB_DIGEST,
                run=digest,
                daily_at=clock_time(ctx.digest_hour),
                timezone=ctx.digest_timezone,
                lease=timedelta(minutes=10),
            )
        )
    if ctx.recover_alerts is not None:
        recover = ctx.recover_alerts
        specs.append(
            JobSpec(
                id=JOB_SLACK_RECOVER,
                run=lambda now: recover(),
                # Also how hot deals queued by processes without Slack (an import) reach
                # Slack, so seconds, not a minute.
                every=ctx.alerts_interval,
                lease=timedelta(minutes=5),
            )
        )
    if ctx.flush_cards is not None:
        flush = ctx.flush_cards
        specs.append(
            JobSpec(
                id=JOB_SLACK_CARDS,
                run=lambda now: flush(),
                every=ctx.cards_interval,
                lease=timedelta(minutes=2),
            )
        )
    if ctx.slack_client is not None:
        from bot.ops.people_refresh import people_refresh_spec

        specs.append(
            people_refresh_spec(
                slack=ctx.slack_client, ghl=ctx.client, engine=ctx.engine, every=ctx.people_interval
            )
        )
    # Last, so a one-off run (`worker --once`) reports on what the other jobs just did.
    specs.append(
        JobSpec(
            id=JOB_HEALTH,
            run=monitor.run,
            every=ctx.health_interval,
            lease=timedelta(minutes=5),
            unleased_when_store_down=True,
        )
    )
    return specs
