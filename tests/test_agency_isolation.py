"""Two GHL locations in one agency worker (issue 14): different pipelines and mappings, the
same property in both never mixes; uninstalling one stops only its work; one at GHL's daily
limit is parked while the other keeps working. Real HTTP to the emulator, real store."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import typer
from sqlmodel import select
from typer.testing import CliRunner

from bot.cli import ops as cli_ops
from bot.ops.agency import AgencyWorker, active_locations, pipeline_factory
from bot.ops.location_runner import location_status
from bot.settings import load_settings
from ghl.client import GHLClient
from services.config import DEFAULT_MAPPING
from services.intake.queue import submit_properties
from store.db import session_scope
from store.installs import record_install, record_uninstall
from store.locations import update_location
from store.models import OutboxItem, OutboxStatus
from tests.fixtures.pipeline import property_rows

TOKENS = {"tok-a": "loc_a", "tok-b": "loc_b"}
B_STAGES = {
    "New Lead": "Inbox",
    "Good Deal": "Worth a Look",
    "Hot Deal": "Go Now",
    "Priority Review": "Top of Pile",
}


def _b_mapping() -> dict:
    """loc_b's mapping overrides (kept in the store): its own pipeline and stage names."""
    data = json.loads(DEFAULT_MAPPING.read_text(encoding="utf-8"))
    stages = {k: B_STAGES[v] for k, v in data["pipeline"]["stages"].items() if v in B_STAGES}
    return {"pipeline": {"name": "Agency B Deals", "stages": stages}}


def _ops_app() -> typer.Typer:
    app = typer.Typer()
    app.callback()(lambda: None)
    cli_ops.register(app)
    return app


def _rename_b_pipeline(emulator) -> None:
    state = emulator.state
    with state.lock:
        for pipeline in state.pipelines.values():
            if pipeline.location_id == "loc_b":
                pipeline.name = "Agency B Deals"
                for stage in pipeline.stages:
                    stage.name = B_STAGES.get(stage.name, stage.name)


