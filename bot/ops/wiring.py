"""Operations built from Settings: the scheduler, its jobs, metrics, readiness and webhooks.

Built by `bot.runtime.Runtime.ops` for `dealfinder serve` and `dealfinder worker`:

    ops = build_ops(settings, engine=engine, client=ghl, config=config, rules=rules,
                    slack_client=web, alerts=deal_alerts, pipeline=lambda: pipeline)
    ops.scheduler.start()                        # all jobs; ops.scheduler.shutdown() to stop
    routes = ops.routes()                        # /ghl/webhooks, /readyz, /metrics
    ops.metrics.observe_ack_latency(seconds)     # from the Slack bot
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine

from bot.ops.event_wiring import LocationEvents, event_parts
from bot.ops.health import HealthThresholds
from bot.ops.jobs import OpsContext, build_job_specs
from bot.ops.scheduler import OpsScheduler
from bot.settings import ConfigError, Settings
from bot.slack.deal_thread import ops_channel
from bot.web.metrics import Metrics, Readiness, WSGIApp, make_metrics_app, make_readyz_app
from bot.web.webhook_handlers import DealAlertsLike
from bot.web.webhook_verify import SignatureVerifier, WebhookKeyError
from bot.web.webhooks import make_webhook_app
from bot.web.workflow_events import WorkflowEventsApp
from ghl.client import GHLClient
from ghl.health import check_ghl
from matching.notify import NotifyRules
from services.config import DealConfig
from services.ghl_map import GHLMapSource

log = logging.getLogger("dealfinder.ops")


@dataclass
class Ops:
    """The operations side of one process."""

    settings: Settings
    context: OpsContext
    scheduler: OpsScheduler
    metrics: Metrics
    readiness: Readiness

    def routes(self) -> dict[str, WSGIApp]:
        """The HTTP endpoints to mount in the bot's server. Raises ConfigError for a bad key."""
        try:
            verifier = SignatureVerifier.from_settings(
                public_key=self.settings.webhook_public_key,
                legacy_rsa=self.settings.webhook_legacy_rsa,
            )
        except WebhookKeyError as exc:
            raise ConfigError([str(exc)]) from None
        webhooks = make_webhook_app(
            engine=self.context.engine, verifier=verifier, metrics=self.metrics
        )
        secret = self.settings.workflow_webhook_secret
        workflow_events = WorkflowEventsApp(
            engine=self.context.engine,
            secret=secret.get_secret_value() if secret else None,
            location_id=self.context.client.location_id,
            metrics=self.metrics,
        )
        return {
            "/ghl/webhooks": webhooks,
            "/ghl/workflow-events/*": workflow_events,
            "/readyz": make_readyz_app(self.readiness),
            "/metrics": make_metrics_app(self.metrics),
        }


