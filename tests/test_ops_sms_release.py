"""The every-minute release job: texts deferred to 08:00 go out when each buyer's 08:00 comes.

Through the real job path (JobSpec -> JobRunner with the tick lease -> `release_deferred_sms`
-> the notifier's `release_due`/`deliver_due`) against the GHL emulator. freezegun moves the
wall clock the runner reads; the emulator's clock follows it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from freezegun import freeze_time

from bot.ops.jobs import release_deferred_sms
from bot.ops.lease import TickLease
from bot.ops.scheduler import JobRunner, JobSpec
from bot.web.metrics import Metrics
from store.models import OutboxStatus


def test_deferred_texts_go_out_at_0800_in_new_york_and_in_los_angeles(notify_world):
    world = notify_world
    metrics = Metrics()
    new_york = world.add_buyer(first_name="Ny", area_code="212")  # America/New_York
    los_angeles = world.add_buyer(first_name="La", area_code="310")  # America/Los_Angeles

    def release(now: datetime) -> None:
        world.at(now)  # the emulator's clock follows the wall clock
        release_deferred_sms(
            engine=world.engine,
            client=world.client,
            rules=world.rules,
            config=world.config,
            now=now,
            worker_id="ops-test",
            metrics=metrics,
        )

    job = JobSpec(id="release_sms", run=release, every=timedelta(minutes=1))
    runner = JobRunner(lease=TickLease(world.engine, owner="ops-test"), metrics=metrics)

    def minute(stamp: str) -> None:
        frozen.move_to(stamp)
        assert runner.run(job) == "ok"

    with freeze_time("2027-01-15 06:00:00") as frozen:  # 01:00 in New York
        now = datetime.now(UTC)
        world.notify(world.facts("MLS1"), [new_york, los_angeles], now=world.at(now))
        assert world.item(new_york, "MLS1").not_before == datetime(2027, 1, 15, 13, tzinfo=UTC)
        assert world.item(los_angeles, "MLS1").not_before == datetime(2027, 1, 15, 16, tzinfo=UTC)

        minute("2027-01-15 12:59:00")  # 07:59 New York
        assert world.texts() == []
        minute("2027-01-15 13:00:00")  # 08:00 New York, 05:00 Los Angeles
        assert [len(world.texts(b)) for b in (new_york, los_angeles)] == [1, 0]
        assert world.item(new_york, "MLS1").status == OutboxStatus.SENT
        assert world.texts(new_york)[0].date_added // 1000 == int(datetime.now(UTC).timestamp())

        minute("2027-01-15 15:59:00")  # 07:59 Los Angeles
        assert [len(world.texts(b)) for b in (new_york, los_angeles)] == [1, 0]
        minute("2027-01-15 16:00:00")  # 08:00 Los Angeles
        assert [len(world.texts(b)) for b in (new_york, los_angeles)] == [1, 1]
        assert world.item(los_angeles, "MLS1").status == OutboxStatus.SENT

    sent = metrics.registry.get_sample_value(
        "dealfinder_sms_total", {"outcome": "sent", "reason": ""}
    )
    assert sent == 2


def test_a_backlog_larger_than_one_batch_goes_out_in_the_same_run(notify_world):
    world = notify_world
    buyers = [world.add_buyer(first_name=f"B{n}", area_code="212") for n in range(5)]
    now = world.at(datetime(2027, 1, 15, 15, 0, tzinfo=UTC))  # 10:00 New York
    world.notify(world.facts("MLS1"), buyers, now=now)
    reports = release_deferred_sms(
        engine=world.engine,
        client=world.client,
        rules=world.rules,
        config=world.config,
        now=now,
        worker_id="w",
        limit=2,
    )
    assert [len(r.outcomes) for r in reports][:3] == [2, 2, 2]
    assert len(world.texts()) == 5
