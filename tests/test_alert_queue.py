"""Every hot deal alerts Slack exactly once, whatever door it came through: the pipeline queues
the alert in the store; processes with Slack post it (`DealAlerts`' claim and message map).

Real parts: the GHL emulator, the Slack fake, SQLite and PostgreSQL, `dealfinder` commands
as real processes (tests.fixtures.cli_processes) or through typer's runner.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from slack_sdk import WebClient
from sqlmodel import select
from typer.testing import CliRunner

from bot.cli.main import app
from bot.slack.alerts import DealAlerts
from sandbox.ghl_emulator import DEFAULT_TOKEN, DEMO_LOCATION_ID
from sandbox.slack_fake import BOT_TOKEN
from services.ghl_map import GHLMap
from services.hot_alerts import alert_key, alert_state
from services.property import PropertyRecord
from store.db import make_engine, migrate, session_scope
from store.models import OutboxItem, OutboxStatus
from tests.fixtures.bot import BotWorld, deal_row
from tests.fixtures.cli_processes import HOT, batch_file
from tests.fixtures.pipeline import property_row


def _alerts(engine: Any) -> list[OutboxItem]:
    with session_scope(engine, readonly=True) as session:
        return [i for i in session.exec(select(OutboxItem)).all() if i.kind == "slack_post"]


# -- the pipeline queues, whatever door ----------------------------------------------------


def test_the_pipeline_queues_a_hot_deal_s_alert_and_only_a_hot_one(deal_env) -> None:
    hot = PropertyRecord.parse(property_row(0) | {"deal_score": 96})
    cool = PropertyRecord.parse(property_row(1) | {"deal_score": 60})
    results = [deal_env.pipeline.process(r) for r in (hot, cool)]
    assert [r.alert for r in results] == ["queued", None]  # no Slack in this process
    [item] = _alerts(deal_env.engine)
    assert item.dedupe_key == alert_key(deal_env.pipeline.location_id, hot.mls_id)
    assert item.status == OutboxStatus.PENDING
    again = deal_env.pipeline.process(PropertyRecord.parse(property_row(0) | {"deal_score": 97}))
    assert again.action == "updated" and again.alert == "queued"
    assert len(_alerts(deal_env.engine)) == 1  # one alert per deal, ever


def test_deal_add_in_the_bot_posts_at_once_and_once(bot_world: BotWorld) -> None:
    world = bot_world
    first = world.add_deal()
    assert first.alert == "posted"
    second = world.add_deal(list_price=255_000)  # changed: the pipeline runs the hook again
    assert second.action == "updated" and second.alert == "posted"
    assert world.services.alerts.recover() == 0
    cards = [m for m in world.channel_messages() if "deal:TPA-1001" in json.dumps(m.blocks)]
    assert len(cards) == 1
    assert [i.status for i in _alerts(world.engine)] == [OutboxStatus.SENT]


def test_an_alert_queued_elsewhere_is_posted_by_the_bot_s_job(bot_world: BotWorld) -> None:
    world = bot_world
    # Another process without Slack ran the pipeline (an import, the intake API).
    from services.pipeline.core import DealPipeline

    config = world.services.config
    other = DealPipeline(
        world.ghl, world.engine, config, GHLMap.resolve(world.ghl, config), clock=world.clock
    )
    result = other.process(PropertyRecord.parse(deal_row("TPA-2002", deal_score=97)))
    assert result.alert == "queued" and world.channel_messages() == []
    from bot.ops.jobs import JOB_SLACK_RECOVER

    ops = world.runtime.ops  # as `serve` wires it
    assert ops.scheduler.run_now(JOB_SLACK_RECOVER) == "ok"
    here = world.ghl.location_id
    assert alert_state(world.engine, location_id=here, mls_id="TPA-2002") == "posted"
    assert world.services.alerts.recover() == 0  # a restart's recovery: nothing left
    assert len(world.channel_messages()) == 1


# -- `dealfinder import` with Slack in its own process -------------------------------------


def _import_env(emulator: Any, db_url: str, **more: str) -> dict[str, str | None]:
    unset = dict.fromkeys(("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN",
                           "DEALFINDER_DRY_RUN", "DRY_RUN", "DEALFINDER_MAPPING_FILE"))  # fmt: skip
    return unset | {
        "GHL_API_KEY": DEFAULT_TOKEN, "GHL_LOCATION_ID": DEMO_LOCATION_ID,
        "GHL_BASE_URL": emulator.url, "GHL_RATE_BACKEND": "memory", "DATABASE_URL": db_url,
        "DEALFINDER_LOG_LEVEL": "WARNING",
    } | more  # fmt: skip


def test_an_import_with_slack_tells_slack_itself(
    seeded_emulator, slack_fake, sqlite_url, tmp_path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    env = _import_env(seeded_emulator, sqlite_url, SLACK_BOT_TOKEN=BOT_TOKEN,
                      SLACK_API_URL=slack_fake.api_url, SLACK_DEALS_CHANNEL="C0DEALS")  # fmt: skip
    batch = batch_file(tmp_path)
    result = CliRunner().invoke(app, ["import", str(batch)], env=env)
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    for mls_id in HOT:
        assert f"hot deal {mls_id}: Slack told" in out
    assert len(slack_fake.messages("C0DEALS")) == 2
    rerun = CliRunner().invoke(app, ["import", str(batch)], env=env)
    assert "hot deal HOT-1: Slack told" in " ".join(rerun.output.split())  # as it was left
    as_json = CliRunner().invoke(app, ["import", str(batch), "--json"], env=env)
    data = json.loads(as_json.stdout)
    assert data["slack_alerts"] is None and [r["alert"] for r in data["results"]] == [None, None]
    assert len(slack_fake.messages("C0DEALS")) == 2


# -- two workers with Slack: one card per deal ---------------------------------------------


@pytest.mark.slow  # two worker processes
def test_two_worker_processes_post_one_card_per_deal(
    seeded_emulator, slack_fake, db_url, tmp_path, monkeypatch
) -> None:
    from tests.fixtures.cli_processes import Processes

    monkeypatch.chdir(tmp_path)
    procs = Processes(tmp_path, seeded_emulator, slack_fake, db_url=db_url)
    imported = procs.run("import", str(batch_file(tmp_path)))  # no Slack: both queued
    assert imported.returncode == 0, imported.stdout + imported.stderr
    workers = [procs.start("worker", "--once") for _ in range(2)]
    outputs = [w.communicate(timeout=120)[0] for w in workers]
    # Each ran its recovery job, or found the other running this tick's (the job's lease).
    ran = [line for o in outputs for line in o.splitlines() if "slack_alert_recovery:" in line]
    assert len(ran) == 2 and "slack_alert_recovery: ok" in ran, outputs
    cards = procs.cards()
    assert {k: len(v) for k, v in cards.items()} == {"HOT-1": 1, "HOT-2": 1}, outputs
    assert len(slack_fake.messages("C0DEALS")) == 2
    engine = make_engine(db_url)
    try:
        assert [i.status for i in _alerts(engine)] == [OutboxStatus.SENT] * 2
    finally:
        engine.dispose()


def test_two_posters_racing_in_threads_post_one_card_per_deal(bot_world: BotWorld) -> None:
    world = bot_world
    from services.pipeline.core import DealPipeline

    config = world.services.config
    pipeline = DealPipeline(
        world.ghl, world.engine, config, GHLMap.resolve(world.ghl, config), clock=world.clock
    )
    for i in range(4):  # queued by a process without Slack (4: the channel's post burst)
        row = deal_row(f"RACE-{i}", deal_score=95, agent_email=f"agent{i}@example.com",
                       agent_phone=f"+1813555{i:04d}")  # fmt: skip
        assert pipeline.process(PropertyRecord.parse(row)).alert == "queued"
    url = world.engine.url.render_as_string(hide_password=False)
    posters = []
    for n in range(2):
        engine = make_engine(url)
        migrate(engine)
        web = WebClient(token=BOT_TOKEN, base_url=world.slack.api_url)
        posters.append(DealAlerts(web, engine, "C0DEALS", cards=world.services.desk.card,
                                  worker_id=f"poster-{n}",
                                  location_id=world.ghl.location_id))  # fmt: skip
    start = threading.Barrier(2)

    def run(alerts: DealAlerts) -> None:
        start.wait()
        alerts.recover()

    threads = [threading.Thread(target=run, args=(p,)) for p in posters]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    posted = [json.dumps(m.blocks) for m in world.channel_messages()]
    for i in range(4):
        assert sum(f"deal:RACE-{i}" in blocks for blocks in posted) == 1
    assert len(posted) == 4
    for p in posters:
        p.engine.dispose()


def test_serve_has_one_pipeline_with_the_hot_deal_hook(bot_world: BotWorld, monkeypatch) -> None:
    """The jobs (webhooks: completed tasks move deals) use the bot's own pipeline."""
    from services.pipeline.core import DealPipeline

    made: list[DealPipeline] = []
    real_init = DealPipeline.__init__

    def counted(self: DealPipeline, *args: Any, **kw: Any) -> None:
        made.append(self)
        real_init(self, *args, **kw)

    monkeypatch.setattr(DealPipeline, "__init__", counted)
    world = bot_world
    result = world.add_deal()
    handlers = world.runtime.ops.context.handlers
    assert handlers.task_completed is not None
    handlers.task_completed(result.contact_id, "Schedule showing — TPA-1001")
    assert len(made) == 1 and made[0].on_hot_deal == [world.services.alerts.on_hot_deal]
