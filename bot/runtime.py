"""The one place DealFinder's parts are built from Settings: GHL clients, the store, the
services, the jobs, the Slack app, the HTTP routes and the background threads.

Every entry point (`serve`, `worker`, `import`, `demo`, the other CLI commands) builds one
`Runtime` and takes what it needs; each part is built on first use and then shared, so a
process has one deal pipeline, one set of jobs and one GHL map per location. Nothing is kept
at module level: two runtimes (two tests) never share a part.

    runtime = build_runtime(settings)
    runtime.location("loc_123").ghl_map()      # per-location parts (client, mapping, rules)
    runtime.deal_pipeline.process(record)      # hot deals alert Slack when it is configured
    routes = runtime.http_routes()             # ops, OAuth install, intake API
    runtime.start_background()                 # jobs and the intake worker; stop_background()
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from bot.settings import ConfigError, Settings
from ghl.client import GHLClient, make_rate_backend
from ghl.retry import RetryPolicy
from matching.notify import NotifyRules, load_rules
from services.config import DealConfig, load_deal_config
from services.ghl_map import GHLMap, GHLMapSource
from store.types import utcnow

if TYPE_CHECKING:
    from slack_sdk import WebClient

    from bot.oauth_wiring import OAuthParts
    from bot.ops.wiring import Ops
    from bot.slack.alerts import DealAlerts
    from bot.slack.app import BotServices
    from services.desk import DealDesk
    from services.intake.worker import IntakeWorker
    from services.locations import LocationProfile
    from services.pipeline.core import DealPipeline

log = logging.getLogger("dealfinder")

DRY_RUN_LOCATION = "loc_dry_run"


@dataclass(frozen=True)
class LocationParts:
    """What work for one GHL location needs: its client, the mapping and SMS rules, and its
    resolved GHL map (asked of GHL once, `maps.refresh()` to ask again)."""

    location_id: str
    ghl: GHLClient
    config: DealConfig
    rules: NotifyRules
    maps: GHLMapSource

    def ghl_map(self) -> GHLMap:
        return self.maps.get()


class Runtime:
    """One process's parts, each built on first use from `settings` and then kept.

    `engine`, `ghl` (the configured location's client) and `web_client` may be given (tests,
    the sandbox, an import's throw-away dry-run store). Slack is on with SLACK_BOT_TOKEN or a
    given `web_client`; `slack=False` keeps it out (a dry-run import: its store is thrown
    away, so its alerts would never be real).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        engine: Engine | None = None,
        ghl: GHLClient | None = None,
        web_client: WebClient | None = None,
        clock: Callable[[], datetime] = utcnow,
        slack: bool | None = None,
    ) -> None:
        self.settings, self.clock = settings, clock
        has_slack = settings.slack_bot_token is not None or web_client is not None
        self.slack = has_slack if slack is None else slack
        self._owns_engine = engine is None
        if engine is not None:
            self.engine = engine
        if web_client is not None:
            self.web_client = web_client
        self._locations: dict[str, LocationParts] = {}
        self._lock = threading.Lock()
        self._stops: list[Callable[[], None]] = []
        self._given = ghl
        if ghl is not None:
            self._locations[ghl.location_id] = self._parts(ghl)

    # -- configuration, loaded once -------------------------------------------------------

    @cached_property
    def config(self) -> DealConfig:
        """The deal team's GHL map (DEALFINDER_MAPPING_FILE, or the packaged default), with
        GHL_SMS_FROM_NUMBER over its `sms.from_number`."""
        s = self.settings
        return load_deal_config(s.mapping_file, sms_from_number=s.ghl_sms_from_number)

    @cached_property
    def rules(self) -> NotifyRules:
        return load_rules(self.settings.sms_rules_file)

    @cached_property
    def engine(self) -> Engine:
        """The store's engine for DATABASE_URL, migrated to the current schema (Alembic)."""
        from store.db import make_engine, migrate

        engine = make_engine(self.settings.database_url)
        migrate(engine)
        return engine

    # -- GHL, per location ----------------------------------------------------------------

    @property
    def location_id(self) -> str:
        """The GHL location this process works for: the given client's, else the configured
        one (the dry-run one when dry-running)."""
        s = self.settings
        if self._given is not None:
            return self._given.location_id
        if s.dry_run:
            return s.ghl_location_id or DRY_RUN_LOCATION
        s.require("ghl")
        assert s.ghl_location_id is not None
        return s.ghl_location_id

    def location(self, location_id: str | None = None) -> LocationParts:
        """The parts for one location (default: the configured one), built once."""
        location_id = location_id or self.location_id
        with self._lock:
            found = self._locations.get(location_id)
            if found is None:
                found = self._locations[location_id] = self._parts(self._client(location_id))
            return found

    @property
    def ghl(self) -> GHLClient:
        return self.location().ghl

    def _parts(self, client: GHLClient) -> LocationParts:
        config, rules = self.config, self.rules
        home = self._given.location_id if self._given else self.settings.ghl_location_id
        if client.location_id != home:  # another location: its own overrides (issue 14)
            profile = self.profile(client.location_id)  # the same objects when no overrides
            config = self.config if profile.config == self.config else profile.config
            rules = self.rules if profile.rules == self.rules else profile.rules
        return LocationParts(
            location_id=client.location_id, ghl=client, config=config, rules=rules,
            maps=GHLMapSource(client, config),
        )  # fmt: skip

    def profile(self, location_id: str) -> LocationProfile:
        """`location_id`'s profile from the store: its mapping, SMS rules, channels, roles."""
        from services.locations import profile_for
        from store.db import session_scope

        with session_scope(self.engine, readonly=True) as session:
            return profile_for(session, location_id, self.settings)

    def _client(self, location_id: str) -> GHLClient:
        """A GHL client: the in-process emulator (dry run), the app install's per-location
        tokens (OAuth, no private token), or the Private Integration Token — which serves
        GHL_LOCATION_ID only: another location needs the app install (ConfigError otherwise)."""
        s = self.settings
        retry = RetryPolicy(max_retries=s.ghl_max_retries, base_delay=s.ghl_retry_base_delay)
        timeout = (min(5.0, s.ghl_timeout_seconds), s.ghl_timeout_seconds)
        if s.dry_run:
            from ghl.dryrun import dry_run_session

            token = "dry-run-token"  # noqa: S105 - not a secret: the in-process emulator's token
            return GHLClient(
                token=token, location_id=location_id, base_url="http://dry-run.invalid",
                session=dry_run_session(token=token, location_id=location_id), retry=retry,
                timeout=timeout,
            )  # fmt: skip
        own_token = s.ghl_api_key is not None and location_id == s.ghl_location_id
        if not own_token and self.oauth is not None:
            return self.oauth.client_for(location_id)
        s.require("ghl")
        if not own_token:
            raise ConfigError(
                [
                    f"GHL_API_KEY serves GHL_LOCATION_ID ({s.ghl_location_id or 'unset'}) "
                    f"only, not {location_id}: install the GHL app at {location_id} "
                    "(GHL_CLIENT_ID, GHL_CLIENT_SECRET; README, 'Several locations')"
                ]
            )
        assert s.ghl_api_key is not None
        return GHLClient(
            token=s.ghl_api_key.get_secret_value(), location_id=location_id,
            base_url=s.ghl_base_url, rate_backend=make_rate_backend(
                s.ghl_rate_backend, database_url=s.database_url, redis_url=s.redis_url),
            rate_margin=s.ghl_rate_margin, retry=retry, timeout=timeout,
        )  # fmt: skip

    @cached_property
    def oauth(self) -> OAuthParts | None:
        """The GHL app install (token vault, per-location clients), when configured."""
        if not self.settings.oauth_configured:
            return None
        from bot.oauth_wiring import OAuthParts

        return OAuthParts.from_settings(self.settings, engine=self.engine)

    # -- Slack and the services -----------------------------------------------------------

    @cached_property
    def web_client(self) -> WebClient:
        """The bot's Slack Web API client (SLACK_BOT_TOKEN must be set): SLACK_API_URL as base
        URL, 429s and dropped connections retried by slack_sdk's own handlers."""
        from slack_sdk import WebClient
        from slack_sdk.http_retry import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler

        assert self.settings.slack_bot_token is not None
        return WebClient(
            token=self.settings.slack_bot_token.get_secret_value(),
            base_url=self.settings.slack_api_url, timeout=15,
            retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=3),
                            ConnectionErrorRetryHandler(max_retry_count=2)],
        )  # fmt: skip

    @cached_property
    def desk(self) -> DealDesk:
        from services.desk import DealDesk
        from services.matcher import BuyerMatcher

        parts, s = self.location(), self.settings
        matcher = BuyerMatcher(
            engine=self.engine, location_id=parts.location_id, cache_minutes=s.buyer_cache_minutes
        )
        return DealDesk(
            ghl=parts.ghl, engine=self.engine, config=parts.config, rules=parts.rules,
            matcher=matcher, min_score=s.match_min_score, clock=self.clock, maps=parts.maps,
        )  # fmt: skip

    @cached_property
    def alerts(self) -> DealAlerts:
        """The hot-deal cards in Slack (one message per deal across processes)."""
        from bot.slack.alerts import DealAlerts
        from bot.slack.deal_thread import channel_routing

        s, config = self.settings, self.config
        routing = channel_routing(s, config) if config.slack_routing else None
        return DealAlerts(
            self.web_client, self.engine, s.deals_channel, cards=self.desk.card,
            clock=self.clock, routing=routing, location_id=self.location_id,
        )  # fmt: skip

    @cached_property
    def deal_pipeline(self) -> DealPipeline:
        """The process's one deal pipeline: every door (Slack, import, intake, GHL activity)
        goes through it, and its hot-deal hook posts the card when Slack is configured."""
        from services.pipeline.core import DealPipeline

        parts = self.location()
        return DealPipeline(
            parts.ghl, self.engine, parts.config, parts.ghl_map(), clock=self.clock,
            on_hot_deal=[self.alerts.on_hot_deal] if self.slack else [], rules=parts.rules,
        )  # fmt: skip

    @cached_property
    def services(self) -> BotServices:
        """What the Slack listeners use (desk, actions over the one pipeline, alerts, roles)."""
        from bot.slack.app import build_services

        return build_services(
            self.settings, ghl=self.ghl, engine=self.engine, web_client=self.web_client,
            config=self.config, rules=self.rules, clock=self.clock, desk=self.desk,
            alerts=self.alerts, pipeline=lambda: self.deal_pipeline,
        )  # fmt: skip

    def slack_app(self) -> Any:
        """The bolt app over `services` (Bolt checks the bot token with auth.test here)."""
        from bot.slack.app import create_app

        return create_app(self.settings, ghl=self.ghl, engine=self.engine, services=self.services)

    # -- operations: jobs, routes, background threads -------------------------------------

    @cached_property
    def ops(self) -> Ops:
        """The jobs and the operations endpoints; with Slack, over the bot's own alerts and
        pipeline (webhooks this process handles update deal cards)."""
        from bot.ops.wiring import build_ops

        parts = self.location()
        return build_ops(
            self.settings, engine=self.engine, client=parts.ghl, config=parts.config,
            rules=parts.rules, maps=parts.maps, oauth=self.oauth,
            slack_client=self.web_client if self.slack else None,
            alerts=self.alerts if self.slack else None,
            # With Slack, the bot's `DeskActions` over the one pipeline (serialised with
            # Slack's adds); built when first needed (a worker starts while GHL is down).
            pipeline=(lambda: self.services.actions) if self.slack else lambda: self.deal_pipeline,
        )  # fmt: skip

    @cached_property
    def intake_worker(self) -> IntakeWorker:
        """Turns queued intake records into deals through the one pipeline (serialised with
        Slack's adds by `DeskActions`)."""
        from services.intake.worker import IntakeWorker

        return IntakeWorker(
            engine=self.engine, location_id=self.ghl.location_id,
            pipeline=lambda: self.services.actions, clock=self.clock,
        )  # fmt: skip

    def http_routes(self) -> dict[str, Any]:
        """What `serve` mounts beside `/slack/events`: `/ghl/webhooks`, `/readyz`, `/metrics`,
        the OAuth install (when configured) and the intake API (`/api/*`)."""
        from bot.web.intake_wiring import intake_routes

        routes: dict[str, Any] = dict(self.ops.routes())
        if self.oauth is not None:
            routes.update(self.oauth.routes())
        routes.update(intake_routes(self.settings, self.services, worker=self.intake_worker))
        return routes

    def start_background(self) -> None:
        """Finish alerts an earlier run left, then start the jobs and the intake worker."""
        recovered = self.alerts.recover() if self.slack else 0
        if recovered:
            log.info("finished %d deal post(s) an earlier run left unfinished", recovered)
        scheduler = self.ops.scheduler
        scheduler.start()
        self._stops.append(lambda: scheduler.shutdown(wait=True))
        self._stops.append(self.intake_worker.start().stop)

    def stop_background(self) -> None:
        """Stop what `start_background` started, last first (while the pools still exist)."""
        while self._stops:
            self._stops.pop()()

    def close(self) -> None:
        """Stop the background threads; close the GHL clients and the store it built."""
        self.stop_background()
        for parts in self._locations.values():
            if parts.ghl is not self._given:
                parts.ghl.close()
        if self._owns_engine and "engine" in self.__dict__:
            self.engine.dispose()


def open_store(settings: Settings) -> Engine:
    """The store's engine for DATABASE_URL, migrated (for commands that need nothing else)."""
    return Runtime(settings).engine


def client_for_location(
    settings: Settings, location_id: str, *, engine: Engine | None = None
) -> GHLClient:
    """A new GHL client for `location_id` (the caller closes it): dry run, the location's
    private token, or the app install's tokens (`Runtime._client`)."""
    return Runtime(settings, engine=engine)._client(location_id)


def build_runtime(settings: Settings, **given: Any) -> Runtime:
    """The process's `Runtime` (parts built on first use); `given`: see `Runtime`."""
    return Runtime(settings, **given)
