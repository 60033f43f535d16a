"""Which Slack channel hears about a deal: per event type and per market, a pure policy.

The mapping file's optional ``slack_routing`` section (loaded with the rest of the map by
`services.config`) names a channel per event type, and per market (state / city / ZIP
prefix) channels that win over those for the deals in that market. Without the section the
settings apply exactly as before: SLACK_DEALS_CHANNEL (hot deals), SLACK_REPLIES_CHANNEL
(buyers' replies), SLACK_OPS_CHANNEL (ops), and good deals are not posted.

    routing = resolve_routing(config.slack_routing, deals="#deals", replies="#deals",
                              ops="#ops-alerts")
    route(event="hot_deal", deal=card, routing=routing)     # "#deals-fl" for a Tampa deal
    route(event="good_deal", deal=card, routing=routing)    # None: not posted
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

Event = Literal["hot_deal", "good_deal", "buyer_reply", "ops"]
EVENTS: tuple[Event, ...] = ("hot_deal", "good_deal", "buyer_reply", "ops")
# A channel by name ("#deals-fl") or by id ("C0123ABCD"); Slack names are lower case,
# at most 80 characters, letters, digits, hyphens and underscores (conversations.create).
CHANNEL = re.compile(r"#[a-z0-9][a-z0-9_-]{0,79}|[CG][A-Z0-9]{6,}")
# Events a person must always hear about somewhere: they cannot be switched off.
ALWAYS_POSTED: tuple[Event, ...] = ("hot_deal", "buyer_reply", "ops")


class DealPlace(Protocol):
    """Where a deal is (`services.desk.DealCard`, a frozen dataclass, has these)."""

    @property
    def state(self) -> str | None: ...
    @property
    def city(self) -> str | None: ...
    @property
    def zip(self) -> str | None: ...


def _channel(value: str | None) -> str | None:
    if value is not None and not CHANNEL.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a Slack channel: use '#name' (lower case) or a channel id "
            "like C0123ABCD"
        )
    return value


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MarketRoute(_Model):
    """Channels for the deals of one market; the most specific matching market wins."""

    state: str | None = None
    city: str | None = None
    zip_prefix: str | None = None
    channels: dict[Event, str]

    @field_validator("state")
    @classmethod
    def _state(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Za-z]{2}", value):
            raise ValueError("must be a two-letter state code like FL")
        return value.upper() if value else value

    @field_validator("zip_prefix")
    @classmethod
    def _zip(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"\d{1,5}", value):
            raise ValueError("must be 1 to 5 digits, like 336 or 33602")
        return value

    @field_validator("channels")
    @classmethod
    def _channels(cls, value: dict[Event, str]) -> dict[Event, str]:
        for channel in value.values():
            _channel(channel)
        return value

    @model_validator(mode="after")
    def _names_a_market(self) -> MarketRoute:
        if not (self.state or self.city or self.zip_prefix):
            raise ValueError("a market needs a state, a city or a zip_prefix")
        if not self.channels:
            raise ValueError("a market needs at least one channel in channels")
        return self

    def specificity(self) -> tuple[int, int]:
        """ZIP (longer prefix first) > city > state; ties: the first listed wins."""
        if self.zip_prefix:
            return (3, len(self.zip_prefix))
        return (2, 0) if self.city else (1, 0)

    def matches(self, deal: DealPlace) -> bool:
        if self.zip_prefix and not (deal.zip or "").strip().startswith(self.zip_prefix):
            return False
        if self.city and (deal.city or "").strip().lower() != self.city.strip().lower():
            return False
        return not (self.state and (deal.state or "").strip().upper() != self.state)


class SlackRoutingSpec(_Model):
    """The mapping file's ``slack_routing`` section, as written."""

    model_config = ConfigDict(extra="ignore", frozen=True)  # allow "_comment"

    events: dict[Event, str | None] = {}
    markets: list[MarketRoute] = []

    @field_validator("events")
    @classmethod
    def _events(cls, value: dict[Event, str | None]) -> dict[Event, str | None]:
        for event, channel in value.items():
            if channel is None and event in ALWAYS_POSTED:
                raise ValueError(f"{event} needs a channel (only good_deal may be null)")
            _channel(channel)
        return value


@dataclass(frozen=True)
class ChannelRouting:
    """The routing in force: defaults per event (section over settings) and the markets."""

    events: dict[str, str | None]
    markets: tuple[MarketRoute, ...] = ()


def resolve_routing(
    spec: SlackRoutingSpec | None, *, deals: str, replies: str, ops: str
) -> ChannelRouting:
    """The section's channels over the settings' (SLACK_DEALS/REPLIES/OPS_CHANNEL)."""
    events: dict[str, str | None] = {
        "hot_deal": deals, "good_deal": None, "buyer_reply": replies, "ops": ops,
    }  # fmt: skip
    if spec is None:
        return ChannelRouting(events)
    overrides: dict[str, str | None] = dict(spec.events.items())  # Event keys, as plain str
    return ChannelRouting(events | overrides, tuple(spec.markets))


def route(*, event: Event, deal: DealPlace | None, routing: ChannelRouting) -> str | None:
    """The channel for `event` about `deal` (None: not posted). The most specific market
    that names a channel for the event wins; else the event's default."""
    if deal is not None:
        found = [m for m in routing.markets if event in m.channels and m.matches(deal)]
        if found:
            best = max(found, key=lambda m: m.specificity())  # max keeps the first of ties
            return best.channels[event]
    return routing.events.get(event)
