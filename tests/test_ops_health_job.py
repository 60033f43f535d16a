"""The health check job end to end: the real store, the GHL emulator, the Slack fake's
#ops-alerts. Time is frozen and moved with freezegun (the emulator and the fake read it too)."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta

from freezegun import freeze_time
from sqlmodel import select

from bot.ops.health import HealthMonitor
from bot.ops.health_alerts import DOWN, HEALTHY
from bot.ops.lease import TickLease
from bot.ops.scheduler import JobRunner, JobSpec
from bot.ops.wiring import slack_poster
from store import outbox
from store.db import make_engine, session_scope
from store.models import AlertState, HealthCheck

# Until tests.fixtures.ops is listed in conftest.py's pytest_plugins.


def now() -> datetime:
    return datetime.now(UTC)


def monitor_for(world, **kw) -> HealthMonitor:
    kw.setdefault("post", slack_poster(world.web, "#ops-alerts"))
    return HealthMonitor(engine=world.engine, client=world.client, **kw)


def stuck_item(world, *, waiting: timedelta) -> int:
    with session_scope(world.engine) as session:
        since = now() - waiting
        item, _ = outbox.enqueue(
            session=session,
            kind="sms",
            dedupe_key="sms:c1:MLS1",
            payload={},
            not_before=since,
            now=since,
        )
    return item.id


def test_healthy_degraded_down_reminder_and_recovery(ops_world):
    world = ops_world
    with freeze_time("2027-01-15 15:00") as frozen:
        world.mark_synced(now())
        monitor = monitor_for(world)
        assert monitor.run(now()).state == HEALTHY
        assert world.ops_messages() == []

        frozen.move_to("2027-01-15 15:05")
        item_id = stuck_item(world, waiting=timedelta(minutes=41))
        report = monitor.run(now())
        assert report.state == "degraded" and report.posted is True
        (alert,) = world.ops_messages()
        assert "*DealFinder is DEGRADED* (since 2027-01-15 15:05 UTC)" in alert
        assert "Outbox" in alert and "the oldest waiting 41 min" in alert
        assert "Fix: texts or GHL writes are not going out" in alert

        frozen.move_to("2027-01-15 15:10")
        world.revoke_token()
        assert monitor.run(now()).state == DOWN
        down = world.ops_messages()[-1]
        assert "*DealFinder is DOWN* (since 2027-01-15 15:10 UTC)" in down
        assert "GHL API" in down and "GHL_API_KEY" in down

        for minute in (15, 30, 45, 65):  # still down: quiet until the hourly reminder
            frozen.move_to(f"2027-01-15 {15 + minute // 60}:{minute % 60:02d}")
            monitor.run(now())
        frozen.move_to("2027-01-15 16:10")
        monitor.run(now())
        assert len(world.ops_messages()) == 3
        assert "*Still DOWN* since 2027-01-15 15:10 UTC (1 h)" in world.ops_messages()[-1]

        frozen.move_to("2027-01-15 16:15")
        world.restore_token()
        with session_scope(world.engine) as session:
            outbox.cancel(session=session, item_id=item_id, reason="test: cleared")
        assert monitor.run(now()).state == HEALTHY
        recovery = world.ops_messages()[-1]
        assert "*DealFinder recovered*: healthy again after 1 h 10 min" in recovery
        frozen.move_to("2027-01-15 16:20")
        monitor.run(now())
    assert len(world.ops_messages()) == 4
    with session_scope(world.engine, readonly=True) as session:
        checks = session.exec(select(HealthCheck)).all()
        health = session.get(AlertState, "health")
    assert [c.state for c in checks][:4] == ["healthy", "degraded", "down", "down"]
    assert checks[1].details["outbox"]["due"] == 1
    assert health.state == HEALTHY


def test_a_restart_does_not_alert_again_for_the_same_problem(ops_world):
    world = ops_world
    with freeze_time("2027-01-15 15:00") as frozen:
        world.mark_synced(now())
        world.revoke_token()
        monitor_for(world).run(now())
        assert len(world.ops_messages()) == 1
        frozen.move_to("2027-01-15 15:20")
        restarted = monitor_for(world)  # a new process: nothing in memory
        assert restarted.run(now()).decision.kind == "none"
    assert len(world.ops_messages()) == 1


def test_an_alert_slack_refused_is_tried_again_at_the_next_check(ops_world):
    world = ops_world
    world.slack.expect_rejection("channel_not_found", method="chat.postMessage")
    with freeze_time("2027-01-15 15:00") as frozen:
        world.mark_synced(now())
        world.revoke_token()
        broken = monitor_for(world, post=slack_poster(world.web, "#no-such-channel"))
        assert broken.run(now()).posted is False
        frozen.move_to("2027-01-15 15:05")
        fixed = monitor_for(world)
        assert fixed.run(now()).decision.kind == "alert"
    assert len(world.ops_messages()) == 1


def test_daily_quota_below_ten_percent_is_an_alert(ops_world, make_emulator):
    world = ops_world
    emulator = make_emulator(daily_max=30)
    emulator.seed_demo(buyers=0, seed=1)
    from ghl.client import GHLClient
    from sandbox.ghl_emulator import DEFAULT_TOKEN, DEMO_LOCATION_ID

    client = GHLClient(token=DEFAULT_TOKEN, location_id=DEMO_LOCATION_ID, base_url=emulator.url)
    for _ in range(27):
        client.locations.get()
    world.mark_synced(now())
    monitor = HealthMonitor(
        engine=world.engine, client=client, post=slack_poster(world.web, "#ops-alerts")
    )
    report = monitor.run(now())
    assert report.state == "degraded"
    assert "GHL daily quota" in world.ops_messages()[0]
    assert "only 7% of today's GHL quota left" in world.ops_messages()[0]


def test_a_job_failing_three_times_in_a_row_is_reported(ops_world):
    world = ops_world
    runner = JobRunner(lease=TickLease(world.engine, owner="a"))

    def broken(at: datetime) -> None:
        raise ConnectionError("Slack unreachable")

    job = JobSpec(id="buyer_refresh", run=broken, every=timedelta(minutes=1))
    start = datetime(2027, 1, 15, 15, 0, tzinfo=UTC)
    with freeze_time(start):
        world.mark_synced(now())
        monitor = monitor_for(world, job_ids=["buyer_refresh"])
        for minute in range(2):
            runner.run(job, now=start + timedelta(minutes=minute))
        assert monitor.run(now()).state == HEALTHY  # two failures: not yet
        runner.run(job, now=start + timedelta(minutes=2))
        report = monitor.run(now())
    assert report.state == "degraded"
    assert "Scheduled job buyer_refresh" in world.ops_messages()[0]
    assert (
        "failed 3 times in a row; last error: ConnectionError: Slack unreachable"
        in (world.ops_messages()[0])
    )


def test_an_unreachable_database_is_reported_once_and_its_recovery_too(ops_world):
    world = ops_world
    gone = make_engine("postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=2")
    posts: list[str] = []

    def post(text: str) -> bool:
        posts.append(text)
        return True

    monitor = HealthMonitor(engine=gone, client=world.client, post=post)
    with freeze_time("2027-01-15 15:00") as frozen:
        report = monitor.run(now())
        assert report.state == DOWN and "Database" in posts[0] and "DATABASE_URL" in posts[0]
        frozen.move_to("2027-01-15 15:05")
        monitor.run(now())
        assert len(posts) == 1  # remembered in memory while the store is away
        world.mark_synced(now())
        monitor.engine = world.engine  # the database is back
        frozen.move_to("2027-01-15 15:10")
        assert monitor.run(now()).state == HEALTHY
    assert len(posts) == 2 and "healthy again after 10 min" in posts[1]


def test_a_high_ghl_error_rate_in_the_last_hour_is_an_alert_and_an_old_one_is_not(ops_world):
    from ghl.errors import GHLNotFoundError

    world = ops_world
    with freeze_time("2027-01-15 15:00") as frozen:
        world.mark_synced(now())
        monitor = monitor_for(world)
        for _ in range(30):
            with contextlib.suppress(GHLNotFoundError):
                world.client.contacts.get("no-such-contact")
        report = monitor.run(now())
        assert report.state == "degraded"
        assert report.details["ghl_last_hour"]["errors"] == {"GHLNotFoundError": 30}
        assert (
            "30 of 31 GHL calls failed in the last hour (GHLNotFoundError x30)"
            in (world.ops_messages()[0])
        )
        frozen.move_to("2027-01-15 16:01")  # an hour of quiet later
        monitor.run(now())
        later = monitor.run(now())
    assert later.state == HEALTHY
    assert "recovered" in world.ops_messages()[-1]
