"""The outbox's single-threaded contract on both engines: idempotent enqueue, what is due,
leases, and who may move an item where. Concurrency is in test_store_concurrency.py."""

from datetime import UTC, datetime, timedelta

import pytest

from store import outbox
from store.db import session_scope
from store.models import OutboxStatus

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def add(session, key, **kw):
    item, _ = outbox.enqueue(
        session=session,
        kind=kw.pop("kind", "sms"),
        dedupe_key=key,
        payload=kw.pop("payload", {"key": key}),
        now=kw.pop("now", T0),
        **kw,
    )
    return item


def claim(engine, now=T0, worker="w1", limit=10, lease=60, **kw):
    with session_scope(engine) as session:
        return outbox.claim_due(
            session=session, now=now, worker_id=worker, lease_seconds=lease, limit=limit, **kw
        )


def test_enqueue_is_idempotent_by_dedupe_key(session):
    first, created = outbox.enqueue(
        session=session, kind="sms", dedupe_key="sms:c1:M1", payload={"v": 1}, now=T0
    )
    again, created_again = outbox.enqueue(
        session=session, kind="sms", dedupe_key="sms:c1:M1", payload={"v": 2}, now=T0
    )
    assert (created, created_again) == (True, False)
    assert again.id == first.id and again.payload == {"v": 1}
    assert (first.status, first.attempts, first.created_at) == (OutboxStatus.PENDING, 0, T0)


def test_enqueue_after_the_item_was_sent_does_not_revive_it(engine):
    with session_scope(engine) as session:
        add(session, "k")
    [item] = claim(engine)
    with session_scope(engine) as session:
        outbox.mark_sent(session=session, item_id=item.id, worker_id="w1", result={"id": "m1"})
    with session_scope(engine) as session:
        again, created = outbox.enqueue(session=session, kind="sms", dedupe_key="k", payload={})
    assert not created and again.status == OutboxStatus.SENT and again.result == {"id": "m1"}
    assert claim(engine, now=T0 + timedelta(days=1)) == []


def test_claim_takes_due_items_oldest_first_up_to_the_limit(engine):
    with session_scope(engine) as session:
        for i in range(5):
            add(session, f"k{i}")
        add(session, "later", not_before=T0 + timedelta(minutes=5))
        add(session, "slack", kind="slack_post")
    got = claim(engine, limit=3, lease=900, kinds=["sms"])
    assert [i.dedupe_key for i in got] == ["k0", "k1", "k2"]
    for item in got:
        assert item.status == OutboxStatus.IN_FLIGHT and item.attempts == 1
        assert item.claimed_by == "w1" and item.lease_until == T0 + timedelta(seconds=900)
        assert not item.outcome_unknown
    assert [i.dedupe_key for i in claim(engine, lease=900, kinds=["sms"])] == ["k3", "k4"]
    assert claim(engine, kinds=["sms"]) == []  # "later" is not due yet; in-flight ones are held
    assert [i.dedupe_key for i in claim(engine, now=T0 + timedelta(minutes=5))] == [
        "later",
        "slack",
    ]


def test_expired_lease_is_handed_back_with_who_lost_it(engine):
    with session_scope(engine) as session:
        add(session, "k")
    [first] = claim(engine, worker="crashed", lease=60)
    assert claim(engine, now=T0 + timedelta(seconds=59), worker="w2") == []
    [again] = claim(engine, now=T0 + timedelta(seconds=60), worker="w2")
    assert again.id == first.id
    assert (again.attempts, again.claimed_by, again.reclaimed_from) == (2, "w2", "crashed")
    assert again.outcome_unknown
    with session_scope(engine) as session:
        # The crashed worker comes back late: its report must not override w2's work.
        assert outbox.mark_sent(session=session, item_id=first.id, worker_id="crashed") is None
        done = outbox.mark_sent(session=session, item_id=first.id, worker_id="w2", result={})
    assert done.status == OutboxStatus.SENT and done.lease_until is None


def test_a_clean_retry_is_not_an_unknown_outcome(engine):
    with session_scope(engine) as session:
        add(session, "k")
    [item] = claim(engine)
    retry_at = T0 + timedelta(minutes=2)
    with session_scope(engine) as session:
        failed = outbox.mark_failed(
            session=session, item_id=item.id, worker_id="w1", error="HTTP 503", retry_at=retry_at
        )
    assert (failed.status, failed.not_before, failed.last_error) == (
        OutboxStatus.PENDING,
        retry_at,
        "HTTP 503",
    )
    assert claim(engine, now=retry_at - timedelta(seconds=1)) == []
    [again] = claim(engine, now=retry_at, worker="w2")
    assert again.attempts == 2 and not again.outcome_unknown