def build_ops(
    settings: Settings,
    *,
    engine: Engine,
    client: GHLClient,
    config: DealConfig | None = None,
    rules: NotifyRules | None = None,
    maps: GHLMapSource | None = None,
    oauth: Any = None,
    slack_client: Any = None,
    alerts: DealAlertsLike | None = None,
    pipeline: Callable[[], Any] | None = None,
    metrics: Metrics | None = None,
) -> Ops:
    """Wire the jobs and endpoints for one process from `settings` and the parts it built.

    `config`, `rules`, `maps` and `oauth` (`bot.oauth_wiring.OAuthParts`) come from the
    runtime, which loads them once (None: loaded here, for tests that wire ops alone).
    `slack_client` is a slack_sdk `WebClient` (None: ops alerts go to the log); `alerts` the
    bot's `DealAlerts`; `pipeline` returns the process's one `DealPipeline` or the bot's
    `DeskActions`, called on the first completed task. The digest is off unless the
    settings' `digest_hour` (0-23) is set.
    """

    metrics = metrics or Metrics()
    metrics.watch_ghl(client)
    metrics.watch_outbox(engine)
    if config is None or rules is None:
        from bot.runtime import Runtime

        loaded = Runtime(settings)
        config, rules = config or loaded.config, rules or loaded.rules
    events = event_parts(
        settings, engine=engine, client=client, config=config, rules=rules, maps=maps,
        slack_client=slack_client, alerts=alerts, pipeline=pipeline,
        install_events=_install_events(settings, engine, config, slack_client, oauth),
    )  # fmt: skip
    handlers, stage_names, optout_poster = (
        events.handlers, events.stage_names, events.optout_poster,
    )  # fmt: skip
    if oauth is not None:  # GHL sends every installed location's events here (issue 14)
        handlers.others = LocationEvents(
            settings, engine=engine, client_for=oauth.client_for, slack_client=slack_client,
            alerts=alerts,
        )  # fmt: skip
    ops_alerts = ops_channel(settings, config)  # the mapping's slack_routing, else the setting
    post_ops = slack_poster(slack_client, ops_alerts) if slack_client else log_poster
    context = OpsContext(
        engine=engine,
        client=client,
        config=config,
        rules=rules,
        handlers=handlers,
        post_ops=post_ops,
        metrics=metrics,
        post_deals=slack_poster(slack_client, settings.deals_channel) if slack_client else None,
        health_interval=timedelta(minutes=settings.health_interval_minutes),
        buyer_refresh=timedelta(minutes=settings.buyer_cache_minutes),
        # Stale after three missed refreshes, so one slow sync is not an alert.
        thresholds=HealthThresholds(
            buyer_sync_stale_after=timedelta(minutes=3 * settings.buyer_cache_minutes),
            reminder_after=timedelta(minutes=settings.alert_reminder_minutes),
            outbox_stuck_after=timedelta(minutes=settings.outbox_stuck_minutes),
        ),
        digest_hour=settings.digest_hour,
        digest_timezone=settings.digest_timezone,
        polling=settings.polling,
        recover_alerts=alerts.recover
        if alerts is not None and hasattr(alerts, "recover")
        else None,
        flush_cards=_card_flusher(alerts),
        stage_names=stage_names,
        optout_poster=optout_poster,
        slack_client=slack_client,
        people_interval=timedelta(minutes=settings.people_refresh_minutes),
    )
    scheduler = OpsScheduler(engine=engine, specs=build_job_specs(context), metrics=metrics)
    readiness = Readiness(engine=engine, ghl_check=lambda: check_ghl(client))
    return Ops(
        settings=settings,
        context=context,
        scheduler=scheduler,
        metrics=metrics,
        readiness=readiness,
    )


def _card_flusher(alerts: Any) -> Callable[[], int] | None:
    """`CardRefresher.flush` over the bot's `DealAlerts`; None without one (no Slack here)."""
    from bot.slack.alerts import DealAlerts
    from bot.slack.card_refresh import CardRefresher

    if not isinstance(alerts, DealAlerts):
        return None
    return CardRefresher(alerts).flush


def _install_events(
    settings: Settings, engine: Engine, config: Any, slack_client: Any, oauth: Any
) -> Any:
    """INSTALL / UNINSTALL handling when the GHL app install is configured, else None."""
    if not settings.oauth_configured:
        return None
    from bot.oauth_wiring import OAuthParts
    from bot.web.install_events import InstallEvents

    post = slack_poster(slack_client, settings.ops_channel) if slack_client else log_poster
    parts = oauth or OAuthParts.from_settings(settings, engine=engine, post_ops=post)
    events = InstallEvents(
        engine=engine, vault=parts.vault, client_for=parts.client_for, config=config, post_ops=post
    )
    return events.handle


def slack_poster(client: Any, channel: str) -> Callable[[str], bool]:
    """A `post(text) -> bool` to a Slack channel through a slack_sdk `WebClient`; False (and
    logged) when Slack refused it or could not be reached, so the caller can try again."""
    from slack_sdk.errors import SlackApiError, SlackClientError

    def post(text_: str) -> bool:
        try:
            client.chat_postMessage(channel=channel, text=text_, unfurl_links=False)
        except SlackApiError as exc:
            log.error("could not post to %s: %s", channel, exc.response.get("error"))
            return False
        except (SlackClientError, OSError) as exc:
            log.error("could not post to %s: %s", channel, type(exc).__name__)
            return False
        return True

    return post


def log_poster(text_: str) -> bool:
    """The ops channel when Slack is not configured: the log (WARNING)."""
    log.warning("ops alert (no Slack configured):\n%s", text_)
    return True


def ops_poster(settings: Settings) -> Callable[[str], bool]:
    """Post to SLACK_OPS_CHANNEL with the bot token, or to the log when Slack is not set."""
    if settings.slack_bot_token is None:
        return log_poster
    from slack_sdk import WebClient

    client = WebClient(
        token=settings.slack_bot_token.get_secret_value(), base_url=settings.slack_api_url
    )
    return slack_poster(client, settings.ops_channel)
