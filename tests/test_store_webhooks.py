"""Webhook replay rejection and stored-event processing, and the small keyed state (sync
progress, health checks, alert states, Slack messages), on both engines."""

from datetime import UTC, datetime, timedelta

from store import state, webhooks
from store.db import session_scope
from store.models import HealthState, WebhookEventStatus

T0 = datetime(2024, 7, 1, 9, 0, tzinfo=UTC)


def test_a_webhook_id_is_accepted_once(session):
    assert webhooks.remember_webhook_id(session=session, webhook_id="wh1", now=T0)
    assert not webhooks.remember_webhook_id(session=session, webhook_id="wh1", now=T0)
    assert webhooks.remember_webhook_id(session=session, webhook_id="wh2", now=T0)


def test_prune_forgets_old_ids_only(session):
    webhooks.remember_webhook_id(session=session, webhook_id="old", now=T0)
    webhooks.remember_webhook_id(session=session, webhook_id="new", now=T0 + timedelta(hours=2))
    assert webhooks.prune_webhook_ids(session=session, older_than=T0 + timedelta(hours=1)) == 1
    assert webhooks.remember_webhook_id(session=session, webhook_id="old", now=T0)
    assert not webhooks.remember_webhook_id(session=session, webhook_id="new", now=T0)


def _claim(engine, now=T0, lease=30, limit=10):
    with session_scope(engine) as session:
        return webhooks.claim_webhook_events(
            session=session, now=now, lease_seconds=lease, limit=limit
        )


def test_events_are_claimed_processed_and_retried(engine):
    with session_scope(engine) as session:
        for i in range(3):
            webhooks.record_webhook_event(
                session=session,
                event_type="ContactDndUpdate",
                payload={"n": i},
                webhook_id=f"wh{i}",
                now=T0,
            )
    first = _claim(engine, limit=2)
    assert [e.payload for e in first] == [{"n": 0}, {"n": 1}]
    assert all(e.status == WebhookEventStatus.PROCESSING and e.attempts == 1 for e in first)
    assert [e.payload for e in _claim(engine)] == [{"n": 2}]
    assert _claim(engine) == []
    with session_scope(engine) as session:
        done = webhooks.mark_webhook_processed(session=session, event_id=first[0].id, now=T0)
        assert done.status == WebhookEventStatus.PROCESSED and done.processed_at == T0
        # Processed once is processed: a late second report changes nothing.
        assert webhooks.mark_webhook_processed(session=session, event_id=first[0].id) is None
        retry = webhooks.mark_webhook_failed(
            session=session, event_id=first[1].id, error="GHL 502", retry=True
        )
        assert retry.status == WebhookEventStatus.RECEIVED and retry.last_error == "GHL 502"
    [again] = _claim(engine)
    assert again.id == first[1].id and again.attempts == 2
    with session_scope(engine) as session:
        final = webhooks.mark_webhook_failed(
            session=session, event_id=again.id, error="bad payload", retry=False
        )
    assert final.status == WebhookEventStatus.FAILED


def test_an_event_whose_processor_died_is_claimed_again_after_the_lease(engine):
    with session_scope(engine) as session:
        webhooks.record_webhook_event(session=session, event_type="t", payload={}, now=T0)
    [event] = _claim(engine, lease=30)
    assert _claim(engine, now=T0 + timedelta(seconds=29)) == []
    [again] = _claim(engine, now=T0 + timedelta(seconds=30))
    assert again.id == event.id and again.attempts == 2


def test_sync_state(session):
    assert state.get_sync_state(session=session, key="buyers:L1") is None
    state.set_sync_state(
        session=session, key="buyers:L1", value={"cursor": "a"}, last_synced_at=T0, now=T0
    )
    later = T0 + timedelta(minutes=1)
    got = state.set_sync_state(session=session, key="buyers:L1", value={"cursor": "b"}, now=later)
    assert (got.value, got.last_synced_at, got.updated_at) == ({"cursor": "b"}, T0, later)
    assert state.get_sync_state(session=session, key="buyers:L1").value == {"cursor": "b"}


def test_latest_health_check(session):
    assert state.latest_health_check(session=session) is None
    state.record_health_check(
        session=session, state=HealthState.HEALTHY, details={"ghl": "ok"}, now=T0
    )
    state.record_health_check(
        session=session,
        state=HealthState.DEGRADED,
        details={"ghl": "slow"},
        now=T0 + timedelta(minutes=5),
    )
    state.record_health_check(
        session=session, state=HealthState.DOWN, details={}, now=T0 - timedelta(days=1)
    )
    latest = state.latest_health_check(session=session)
    assert (latest.state, latest.details) == ("degraded", {"ghl": "slow"})


def test_alert_state_since_moves_only_on_change(session):
    assert state.get_alert_state(session=session, key="ghl") is None
    s1 = state.set_alert_state(session=session, key="ghl", state="down", now=T0, alerted=True)
    assert (s1.since, s1.last_alerted_at) == (T0, T0)
    t1 = T0 + timedelta(minutes=5)
    s2 = state.set_alert_state(session=session, key="ghl", state="down", now=t1)
    assert (s2.since, s2.last_alerted_at) == (T0, T0)
    t2 = T0 + timedelta(minutes=9)
    s3 = state.set_alert_state(session=session, key="ghl", state="up", now=t2, alerted=True)
    assert (s3.state, s3.since, s3.last_alerted_at) == ("up", t2, t2)
    assert state.get_alert_state(session=session, key="ghl").state == "up"


def test_slack_message_first_writer_wins_unless_replacing(session):
    assert state.get_slack_message(session=session, key="deal:M1") is None
    mine, stored = state.record_slack_message(
        session=session, key="deal:M1", channel="C1", ts="1.000100", now=T0
    )
    assert stored and (mine.channel, mine.ts) == ("C1", "1.000100")
    theirs, stored = state.record_slack_message(
        session=session, key="deal:M1", channel="C1", ts="2.000200", now=T0
    )
    assert not stored and theirs.ts == "1.000100"
    later = T0 + timedelta(hours=1)
    moved, stored = state.record_slack_message(
        session=session, key="deal:M1", channel="C2", ts="3.0", replace=True, now=later
    )
    assert stored and (moved.channel, moved.ts, moved.created_at, moved.updated_at) == (
        "C2",
        "3.0",
        T0,
        later,
    )
