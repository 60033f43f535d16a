"""The intake API over real HTTP: the bot's waitress server with `/api/*` mounted as `serve`
mounts it, the GHL emulator behind the deal pipeline, the Slack fake behind the hot-deal card,
on SQLite and PostgreSQL. The worker is drained by the test (its thread is tested apart)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from sqlalchemy import Engine
from sqlmodel import select

from bot.web.api_tokens import RateLimiter
from bot.web.intake_api import IntakeParts, create_intake_app, intake_wsgi
from bot.web.intake_wiring import intake_routes
from bot.web.server import RunningHTTP, build_wsgi_app, start_http_in_thread
from sandbox.ghl_emulator import Emulator
from sandbox.slack_fake import SlackFake
from services.intake.worker import IntakeWorker
from store.db import session_scope
from store.models import OutboxItem
from tests.fixtures.bot import BotWorld, build_bot_world, deal_row

ANALYSIS = "analysis-token-0123456789abcdef"
BACKFILL = "backfill-token-0123456789abcdef"
TOKENS = f"analysis:{ANALYSIS},backfill:{BACKFILL}"


@dataclass
class IntakeWorld:
    bot: BotWorld
    http: RunningHTTP
    worker: IntakeWorker

    @property
    def url(self) -> str:
        return self.http.url + "/api/properties"

    def post(self, body: Any, *, token: str | None = ANALYSIS, **kw: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        data = json.dumps(body) if isinstance(body, dict | list) else body
        return requests.post(self.url, data=data, headers=headers, timeout=10, **kw)

    def get(self, mls_id: str, *, token: str = ANALYSIS) -> requests.Response:
        return requests.get(f"{self.url}/{mls_id}", headers={"Authorization": f"Bearer {token}"},
                            timeout=10)  # fmt: skip

    def opportunities(self) -> list[Any]:
        return list(self.bot.emulator.state.opportunities.values())

    def cards(self, mls_id: str) -> list[Any]:
        return [m for m in self.bot.channel_messages() if f"deal:{mls_id}" in str(m.blocks)]


def queued_items(engine: Engine) -> list[OutboxItem]:
    with session_scope(engine, readonly=True) as session:
        return list(session.exec(select(OutboxItem).where(OutboxItem.kind == "intake")).all())


def serve_intake(
    slack: SlackFake, emulator: Emulator, engine: Engine, **settings: Any
) -> Iterator[IntakeWorld]:
    bot = build_bot_world(slack=slack, emulator=emulator, engine=engine, **settings)
    bot.sync_buyers()
    # As `dealfinder serve` mounts it: the route factory's routes beside Slack's endpoint.
    routes = intake_routes(bot.settings, bot.services, worker=bot.runtime.intake_worker)
    http = start_http_in_thread(build_wsgi_app(bolt_app=bot.app, extra_routes=routes))
    try:
        yield IntakeWorld(bot=bot, http=http, worker=bot.runtime.intake_worker)
    finally:
        http.stop()
        bot.http.stop()
        bot.finish()
        bot.ghl.close()


@pytest.fixture
def intake(slack_fake: SlackFake, seeded_emulator: Emulator, engine: Engine):
    yield from serve_intake(slack_fake, seeded_emulator, engine, DEALFINDER_API_TOKEN=TOKENS)


def test_without_a_known_token_the_api_says_401_with_a_challenge(intake: IntakeWorld) -> None:
    for token in (None, "not-a-token-of-ours-0123456789"):
        answer = intake.post(deal_row(), token=token)
        assert answer.status_code == 401
        assert answer.headers["WWW-Authenticate"] == 'Bearer realm="dealfinder"'
        assert "Authorization: Bearer" in answer.json()["detail"]
        assert intake.get("TPA-1001", token=token or "").status_code == 401
    assert queued_items(intake.bot.engine) == []


def test_malformed_json_is_400_and_refused_fields_are_422_each_named(intake: IntakeWorld):
    broken = intake.post(b'{"mls_id": "TPA-1", ')
    assert broken.status_code == 400
    assert broken.json()["detail"].startswith("the body is not valid JSON")

    good = deal_row("TPA-2001")
    bad = deal_row("TPA-2002", zip="3361", list_price=-5, agent_phone="12", state="ZZ")
    del bad["city"]
    refused = intake.post([good, bad])
    assert refused.status_code == 422
    problems = {tuple(p["loc"]): p["msg"] for p in refused.json()["detail"]}
    assert set(problems) == {
        ("body", 1, "zip"), ("body", 1, "list_price"), ("body", 1, "agent_phone"),
        ("body", 1, "state"), ("body", 1, "city"),
    }  # fmt: skip
    assert "is not a ZIP code" in problems[("body", 1, "zip")]
    assert "'ZZ' is not a two-letter US state code" in problems[("body", 1, "state")]
    # All or nothing: the good record of a refused request is not queued either.
    assert queued_items(intake.bot.engine) == []
    unreachable = deal_row("TPA-2003", agent_phone=None, agent_email="")
    (problem,) = intake.post(unreachable).json()["detail"]
    assert problem["loc"] == ["body"] and "agent_phone or agent_email" in problem["msg"]
    assert intake.post([]).status_code == 422
    huge = json.dumps(deal_row("TPA-2004")).replace("265000", "1e400")  # reads as infinity
    (problem,) = intake.post(huge).json()["detail"]
    assert problem["loc"] == ["body", "list_price"] and "not a finite number" in problem["msg"]
    too_many = intake.post([deal_row(f"TPA-{i}") for i in range(501)])
    assert too_many.status_code == 422
    assert too_many.json()["detail"][0]["msg"] == "501 records; at most 500 per request"
    assert intake.post([deal_row("TPA-1"), deal_row("TPA-1")]).json()["detail"][0]["loc"] == [
        "body", 1, "mls_id"
    ]  # fmt: skip


def test_the_same_record_twice_is_one_deal_and_its_status_tells_stage_owner_link(
    intake: IntakeWorld,
) -> None:
    row = deal_row("TPA-3001", deal_score=82)  # good, not hot
    first = intake.post(row)
    second = intake.post([row])
    assert first.status_code == second.status_code == 202
    (one,), (two,) = first.json()["properties"], second.json()["properties"]
    assert one["queued"] is True and two["queued"] is False
    assert one["status_url"] == two["status_url"] == "/api/properties/TPA-3001"
    assert len(queued_items(intake.bot.engine)) == 1
    waiting = intake.get("TPA-3001")
    assert waiting.status_code == 200 and waiting.json()["state"] == "queued"

    assert intake.worker.drain() == 1
    third = intake.post(row)  # after it was worked: still no second item, no second deal
    assert third.json()["properties"][0] == {**one, "queued": False, "state": "done"}
    assert intake.worker.drain() == 0
    (opp,) = intake.opportunities()

    status = requests.get(intake.http.url + one["status_url"],
                          headers={"Authorization": f"Bearer {BACKFILL}"}, timeout=10)  # fmt: skip
    assert status.status_code == 200
    body = status.json()
    assert body["state"] == "done" and body["action"] == "created" and body["errors"] == []
    assert body["opportunity_id"] == opp.id and body["opportunity_url"].endswith(opp.id)
    assert body["stage"] == "Good Deal"  # the pipeline's stage for a score of 82
    assert body["owner"]  # the territory's owner, as the GHL map names them
    assert body["hot"] is False and body["alert"]["status"] == "not_hot"
    assert body["matches"] and all(m["score"] >= 60 for m in body["matches"])
    assert intake.get("NOPE-1").status_code == 404


def test_a_changed_record_updates_the_same_deal(intake: IntakeWorld) -> None:
    intake.post(deal_row("TPA-3101", deal_score=82))
    intake.worker.drain()
    changed = intake.post(deal_row("TPA-3101", deal_score=82, list_price=255_000))
    assert changed.json()["properties"][0]["queued"] is True
    intake.worker.drain()
    (opp,) = intake.opportunities()
    assert opp.monetary_value == 255_000
    assert intake.get("TPA-3101").json()["action"] == "updated"


def test_a_hot_deal_posts_one_card_however_often_it_is_sent(intake: IntakeWorld) -> None:
    row = deal_row("TPA-4001")  # deal_score 93: hot
    intake.post(row)
    intake.worker.drain()
    intake.post(row)
    intake.post(deal_row("TPA-4001", list_price=259_000))  # changed: the card is updated
    intake.worker.drain()
    assert len(intake.cards("TPA-4001")) == 1
    assert len(intake.opportunities()) == 1
    body = intake.get("TPA-4001").json()
    assert body["hot"] is True and body["stage"] == "Priority Review"
    (card,) = intake.cards("TPA-4001")
    assert body["alert"] == {"status": "posted", "channel": card.channel, "ts": card.ts}


def test_a_ghl_refusal_is_an_error_in_the_status_not_a_lost_record(intake: IntakeWorld):
    # GHL keeps failing the create past the client's retries: the pipeline reports it.
    for path in ("/opportunities/", "/opportunities/upsert"):  # create, or a listing's upsert
        intake.bot.emulator.queue_fault("POST", path, "server_error", times=10, status=500)
    intake.post(deal_row("TPA-5001", deal_score=82))
    intake.worker.drain()
    body = intake.get("TPA-5001").json()
    assert body["state"] == "done" and body["action"] == "failed"
    assert body["errors"] and not intake.opportunities()


def test_the_body_limit_is_413_naming_the_limit(
    slack_fake: SlackFake, seeded_emulator: Emulator, engine: Engine
) -> None:
    world = serve_intake(slack_fake, seeded_emulator, engine, DEALFINDER_API_TOKEN=TOKENS,
                         DEALFINDER_API_MAX_BODY=2_000)  # fmt: skip
    intake = next(world)
    try:
        rows = [deal_row(f"TPA-6{i:03d}") for i in range(10)]  # ~4 kB
        answer = intake.post(rows)
        assert answer.status_code == 413
        assert "2,000 bytes (DEALFINDER_API_MAX_BODY)" in answer.json()["detail"]
        chunked = intake.post(iter([json.dumps(rows).encode()]))  # no Content-Length
        assert chunked.status_code == 413
        assert intake.post(rows[:1]).status_code == 202
        assert len(queued_items(intake.bot.engine)) == 1
    finally:
        world.close()


class Ticks:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_each_token_has_its_own_rate_and_429_says_when_to_come_back(sqlite_engine: Engine):
    from bot.web.api_tokens import parse_api_tokens

    ticks = Ticks()
    parts = IntakeParts(
        engine=sqlite_engine, location_id="loc_1", tokens=parse_api_tokens(TOKENS),
        limiter=RateLimiter(per_minute=2, clock=ticks),
    )  # fmt: skip
    with start_http_in_thread(intake_wsgi(create_intake_app(parts))) as http:

        def post(token: str) -> requests.Response:
            auth = {"Authorization": f"Bearer {token}"}
            return requests.post(f"{http.url}/api/properties", json=deal_row(), headers=auth,
                                 timeout=10)  # fmt: skip

        assert [post(ANALYSIS).status_code for _ in range(2)] == [202, 202]
        refused = post(ANALYSIS)
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == "30"  # 2 a minute: one back every 30 s
        assert "'analysis' is over 2 requests a minute" in refused.json()["detail"]
        assert post(BACKFILL).status_code == 202  # another caller's budget is its own
        ticks.now += 30
        assert post(ANALYSIS).status_code == 202


def test_without_tokens_configured_the_api_says_it_is_off(sqlite_engine: Engine) -> None:
    parts = IntakeParts(engine=sqlite_engine, location_id="loc_1", tokens=None,
                        limiter=RateLimiter(per_minute=5))  # fmt: skip
    with start_http_in_thread(intake_wsgi(create_intake_app(parts))) as http:
        answer = requests.post(f"{http.url}/api/properties", json=deal_row(), timeout=10)
    assert answer.status_code == 503
    assert "set DEALFINDER_API_TOKEN" in answer.json()["detail"]


def test_a_worker_that_died_mid_item_leaves_it_to_the_next_one_and_one_deal(
    intake: IntakeWorld,
) -> None:
    """Crash-safety: the item a dead worker held is claimed again when its lease ends."""
    from store import outbox

    intake.post(deal_row("TPA-7001", deal_score=82))
    clock = intake.bot.clock
    with session_scope(intake.bot.engine) as session:
        (_held,) = outbox.claim_due(session=session, now=clock(), worker_id="dead-worker",
                                   lease_seconds=300, limit=5, kinds=["intake"])  # fmt: skip
    assert intake.worker.drain() == 0  # leased to the dead worker
    assert intake.get("TPA-7001").json()["state"] == "processing"
    clock.advance(seconds=301)
    assert intake.worker.drain() == 1
    body = intake.get("TPA-7001").json()
    assert body["state"] == "done" and body["action"] == "created" and body["attempts"] == 2
    assert len(intake.opportunities()) == 1


def test_the_secret_tokens_are_never_logged(
    intake: IntakeWorld, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    intake.post(deal_row("TPA-8001"))
    intake.post(deal_row("TPA-8001"), token="wrong-token-0123456789abcdefgh")
    intake.worker.drain()
    assert ANALYSIS not in caplog.text and "wrong-token" not in caplog.text
    assert "analysis" in caplog.text  # the name says who sent it
    assert ANALYSIS not in repr(intake.bot.settings)


def test_the_worker_thread_works_what_a_post_wakes_it_for(intake: IntakeWorld) -> None:
    from tests.fixtures.bot import wait_for

    intake.worker.poll_seconds = 60.0  # only the wake-up can make it work in time
    intake.worker.start()
    try:
        intake.post(deal_row("TPA-9001", deal_score=82))
        wait_for(lambda: intake.get("TPA-9001").json()["state"] == "done", timeout=20,
                 what="the worker to work the submitted record")  # fmt: skip
    finally:
        intake.worker.stop()
    assert len(intake.opportunities()) == 1


def test_the_settings_reject_a_short_or_unnamed_token_without_echoing_it() -> None:
    from bot.settings import ConfigError, load_settings

    with pytest.raises(ConfigError) as refused:
        load_settings(_env_file=None, DEALFINDER_API_TOKEN="analysis:short-secret-x")
    assert "DEALFINDER_API_TOKEN" in str(refused.value.problems)
    assert "short-secret-x" not in str(refused.value.problems)


def test_an_item_given_up_on_is_listed_for_a_person_and_can_be_put_back(sqlite_engine: Engine):
    from services.intake.queue import submit_properties
    from services.intake.worker import MAX_ATTEMPTS
    from store.outbox_admin import failed_items, requeue_failed
    from tests.fixtures.bot import WorldClock

    clock = WorldClock()

    def ghl_away() -> Any:
        raise OSError("GHL cannot be reached")

    worker = IntakeWorker(engine=sqlite_engine, location_id="loc_1", pipeline=ghl_away,
                          clock=clock)  # fmt: skip
    submit_properties([deal_row("TPA-9101")], engine=sqlite_engine, location_id="loc_1",
                      now=clock())  # fmt: skip
    worked = []
    for _ in range(MAX_ATTEMPTS + 2):
        worked.append(worker.drain())
        clock.advance(hours=1)
    assert worked == [1] * MAX_ATTEMPTS + [0, 0]
    with session_scope(sqlite_engine) as session:
        (failed,) = failed_items(session=session)
        assert failed.kind == "intake" and "GHL cannot be reached" in (failed.last_error or "")
        assert requeue_failed(session=session, item_id=failed.id or 0, now=clock()) is not None
    assert worker.drain() == 1


def test_a_deal_another_process_is_working_is_tried_again_not_dropped(intake: IntakeWorld):
    from store.locks import named_lock

    intake.post(deal_row("TPA-9201", deal_score=82))
    location = intake.bot.ghl.location_id
    with named_lock(intake.bot.engine, f"deal:{location}:TPA-9201") as held:
        assert held
        assert intake.worker.drain() == 1  # skipped by the pipeline: the lock is taken
    assert intake.get("TPA-9201").json()["state"] == "queued" and not intake.opportunities()
    intake.bot.clock.advance(seconds=31)
    assert intake.worker.drain() == 1
    assert intake.get("TPA-9201").json()["action"] == "created"
    assert len(intake.opportunities()) == 1
