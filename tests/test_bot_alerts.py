"""Hot-deal alerts: one Slack message per deal, on SQLite and PostgreSQL — updated in place on
a retry or a restart, adopted (not re-posted) after a crash between posting and recording, and
one message even when two instances post the same deal at the same moment."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk import WebClient
from slack_sdk.http_retry import RateLimitErrorRetryHandler
from sqlalchemy import Engine

from bot.slack.alerts import LEASE_SECONDS, DealAlerts, MessageRef, message_key, post_key
from sandbox.slack_fake import BOT_TOKEN, SlackFake
from services.desk import DealCard
from store import outbox
from store.db import session_scope
from store.models import OutboxStatus
from store.state import get_slack_message

LOC = "loc_alerts"


class Clock:
    """Our clock, starting at the real now so Slack's message timestamps agree with it."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


class Crash(Exception):
    """Stands for the process dying at a checkpoint."""


def card(mls_id: str = "TPA-1", **changes: object) -> DealCard:
    values: dict = {"mls_id": mls_id, "address": "12 Oak St", "city": "Tampa", "state": "FL",
                    "price": 245_000, "score": 93, "hot": True, "stage": "Hot Deal"}  # fmt: skip
    values.update(changes)
    return DealCard(**values)


@pytest.fixture
def web(slack_fake: SlackFake) -> WebClient:
    return WebClient(
        token=BOT_TOKEN,
        base_url=slack_fake.api_url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=3)],
    )


def alerts_for(web: WebClient, engine: Engine, clock: Clock, cards: dict[str, DealCard],
               channel: str = "C0DEALS", **kw: object) -> DealAlerts:  # fmt: skip
    return DealAlerts(web, engine, channel, cards=cards.get, clock=clock, location_id=LOC, **kw)  # type: ignore[arg-type]


def deal_messages(slack_fake: SlackFake, mls_id: str) -> list:
    return [m for m in slack_fake.messages("C0DEALS") if f"deal:{mls_id}" in str(m.blocks)]


def test_posts_once_then_updates_in_place(slack_fake: SlackFake, web: WebClient,
                                          engine: Engine) -> None:  # fmt: skip
    clock, cards = Clock(), {"TPA-1": card()}
    alerts = alerts_for(web, engine, clock, cards)
    first = alerts.post_or_update(cards["TPA-1"])
    cards["TPA-1"] = card(stage="Under Contract", claimed_by="U0BROKER1")
    again = alerts.post_or_update(cards["TPA-1"])
    restarted = alerts_for(web, engine, clock, cards)  # a new process, same store
    assert restarted.refresh("TPA-1") is True
    assert first == again and first is not None
    [message] = deal_messages(slack_fake, "TPA-1")
    assert "Under Contract" in str(message.blocks) and "<@U0BROKER1>" in str(message.blocks)
    assert len(slack_fake.calls_to("chat.postMessage")) == 1
    assert len(slack_fake.calls_to("chat.update")) == 2
    with session_scope(engine, readonly=True) as session:
        stored = get_slack_message(session=session, key=message_key(LOC, "TPA-1"))
        item = outbox.get_by_dedupe_key(session=session, dedupe_key=post_key(LOC, "TPA-1"))
    assert stored is not None and (stored.channel, stored.ts) == (first.channel, first.ts)
    assert item is not None and item.status == OutboxStatus.SENT


def test_a_crash_after_posting_is_recovered_without_a_second_post(
    slack_fake: SlackFake, web: WebClient, engine: Engine
) -> None:
    clock, cards = Clock(), {"TPA-1": card()}

    def die(point: str, mls_id: str) -> None:
        raise Crash(f"killed at {point}")

    crashing = alerts_for(web, engine, clock, cards, checkpoint=die)
    with pytest.raises(Crash):
        crashing.post_or_update(cards["TPA-1"])
    assert len(deal_messages(slack_fake, "TPA-1")) == 1  # Slack has it; the map does not
    restarted = alerts_for(web, engine, clock, cards)
    assert restarted.post_or_update(cards["TPA-1"]) is None  # the dead run's lease still holds
    clock.now += timedelta(seconds=LEASE_SECONDS + 1)
    assert restarted.recover() == 1
    [message] = deal_messages(slack_fake, "TPA-1")
    assert restarted.message_for("TPA-1") == MessageRef(message.channel, message.ts)
    assert len(slack_fake.calls_to("chat.postMessage")) == 1
    assert len(slack_fake.calls_to("conversations.history")) == 1
    assert restarted.post_or_update(card(stage="Showing Booked")) is not None
    assert "Showing Booked" in str(deal_messages(slack_fake, "TPA-1")[0].blocks)