def _wait(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _states(engine, location_id: str) -> list[str]:
    with session_scope(engine, readonly=True) as session:
        items = session.exec(select(OutboxItem).where(OutboxItem.kind == "intake")).all()
        return [i.status for i in items if i.payload["location_id"] == location_id]


def _all_sent(engine, location_id: str, count: int) -> Callable[[], bool]:
    return lambda: _states(engine, location_id).count(OutboxStatus.SENT) == count


def _opportunities(emulator, location_id: str) -> list:
    return [o for o in emulator.state.opportunities.values() if o.location_id == location_id]


@pytest.mark.slow  # over 0.5 s: the full run only (README, 'fast lane')
def test_two_locations_stay_apart_and_one_failing_never_stops_the_other(
    make_emulator, engine, db_url
):
    # A wide burst window: the test spends loc_b's day of requests in a loop below.
    emulator = make_emulator(tokens=TOKENS, daily_max=2_000, burst_max=100_000)
    for location_id in TOKENS.values():
        emulator.seed_demo(buyers=5, seed=1, location_id=location_id)
    _rename_b_pipeline(emulator)
    clients = {
        loc: GHLClient(token=tok, location_id=loc, base_url=emulator.url)
        for tok, loc in TOKENS.items()
    }
    settings = load_settings(DATABASE_URL=str(engine.url))
    now = datetime.now(UTC)
    with session_scope(engine) as session:
        for location_id in TOKENS.values():
            record_install(session=session, location_id=location_id, now=now)
        update_location(session=session, location_id="loc_b", settings={"mapping": _b_mapping()})
    worker = AgencyWorker(
        engine=engine, active=lambda: active_locations(engine), holder="w1", poll_seconds=0.05,
        pipeline_for=pipeline_factory(settings, engine=engine, client_for=clients.__getitem__),
    )  # fmt: skip
    try:
        # 1. The same three properties in both locations: one deal each, in its own pipeline.
        rows = property_rows(3)
        for location_id in TOKENS.values():
            submit_properties(rows, engine=engine, location_id=location_id)
        assert worker.step().held == ["loc_a", "loc_b"]
        _wait(_all_sent(engine, "loc_a", 3), "loc_a's deals")
        _wait(_all_sent(engine, "loc_b", 3), "loc_b's deals")
        pipelines = {p.location_id: p for p in emulator.state.pipelines.values()}
        contacts = emulator.state.contacts
        for location_id in TOKENS.values():
            deals = _opportunities(emulator, location_id)
            assert sorted(o.name.split(" — ")[0] for o in deals) == sorted(
                r["mls_id"] for r in rows
            )
            own = pipelines[location_id]
            assert {o.pipeline_id for o in deals} == {own.id}
            assert {o.stage_id for o in deals} <= {s.id for s in own.stages}
            assert {contacts[o.contact_id].location_id for o in deals} == {location_id}
        b_stages = {s.name for s in pipelines["loc_b"].stages if s.id in
                    {o.stage_id for o in _opportunities(emulator, "loc_b")}}  # fmt: skip
        assert b_stages and b_stages <= set(B_STAGES.values())

        # 2. loc_a is uninstalled: within one cycle it is let go; loc_b keeps working.
        with session_scope(engine) as session:
            record_uninstall(session=session, location_id="loc_a", now=now)
        a_runner = worker.runners["loc_a"]
        cycle = worker.step()
        assert cycle.held == ["loc_b"] and cycle.released == ["loc_a"]
        a_runner.stop(timeout=30)  # a runner let go finishes the property in hand, then ends
        assert not a_runner.alive
        more = property_rows(2, start=10)
        for location_id in TOKENS.values():
            submit_properties(more, engine=engine, location_id=location_id)
        _wait(_all_sent(engine, "loc_b", 5), "loc_b's new deals")
        assert _states(engine, "loc_a").count(OutboxStatus.PENDING) == 2
        assert len(_opportunities(emulator, "loc_a")) == 3

        # 3. loc_b's day of GHL requests runs out; loc_a is installed again and catches up.
        while emulator.limiter.take("tok-b").allowed:
            pass
        with session_scope(engine) as session:
            record_install(session=session, location_id="loc_a", now=now)
        last = property_rows(2, start=20)
        for location_id in TOKENS.values():
            submit_properties(last, engine=engine, location_id=location_id)
        assert worker.step().held == ["loc_a", "loc_b"]
        _wait(lambda: location_status(engine).get("loc_b", {}).get("state") == "parked",
              "loc_b parked")  # fmt: skip
        _wait(_all_sent(engine, "loc_a", 7), "loc_a's queue")
        assert len(_opportunities(emulator, "loc_a")) == 7
        assert len(_opportunities(emulator, "loc_b")) == 5
        status = location_status(engine)["loc_b"]
        midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        assert datetime.fromisoformat(status["parked_until"]) == midnight
        assert "daily" in status["last_error"]
        # Parked, not given up: loc_b's items wait for the reset (none failed for good).
        assert OutboxStatus.FAILED not in _states(engine, "loc_b")

        # `dealfinder agency-status` says so, and exits 1 while a location is parked.
        answer = CliRunner().invoke(_ops_app(), ["agency-status", "--json"],
                                    env={"DATABASE_URL": db_url})  # fmt: skip
        assert answer.exit_code == 1, answer.output
        rows = {row["location_id"]: row for row in json.loads(answer.stdout)}
        assert rows["loc_a"]["state"] in ("working", "idle")  # its latest pass: either
        assert rows["loc_a"] | {"worked": 0, "state": "idle"} == {
            "location_id": "loc_a", "holder": "w1", "state": "idle", "queued": 0, "worked": 0,
            "parked_until": None, "last_error": None, "ok": True,
        }  # fmt: skip
        assert rows["loc_b"]["state"] == "parked" and rows["loc_b"]["queued"] == 2
        assert rows["loc_b"]["holder"] == "w1" and rows["loc_b"]["ok"] is False
    finally:
        worker.shutdown()
