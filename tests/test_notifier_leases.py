"""A claimed text is never sent by a worker that may have lost it: the lease is renewed right
before the send, a run stops starting items once half the lease has passed, and with a clock
each item is judged at the time it really starts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.notify.notifier import deliver_due
from store.models import OutboxStatus

NOW = datetime(2027, 1, 15, 15, 0, tzinfo=UTC)


def run(world, now, **kw):
    kw.setdefault("worker_id", "w1")
    kw.setdefault("limit", 10)
    return deliver_due(
        engine=world.engine,
        client=world.client,
        rules=world.rules,
        config=world.config,
        now=now,
        **kw,
    )


def test_a_worker_that_lost_its_lease_before_the_send_does_not_send(notify_world):
    world = notify_world
    buyer = world.add_buyer()
    world.notify(world.facts("MLS1"), [buyer], now=NOW)
    taken_over = []

    def stall(point, item):
        # The first worker stalls past its lease; a second worker takes the item and sends it.
        if point == "reserved" and not taken_over:
            taken_over.append(run(world, NOW + timedelta(minutes=3), worker_id="w2"))

    report = run(world, NOW, checkpoint=stall)
    assert report.counts == {"lost": 1}
    assert taken_over[0].counts == {"sent": 1}
    assert len(world.texts(buyer)) == 1
    item = world.item(buyer, "MLS1")
    assert item.status == OutboxStatus.SENT and item.claimed_by == "w2"


def test_items_not_started_within_half_the_lease_go_back_to_the_queue(notify_world):
    world = notify_world
    first, second = world.add_buyer(), world.add_buyer(first_name="Bo")
    world.notify(world.facts("MLS1"), [first, second], now=NOW)
    report = run(world, NOW, lease_seconds=0.001)  # any real time at all is past half of it
    assert report.counts == {"deferred": 2}
    assert all(o.detail.startswith("run_budget: ") for o in report.outcomes)
    assert world.texts() == []
    items = world.items(kind="sms")
    assert all(i.status == OutboxStatus.DEFERRED and i.not_before == NOW for i in items)
    assert all(i.attempts == 0 for i in items)  # the claim's attempt was given back
    world.deliver_all(NOW)
    assert len(world.texts()) == 2


def test_with_a_clock_each_item_is_judged_when_it_starts(notify_world):
    world = notify_world
    buyer = world.add_buyer()
    evening = datetime(2027, 1, 16, 1, 59, 59, tzinfo=UTC)  # 20:59:59 in New York
    world.notify(world.facts("MLS1"), [buyer], now=evening)
    ticks = iter([evening, evening + timedelta(seconds=1)])  # the claim, then the item

    report = run(world, evening, clock=lambda: next(ticks))
    (outcome,) = report.outcomes
    assert outcome.status == "deferred"
    assert outcome.until == datetime(2027, 1, 16, 13, 0, tzinfo=UTC)
    assert world.texts() == []


def test_a_cap_filled_between_the_check_and_the_reservation_defers_the_text(notify_world):
    """The policy said "send" (0 of 3 sent), then another worker sent three texts before this
    one took its slot: the reservation fails and the text waits for the first to age out."""
    world = notify_world
    buyer = world.add_buyer()
    for mls in ("A", "B", "C", "D"):
        world.notify(world.facts(mls), [buyer], now=NOW)
    others = []

    def meanwhile(point, item):
        if point == "checked" and not others:
            others.append(run(world, NOW, worker_id="w2"))

    (outcome,) = run(world, NOW, limit=1, checkpoint=meanwhile).outcomes
    assert others[0].counts == {"sent": 3}
    assert outcome.status == "deferred" and outcome.detail.startswith("daily_cap: ")
    assert outcome.until == NOW + timedelta(hours=24)
    assert len(world.texts(buyer)) == 3