def test_mark_failed_without_retry_is_final(engine):
    with session_scope(engine) as session:
        add(session, "k")
    [item] = claim(engine)
    with session_scope(engine) as session:
        failed = outbox.mark_failed(
            session=session, item_id=item.id, worker_id="w1", error="x" * 5000
        )
    assert failed.status == OutboxStatus.FAILED and len(failed.last_error) == 2000
    assert claim(engine, now=T0 + timedelta(days=30)) == []


def test_defer_by_the_holder_gives_back_the_attempt(engine):
    with session_scope(engine) as session:
        add(session, "k")
    [item] = claim(engine)
    until = T0 + timedelta(hours=9)
    with session_scope(engine) as session:
        deferred = outbox.defer(
            session=session, item_id=item.id, worker_id="w1", until=until, reason="quiet hours"
        )
    assert (deferred.status, deferred.attempts, deferred.not_before) == (
        OutboxStatus.DEFERRED,
        0,
        until,
    )
    assert claim(engine, now=until - timedelta(minutes=1)) == []
    [again] = claim(engine, now=until)
    assert again.attempts == 1 and not again.outcome_unknown


def test_only_waiting_items_change_without_a_worker(engine):
    with session_scope(engine) as session:
        held = add(session, "held")
        waiting = add(session, "waiting")
    claim(engine, limit=1)
    with session_scope(engine) as session:
        assert outbox.cancel(session=session, item_id=held.id, reason="opted out") is None
        assert outbox.exclude(session=session, item_id=waiting.id, reason="no phone").status == (
            OutboxStatus.EXCLUDED
        )
        # Once closed, an item stays closed.
        assert outbox.defer(session=session, item_id=waiting.id, until=T0, reason="x") is None
        assert outbox.get_item(session=session, item_id=held.id).status == "in_flight"


def test_cancel_pending_for_a_contact(engine):
    with session_scope(engine) as session:
        add(session, "a1", contact_id="A")
        add(session, "a2", contact_id="A", not_before=T0 + timedelta(hours=1))
        add(session, "a3", contact_id="A", kind="slack_post")
        add(session, "b1", contact_id="B")
    with session_scope(engine) as session:
        in_flight = outbox.enqueue(
            session=session, kind="sms", dedupe_key="a0", payload={}, contact_id="A"
        )[0]
    claim(engine, kinds=["sms"], limit=1)  # a1 is the oldest: it goes in flight
    with session_scope(engine) as session:
        n = outbox.cancel_pending_for(
            session=session, contact_id="A", reason="opted out", kinds=["sms"]
        )
        assert n == 2  # a2 and a0; a1 is in flight, a3 is another kind, b1 another contact
        status = {
            key: outbox.get_by_dedupe_key(session=session, dedupe_key=key).status
            for key in ("a0", "a1", "a2", "a3", "b1")
        }
    assert in_flight.dedupe_key == "a0"
    assert status == {
        "a0": "cancelled",
        "a1": "in_flight",
        "a2": "cancelled",
        "a3": "pending",
        "b1": "pending",
    }


def test_extend_lease(engine):
    with session_scope(engine) as session:
        add(session, "k")
    [item] = claim(engine, lease=60)
    with session_scope(engine) as session:
        longer = T0 + timedelta(minutes=10)
        assert (
            outbox.extend_lease(
                session=session, item_id=item.id, worker_id="w1", until=longer
            ).lease_until
            == longer
        )
        assert (
            outbox.extend_lease(session=session, item_id=item.id, worker_id="w2", until=T0) is None
        )
    assert claim(engine, now=T0 + timedelta(minutes=5), worker="w2") == []


@pytest.mark.parametrize(
    ("now_offset", "expected"),
    [
        (timedelta(0), (1, 0.0)),  # only "due"
        (timedelta(minutes=10), (2, 600.0)),  # "future" is due from T0+5m, "due" since T0
    ],
)
def test_pending_stats(engine, now_offset, expected):
    with session_scope(engine) as session:
        add(session, "due")
        add(session, "future", not_before=T0 + timedelta(minutes=5))
        add(session, "done")
    [done] = claim(engine, kinds=["sms"], limit=1, now=T0 - timedelta(hours=1))
    with session_scope(engine) as session:
        outbox.mark_sent(session=session, item_id=done.id, worker_id="w1")
        assert outbox.pending_stats(session=session, now=T0 + now_offset) == expected


def test_pending_stats_of_an_empty_outbox(session):
    assert outbox.pending_stats(session=session, now=T0) == (0, 0.0)