def test_a_failed_post_is_retried_after_looking_in_the_channel(
    slack_fake: SlackFake, web: WebClient, engine: Engine
) -> None:
    clock, cards = Clock(), {"TPA-1": card()}
    alerts = alerts_for(web, engine, clock, cards)
    slack_fake.queue_fault("chat.postMessage", "server_error", times=1)
    assert alerts.post_or_update(cards["TPA-1"]) is None
    with session_scope(engine, readonly=True) as session:
        item = outbox.get_by_dedupe_key(session=session, dedupe_key=post_key(LOC, "TPA-1"))
    assert item is not None and item.status == OutboxStatus.PENDING and item.last_error
    clock.now += timedelta(minutes=2)
    assert alerts.recover() == 1
    assert len(deal_messages(slack_fake, "TPA-1")) == 1
    assert len(slack_fake.calls_to("conversations.history")) == 1  # looked before posting


def test_two_instances_posting_at_once_leave_one_message(
    slack_fake: SlackFake, web: WebClient, engine: Engine
) -> None:
    clock, cards = Clock(), {f"TPA-{i}": card(f"TPA-{i}") for i in range(3)}
    instances = [alerts_for(web, engine, clock, cards) for _ in range(2)]
    start = threading.Barrier(2)

    def post(alerts: DealAlerts) -> None:
        start.wait()
        for mls_id in cards:
            alerts.post_or_update(cards[mls_id])

    threads = [threading.Thread(target=post, args=(a,)) for a in instances]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    for mls_id in cards:
        assert len(deal_messages(slack_fake, mls_id)) == 1, mls_id


def test_a_message_deleted_in_slack_is_posted_again(
    slack_fake: SlackFake, web: WebClient, engine: Engine
) -> None:
    clock, cards = Clock(), {"TPA-1": card()}
    alerts = alerts_for(web, engine, clock, cards)
    first = alerts.post_or_update(cards["TPA-1"])
    assert first is not None
    web.chat_delete(channel=first.channel, ts=first.ts)
    slack_fake.expect_rejection("message_not_found", method="chat.update")
    assert alerts.refresh("TPA-1") is True
    [message] = deal_messages(slack_fake, "TPA-1")
    assert alerts.message_for("TPA-1") == MessageRef(message.channel, message.ts) != first


def test_thread_replies_go_under_the_deal_and_are_shown_literally(
    slack_fake: SlackFake, web: WebClient, engine: Engine
) -> None:
    clock, cards = Clock(), {"TPA-1": card()}
    alerts = alerts_for(web, engine, clock, cards)
    assert alerts.post_thread_reply("TPA-1", "nothing posted yet") is None
    posted = alerts.post_or_update(cards["TPA-1"])
    assert posted is not None
    assert alerts.post_thread_reply("TPA-1", "Buyer replied: <!channel> call me & now")
    [reply] = slack_fake.replies("C0DEALS", posted.ts)
    assert reply.text == "Buyer replied: &lt;!channel&gt; call me &amp; now"
    assert alerts.refresh("TPA-404") is False


def test_a_channel_given_by_name_is_remembered_for_recovery(
    slack_fake: SlackFake, web: WebClient, engine: Engine
) -> None:
    clock, cards = Clock(), {"TPA-1": card(), "TPA-2": card("TPA-2")}
    alerts_for(web, engine, clock, cards, channel="#deals").post_or_update(cards["TPA-1"])

    def die(point: str, mls_id: str) -> None:
        raise Crash(point)

    with pytest.raises(Crash):
        alerts_for(web, engine, clock, cards, channel="#deals", checkpoint=die).post_or_update(
            cards["TPA-2"]
        )
    clock.now += timedelta(seconds=LEASE_SECONDS + 1)
    assert alerts_for(web, engine, clock, cards, channel="#deals").recover() == 1
    assert len(deal_messages(slack_fake, "TPA-2")) == 1
    assert len(slack_fake.calls_to("chat.postMessage")) == 2


def test_a_post_for_a_deal_not_in_the_store_yet_is_retried_not_dropped(
    slack_fake: SlackFake, web: WebClient, engine: Engine
) -> None:
    clock, cards = Clock(), {}
    with session_scope(engine) as session:  # an intent left by another process
        outbox.enqueue(session=session, kind="slack_post", dedupe_key=post_key(LOC, "TPA-9"),
                       payload={"mls_id": "TPA-9", "channel": "C0DEALS"}, now=clock())  # fmt: skip
    alerts = alerts_for(web, engine, clock, cards)
    assert alerts.recover() == 1
    assert slack_fake.messages("C0DEALS") == []
    cards["TPA-9"] = card("TPA-9")
    assert alerts.recover() == 0  # not due yet
    clock.now += timedelta(hours=1, seconds=1)
    assert alerts.recover() == 1
    assert len(deal_messages(slack_fake, "TPA-9")) == 1
