"""Each leased location's scheduled jobs in an agency worker (issue 14, item 2): its own
health check against its own GHL client, alerting the ops channel with the location named;
one location's failing GHL alerts about that location only, and jobs run on their own
interval. Real HTTP to the emulator and the Slack fake, real store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from freezegun import freeze_time

from bot.ops.location_jobs import location_jobs
from bot.ops.location_runner import LocationRunner
from bot.settings import load_settings
from ghl.client import GHLClient
from sandbox.slack_fake import BOT_TOKEN
from store.db import session_scope
from store.installs import record_install

TOKENS = {"tok-a": "loc_a", "tok-b": "loc_b"}
NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def test_each_location_checks_its_own_health_and_alerts_name_it(make_emulator, slack_fake, engine):
    emulator = make_emulator(tokens=TOKENS)
    for location_id in TOKENS.values():
        emulator.seed_demo(buyers=2, seed=1, location_id=location_id)
    clients = {
        "loc_a": GHLClient(token="tok-a", location_id="loc_a", base_url=emulator.url),
        # loc_b's token is refused (revoked in GHL): its health is down, loc_a's is not.
        "loc_b": GHLClient(token="tok-revoked", location_id="loc_b", base_url=emulator.url),
    }
    settings = load_settings(
        DATABASE_URL=str(engine.url), SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_API_URL=slack_fake.api_url, SLACK_OPS_CHANNEL="C0OPS",
    )  # fmt: skip
    with session_scope(engine) as session:
        record_install(session=session, location_id="loc_a", now=NOW, name="Tampa Team")
        record_install(session=session, location_id="loc_b", now=NOW, name="Bay Team")
    jobs_for = location_jobs(settings, engine=engine, client_for=clients.__getitem__)
    with freeze_time(NOW) as clock:
        runners = {
            loc: LocationRunner(
                engine=engine,
                location_id=loc,
                pipeline=lambda: None,
                holder="w1",
                jobs=jobs_for(loc),
            )
            for loc in TOKENS.values()
        }
        for runner in runners.values():
            assert runner.run_due_jobs() == ["buyer_refresh", "health_check", "hot_deal_workflows"]
        texts = [m.text for m in slack_fake.messages("C0OPS")]
        assert len(texts) == 1, texts
        assert "Bay Team (loc_b)" in texts[0] and "loc_a" not in texts[0]
        # Nothing is due again before its interval; the workflows job comes round first.
        assert runners["loc_a"].run_due_jobs() == []
        clock.tick(timedelta(minutes=1, seconds=1))
        assert runners["loc_a"].run_due_jobs() == ["hot_deal_workflows"]
        clock.tick(timedelta(minutes=settings.health_interval_minutes))
        assert runners["loc_a"].run_due_jobs() == ["health_check", "hot_deal_workflows"]
    for client in clients.values():
        client.close()


def test_a_failing_job_is_its_own_and_the_others_still_run(engine):
    from bot.ops.location_runner import LocationJob

    ran: list[str] = []

    def broken(_now: object) -> None:
        raise RuntimeError("GHL is away")

    jobs = [LocationJob("broken", timedelta(minutes=1), broken),
            LocationJob("fine", timedelta(minutes=1), lambda _now: ran.append("fine"))]  # fmt: skip
    with freeze_time(NOW):
        runner = LocationRunner(
            engine=engine, location_id="loc_a", pipeline=lambda: None, holder="w1", jobs=jobs
        )
        assert runner.run_due_jobs() == ["broken", "fine"]
    assert ran == ["fine"]
