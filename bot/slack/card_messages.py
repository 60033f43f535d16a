"""Where a deal's card lives in Slack, and how a card a crash left unrecorded is found again.

The store's Slack message map holds each location's card of a deal under
``deal:{location_id}:{mls_id}`` (`message_key`). A card posted just before a crash is not in
the map yet; the next attempt looks through the channel's history (`find_card`) for a
message carrying the card's metadata (or, for cards posted before metadata, its block id).
A channel configured by name ("#deals") needs its id for that: the id Slack answered a post
with is kept (`remember_channel_id`, `known_channel_id`).

    ref = MessageRef("C0DEALS", "1700000000.000100")
    ts = find_card(client, "C0DEALS", mls_id="TPA-1", location_id="loc", since=when)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_sdk import WebClient
from sqlalchemy import Engine

from bot.slack.blocks import card_block_id
from services.hot_alerts import alert_key, card_key
from store import state as store_state
from store.db import session_scope

METADATA_EVENT = "dealfinder_deal"
HISTORY_PAGES = 10


@dataclass(frozen=True)
class MessageRef:
    """Where a deal's message lives in Slack."""

    channel: str
    ts: str


def message_key(location_id: str, mls_id: str) -> str:
    return card_key(location_id, mls_id)


def post_key(location_id: str, mls_id: str) -> str:
    return alert_key(location_id, mls_id)


def channel_key(name: str) -> str:
    return f"slack_channel:{name}"


def is_channel_id(channel: str) -> bool:
    return channel[:1] in ("C", "G") and channel.isalnum() and channel.isupper()


def remember_channel_id(engine: Engine, channel: str, posted: MessageRef, *, now: datetime) -> None:
    """A channel configured by name ("#deals"): keep the id Slack posted to, which
    conversations.history needs to find a lost post after a restart."""
    if posted.channel == channel:
        return
    with session_scope(engine) as session:
        store_state.set_sync_state(
            session=session, key=channel_key(channel), value={"id": posted.channel}, now=now
        )


def known_channel_id(engine: Engine, channel: str) -> str | None:
    """The channel's id: itself when it is one, else the id a post to it was answered with."""
    if is_channel_id(channel):
        return channel
    with session_scope(engine, readonly=True) as session:
        known = store_state.get_sync_state(session=session, key=channel_key(channel))
        return str(known.value.get("id")) if known else None


def card_metadata(mls_id: str, location_id: str) -> dict[str, Any]:
    """The message metadata a card is posted with: how `find_card` knows it later."""
    return {"event_type": METADATA_EVENT,
            "event_payload": {"mls_id": mls_id, "location_id": location_id}}  # fmt: skip


def names_deal(message: dict[str, Any], mls_id: str, location_id: str) -> bool:
    """Whether a channel message is this location's card of this deal (posted by us, found
    after a crash); another location's card of the same listing is not."""
    payload = (message.get("metadata") or {}).get("event_payload") or {}
    if payload.get("mls_id"):
        posted_for = payload.get("location_id", location_id)  # older cards: no location
        return bool(payload["mls_id"] == mls_id and posted_for == location_id)
    return any(
        block.get("block_id") == card_block_id(mls_id) for block in message.get("blocks") or []
    )


def find_card(
    client: WebClient, channel_id: str, *, mls_id: str, location_id: str, since: datetime
) -> str | None:
    """The ts of the location's card of the deal posted in the channel since `since`, or
    None."""
    return find_message(
        client, channel_id, since=since,
        matches=lambda message: names_deal(message, mls_id, location_id),
    )  # fmt: skip


def find_message(
    client: WebClient,
    channel_id: str,
    *,
    since: datetime,
    matches: Callable[[dict[str, Any]], bool],
) -> str | None:
    """The ts of the first message since `since` that `matches`, or None (up to
    `HISTORY_PAGES` pages of the channel's history, metadata included)."""
    cursor = None
    for _ in range(HISTORY_PAGES):
        page = client.conversations_history(
            channel=channel_id, oldest=f"{since.timestamp():.6f}", limit=200, cursor=cursor,
            include_all_metadata=True,
        )  # fmt: skip
        for message in page.get("messages") or []:
            if matches(message):
                return str(message["ts"])
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return None
    return None
