"""The Slack app: a bolt `App` with the services injected and every listener registered.

    runtime = build_runtime(settings)             # bot.runtime: builds and shares the parts
    services = runtime.services                   # build_services(...) over them
    app = runtime.slack_app()                     # create_app(settings, ..., services=services)
    services.alerts.post_or_update(card)          # hot-deal alerts, also outside a request

Listeners ack first and run their work after the ack (bolt lazy listeners with
`process_before_response=False`, handing the work to the services' own pool), so every command
and click is acknowledged well inside Slack's 3 seconds however slow or rate-limited GHL is.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from sqlalchemy import Engine

from bot.settings import Settings
from bot.slack.alerts import DealAlerts
from bot.slack.deal_thread import DealThread, channel_routing
from bot.slack.home.tab import HomeTab
from bot.slack.listeners import register_listeners
from bot.slack.locations import LocationDesks, location_services_factory
from bot.slack.people import PeopleDirectory
from bot.slack.reply_threads import ReplyThreads
from bot.slack.roles import (
    EXAMPLE_ROLES_FILE,
    RoleDirectory,
    role_middleware,
    slack_group_members,
)
from bot.slack.unfurls import LinkPreviews
from ghl.client import GHLClient
from matching.notify import NotifyRules
from services.config import DealConfig
from services.desk import DealDesk
from services.desk_actions import DeskActions
from services.matcher import BuyerMatcher
from services.pipeline.core import DealPipeline
from store.types import utcnow

ACK_THREADS = 16  # bolt runs ack functions here: quick, never behind slow work
WORK_THREADS = 32  # the work after the acks (GHL calls, matching, texting)


@dataclass
class BotServices:
    """Everything the listeners use, built once per process and shared by every request."""

    settings: Settings
    ghl: GHLClient
    engine: Engine
    config: DealConfig
    rules: NotifyRules
    desk: DealDesk
    actions: DeskActions
    alerts: DealAlerts
    roles: RoleDirectory
    clock: Callable[[], datetime]
    work: ThreadPoolExecutor
    home: HomeTab | None = None  # the App Home tab (views.publish), refreshed on claims
    previews: LinkPreviews | None = None  # previews of pasted GHL links (chat.unfurl)
    # Each deal's one thread (claims, stage moves, SMS batches): `bot.slack.deal_thread`.
    deal_thread: DealThread | None = None
    # The other locations' services, for commands in their channels (issue 14).
    locations: LocationDesks | None = None

    def close(self, *, wait: bool = True) -> None:
        """Stop taking work after acks; with `wait`, let the running work finish first."""
        if self.home is not None:
            self.home.close()
        if self.locations is not None:
            self.locations.close()
        self.work.shutdown(wait=wait)

    def __deepcopy__(self, memo: dict[int, Any]) -> BotServices:
        # Bolt deep-copies the request context for lazy listeners; clients, engines and locks
        # must be shared, not copied.
        return self


def make_web_client(settings: Settings) -> WebClient:
    """The bot's Slack Web API client (`bot.runtime.Runtime.web_client`), once the settings
    the bot needs are there."""
    from bot.runtime import Runtime

    settings.require("socket" if settings.slack_signing_secret is None else "slack")
    return Runtime(settings).web_client


def build_services(
    settings: Settings,
    *,
    ghl: GHLClient,
    engine: Engine,
    web_client: WebClient,
    config: DealConfig | None = None,
    rules: NotifyRules | None = None,
    clock: Callable[[], datetime] = utcnow,
    desk: DealDesk | None = None,
    alerts: DealAlerts | None = None,
    pipeline: Callable[[], DealPipeline] | None = None,
) -> BotServices:
    """Wire the desk, its actions, the alerts and the roles.

    `bot.runtime.Runtime.services` passes the parts it shares with the rest of the process
    (config, rules, desk, alerts and the one deal pipeline); what is not given is built here
    (config and rules through a `Runtime` of `settings`).
    """
    if config is None or rules is None:
        from bot.runtime import Runtime

        loaded = Runtime(settings)
        config, rules = config or loaded.config, rules or loaded.rules
    roles_file = settings.roles_file or (EXAMPLE_ROLES_FILE if settings.dry_run else None)
    roles = RoleDirectory.from_file(roles_file, group_members=slack_group_members(web_client))
    roles.people = PeopleDirectory(engine).ghl_email  # email match; the roles file overrides
    if desk is None:
        matcher = BuyerMatcher(
            engine=engine, location_id=ghl.location_id, cache_minutes=settings.buyer_cache_minutes
        )
        desk = DealDesk(
            ghl=ghl, engine=engine, config=config, rules=rules, matcher=matcher,
            min_score=settings.match_min_score, clock=clock,
            home_location=settings.ghl_location_id,
        )  # fmt: skip
    routing = channel_routing(settings, config) if config.slack_routing else None
    alerts = alerts or DealAlerts(
        web_client, engine, settings.deals_channel, cards=desk.card, clock=clock, routing=routing,
        location_id=ghl.location_id,
    )  # fmt: skip
    deal_thread = DealThread(
        replies=ReplyThreads(
            client=web_client, engine=engine, channel=settings.replies_channel,
            cards=desk.card, card_message=alerts.message_for, clock=clock, routing=routing,
        )
    )  # fmt: skip
    work = ThreadPoolExecutor(WORK_THREADS, thread_name_prefix="dealfinder-work")
    home = HomeTab(desk=desk, roles=roles, client=web_client, work=work, clock=clock)
    previews = LinkPreviews(
        desk=desk, client=web_client, domains=settings.app_domains, clock=clock, work=work
    )
    actions = DeskActions(
        desk, on_hot_deal=[alerts.on_hot_deal], pipeline=pipeline,
        on_claim=[home.on_claim, previews.on_claim, deal_thread.on_claim],
        on_notified=[deal_thread.on_notified],
    )  # fmt: skip
    return BotServices(
        settings=settings, ghl=ghl, engine=engine, config=config, rules=rules, desk=desk,
        actions=actions, alerts=alerts, roles=roles, clock=clock, work=work, home=home,
        previews=previews, deal_thread=deal_thread,
    )  # fmt: skip


def inject_services(services: BotServices) -> Callable[..., None]:
    """Bolt global middleware: `context["services"]` in every listener."""

    def attach_services(context: Any, next: Callable[[], None]) -> None:
        context["services"] = services
        next()

    return attach_services


def create_app(
    settings: Settings,
    *,
    ghl: GHLClient,
    engine: Engine,
    services: BotServices | None = None,
    web_client: WebClient | None = None,
    listener_executor: Executor | None = None,
) -> App:
    """The bolt app for HTTP or Socket Mode; request signatures are verified in HTTP mode.

    Needs SLACK_BOT_TOKEN, and SLACK_SIGNING_SECRET unless only Socket Mode is used.
    """
    client = web_client or (services.alerts.client if services else make_web_client(settings))
    services = services or build_services(settings, ghl=ghl, engine=engine, web_client=client)
    if services.locations is None:
        build = location_services_factory(services, client)
        services.locations = LocationDesks(default=services, build=build)
        # Another location's deal card is rendered and posted by its own location's alerts.
        services.alerts.others = services.locations
    secret = settings.slack_signing_secret
    app = App(
        client=client,
        # Socket Mode alone needs no signing secret, but bolt would still verify HTTP requests
        # with an empty key, which anyone can sign with; a random key refuses them all.
        signing_secret=secret.get_secret_value() if secret else secrets.token_hex(32),
        process_before_response=False,
        # Bolt runs ack functions and lazy listeners on this pool; our lazy listeners only hand
        # their work to `services.work`, so an ack never queues behind GHL calls (which the
        # GHL rate limit can make wait for seconds under a burst).
        listener_executor=listener_executor
        or ThreadPoolExecutor(ACK_THREADS, thread_name_prefix="slack-ack"),
        # Not "dealfinder": bolt fetches `logging.getLogger(name)` and pins its level to the
        # root's at this moment (slack_bolt.logger._configure_from_root), which would freeze
        # our own "dealfinder" logger at whatever level the root had when the app was built.
        name="dealfinder-bolt",
    )
    app.use(inject_services(services))
    app.use(role_middleware(services.roles))
    register_listeners(app)
    return app
