"""What GHL's events do in this process: the webhook handlers of a location, with its GHL
client, map, SMS rules and Slack channels (the replies threads, the opt-out reviews in its ops
channel, its deal threads), and — with the app install (OAuth), where GHL sends every installed
location's events to one `/ghl/webhooks` — each other active location's own handlers, built
on its first event (issue 14: a STOP, a reply or a stage change at any installed location is
acted on there, never ignored as "another location's").

    parts = event_parts(settings, engine=engine, client=client, config=config, rules=rules,
                        maps=maps, slack_client=web, alerts=alerts, pipeline=None)
    parts.handlers.others = LocationEvents(settings, engine=engine, client_for=oauth.client_for,
                                           slack_client=web, alerts=alerts)
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from bot.settings import Settings
from bot.slack.deal_thread import DealThread, ops_channel
from bot.web.webhook_handlers import DealAlertsLike, InstallHandler, WebhookHandlers
from ghl.client import GHLClient
from matching.notify import NotifyRules
from services.config import DealConfig
from services.ghl_map import GHLMapSource
from services.locations import profile_for
from store.db import session_scope
from store.locations import active_location_ids

log = logging.getLogger("dealfinder.ops")


@dataclass
class EventParts:
    """A location's webhook handlers, and what the ops jobs share with them."""

    handlers: WebhookHandlers
    stage_names: Callable[[], Mapping[str, str]]
    optout_poster: Any


class _Lazy:
    """A value built on first use (GHL lookups the process may never need), then kept."""

    def __init__(self, build: Callable[[], Any]) -> None:
        self._build, self._value, self._lock = build, None, threading.Lock()

    def get(self) -> Any:
        with self._lock:
            if self._value is None:
                self._value = self._build()
            return self._value


def event_parts(
    settings: Settings,
    *,
    engine: Engine,
    client: GHLClient,
    config: DealConfig,
    rules: NotifyRules,
    maps: GHLMapSource | None,
    slack_client: Any,
    alerts: DealAlertsLike | None,
    pipeline: Callable[[], Any] | None,
    install_events: InstallHandler | None = None,
) -> EventParts:
    """The handlers of `client`'s location; `pipeline` returns its deal pipeline (None: one
    is built on the first completed task)."""
    from services.optout.replies import handle_dnd_update, handle_inbound_message

    maps = maps or GHLMapSource(client, config)
    ghl_map = maps.get

    def build_pipeline() -> Any:
        from services.pipeline.core import DealPipeline

        return DealPipeline(client, engine, config, ghl_map(), rules=rules)

    deals = _Lazy(pipeline or build_pipeline)

    def task_completed(contact_id: str, title: str) -> Any:
        return deals.get().advance_on_task_completed(contact_id=contact_id, task_title=title)

    optout_poster = None
    if slack_client is not None:
        from bot.slack.optout_review import OptoutReviewPoster

        optout_poster = OptoutReviewPoster(
            client=slack_client,
            engine=engine,
            ops_channel=ops_channel(settings, config),
            alerts=alerts,
        )

    def inbound(payload: dict[str, Any], now: datetime) -> Any:
        outcome = handle_inbound_message(
            engine=engine, client=client, payload=payload, rules=rules, config=config, now=now
        )
        # A possible opt-out paused texting the buyer: ask a person now (the job retries).
        if outcome.kind == "possible_opt_out" and optout_poster is not None:
            optout_poster.post(outcome.review_id)
        elif outcome.kind == "possible_opt_out":
            log.warning(
                "possible opt-out %s paused a buyer, but Slack is not configured: nobody can "
                "decide, so it becomes an opt-out in 24 h",
                outcome.review_id,
            )
        return outcome

    def stage_names() -> Mapping[str, str]:
        found = ghl_map()
        return {found.stage_ids[key]: name for key, name in found.stage_names.items()}

    replies = reply_threads_for(alerts, channel=settings.replies_channel)
    handlers = WebhookHandlers(
        install_events=install_events,
        engine=engine,
        client=client,
        config=config,
        inbound=inbound,
        dnd_update=lambda payload, now: handle_dnd_update(engine=engine, payload=payload, now=now),
        task_completed=task_completed,
        alerts=alerts,
        replies=replies,
        deal_thread=DealThread(replies=replies, stage_names=stage_names) if replies else None,
    )
    return EventParts(handlers=handlers, stage_names=stage_names, optout_poster=optout_poster)


def reply_threads_for(alerts: Any, *, channel: str) -> Any:
    """`bot.slack.reply_threads.ReplyThreads` beside the bot's `DealAlerts` (same Slack client,
    store and deal cards); None without one (no Slack client in this process)."""
    from bot.slack.alerts import DealAlerts
    from bot.slack.reply_threads import ReplyThreads

    if not isinstance(alerts, DealAlerts):
        return None
    return ReplyThreads(
        client=alerts.client, engine=alerts.engine, channel=channel, cards=alerts.cards,
        card_message=alerts.message_for, clock=alerts.clock, routing=alerts.routing,
    )  # fmt: skip


class LocationEvents:
    """The other active locations' webhook handlers (`WebhookHandlers.others`), each built on
    its location's first event from its profile and its own GHL client, then kept."""

    def __init__(
        self,
        settings: Settings,
        *,
        engine: Engine,
        client_for: Callable[[str], GHLClient],
        slack_client: Any,
        alerts: Any,
    ) -> None:
        self.settings, self.engine, self.client_for = settings, engine, client_for
        self.slack_client, self.alerts = slack_client, alerts
        self._built: dict[str, WebhookHandlers] = {}
        self._lock = threading.Lock()

    def __call__(self, location_id: str) -> WebhookHandlers | None:
        """The location's handlers; None when it is not an active location here."""
        s = self.settings
        with session_scope(self.engine, readonly=True) as session:
            if location_id not in active_location_ids(session, configured=s.ghl_location_id):
                return None
        with self._lock:
            found = self._built.get(location_id)
            if found is None:
                found = self._built[location_id] = self._build(location_id)
                log.info("handling GHL events of location %s", location_id)
            return found

    def _build(self, location_id: str) -> WebhookHandlers:
        with session_scope(self.engine, readonly=True) as session:
            profile = profile_for(session, location_id, self.settings)
        own = self.settings.model_copy(
            update={
                "deals_channel": profile.deals_channel,
                "ops_channel": profile.ops_channel,
                "replies_channel_setting": profile.replies_channel,
            }
        )
        client = self.client_for(location_id)
        # Its own cards where the bot serves several locations (`bot.slack.locations`).
        others = getattr(self.alerts, "others", None)
        alerts = others.alerts_for(location_id) if others is not None else None
        return event_parts(
            own, engine=self.engine, client=client, config=profile.config, rules=profile.rules,
            maps=GHLMapSource(client, profile.config), slack_client=self.slack_client,
            alerts=alerts, pipeline=None,
        ).handlers  # fmt: skip
