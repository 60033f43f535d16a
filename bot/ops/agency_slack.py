"""Hot-deal cards from an agency worker (issue 14): each leased location posts its own hot
deals' cards, rendered with its own GHL token and map, in its own deals channel (its profile's
`channels.deals`, or a market's channel from its mapping's `slack_routing`), naming the location
when several are active.

The location's pipeline posts a card the moment a deal turns hot (its hot-deal hook); its
`slack_alerts` job posts what Slack refused earlier or a process without Slack queued (every
`ALERTS_EVERY`). Both take only that location's queued alerts (`services.hot_alerts`), so a
location whose GHL or channel fails never holds up another's cards, and a card is never posted
twice: the outbox and the message map keep one message per deal across processes.

    alerts_for = location_alerts(settings, engine=engine, client_for=client_for, web_client=web)
    alerts_for("loc_b").on_hot_deal(result)
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from bot.settings import Settings
from services.locations import profile_for
from store.db import session_scope

if TYPE_CHECKING:
    from slack_sdk import WebClient

    from bot.slack.alerts import DealAlerts

ALERTS_EVERY = timedelta(seconds=10)


def location_alerts(
    settings: Settings,
    *,
    engine: Engine,
    client_for: Callable[[str], Any],
    web_client: WebClient,
    worker_id: str | None = None,
) -> Callable[[str], DealAlerts]:
    """`location_id -> its DealAlerts`, built from its profile as it is now (a location's
    channels changed with `dealfinder locations set` apply when its thread next starts)."""
    from bot.slack.alerts import DealAlerts
    from bot.slack.deal_thread import channel_routing
    from services.desk import DealDesk
    from services.matcher import BuyerMatcher

    def build(location_id: str) -> DealAlerts:
        client = client_for(location_id)
        with session_scope(engine, readonly=True) as session:
            profile = profile_for(session, location_id, settings)
        config = profile.config
        own = settings.model_copy(
            update={
                "deals_channel": profile.deals_channel,
                "ops_channel": profile.ops_channel,
                "replies_channel_setting": profile.replies_channel,
            }
        )
        matcher = BuyerMatcher(
            engine=engine, location_id=location_id, cache_minutes=settings.buyer_cache_minutes
        )
        desk = DealDesk(
            ghl=client, engine=engine, config=config, rules=profile.rules, matcher=matcher,
            min_score=settings.match_min_score, home_location=settings.ghl_location_id,
        )  # fmt: skip
        return DealAlerts(
            web_client, engine, profile.deals_channel, cards=desk.card, location_id=location_id,
            routing=channel_routing(own, config) if config.slack_routing else None,
            worker_id=f"{worker_id}:{location_id}"[:128] if worker_id else None,
        )  # fmt: skip

    return build
