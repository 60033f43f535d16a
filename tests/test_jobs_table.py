"""The job table (`bot.ops.jobs.JOBS`) is the one list of jobs: the scheduler's specs and the
health check's watched jobs both come from it, so a job cannot be scheduled yet unwatched by
mistake (the alert-recovery job was, while health kept its own list)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.ops.jobs import (
    JOB_HEALTH,
    JOB_POLL,
    JOB_SLACK_RECOVER,
    JOBS,
    OpsContext,
    build_job_specs,
    watched_jobs,
)
from bot.ops.scheduler import OpsScheduler
from bot.ops.wiring import slack_poster


def context(world, **kw) -> OpsContext:
    base = dict(engine=world.engine, client=world.client, config=None, rules=None,
                handlers=None, post_ops=slack_poster(world.web, "C0OPS"))  # fmt: skip
    return OpsContext(**(base | kw))  # type: ignore[arg-type]


def everything_on(world, **kw) -> OpsContext:
    """A process with every optional job: Slack, the digest, polling."""
    on = dict(recover_alerts=lambda: 0, flush_cards=lambda: 0, digest_hour=8,
              slack_client=world.web, polling="on")  # fmt: skip
    return context(world, **(on | kw))


def health_monitor(specs):
    [health] = [spec for spec in specs if spec.id == JOB_HEALTH]
    return health.run.__self__  # the HealthMonitor whose `run` is the job


def test_every_watched_job_in_the_table_is_watched_by_health(ops_world):
    ctx = everything_on(ops_world)
    specs = build_job_specs(ctx)
    assert [spec.id for spec in specs] == [job.id for job in JOBS]  # all on: the whole table
    watched = {job.id for job in JOBS if job.watched}
    assert set(health_monitor(specs).job_ids) == watched
    assert JOB_SLACK_RECOVER in watched
    assert JOB_HEALTH not in watched and specs[-1].id == JOB_HEALTH  # last, for --once


def test_a_job_this_process_does_not_have_is_neither_scheduled_nor_watched(ops_world):
    ctx = context(ops_world, polling="off")  # no Slack, no digest, no polling
    specs = build_job_specs(ctx)
    ids = {spec.id for spec in specs}
    assert JOB_SLACK_RECOVER not in ids and JOB_POLL not in ids
    assert (
        set(health_monitor(specs).job_ids)
        == set(watched_jobs(ctx))
        == ids & {job.id for job in JOBS if job.watched}
    )


def test_alert_recovery_failing_three_times_reaches_the_ops_channel(ops_world):
    world = ops_world

    def recover() -> int:
        raise RuntimeError("Slack said channel_not_found")

    start = datetime.now(UTC)
    world.mark_synced(start)
    ctx = everything_on(world, recover_alerts=recover)
    scheduler = OpsScheduler(engine=world.engine, specs=build_job_specs(ctx))
    for tick in range(3):
        at = start + timedelta(seconds=5 * tick)
        assert scheduler.run_now(JOB_SLACK_RECOVER, now=at) == "failed"
    assert scheduler.run_now(JOB_HEALTH, now=start + timedelta(seconds=20)) == "ok"
    [alert] = world.ops_messages()
    assert "slack_alert_recovery" in alert
    assert "failed 3 times in a row" in alert and "channel_not_found" in alert
