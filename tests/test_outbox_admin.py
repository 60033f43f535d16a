"""`dealfinder outbox`: failures DealFinder will not repeat on its own are listed for a person,
who puts them back (the worker's job then does them, once) or closes them. Real pipeline, GHL
emulator, store on SQLite and PostgreSQL, the real `dealfinder` command."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from bot.cli.main import app
from sandbox.ghl_emulator import DEFAULT_TOKEN, DEMO_LOCATION_ID
from services.pipeline.hot import workflow_key
from services.property import PropertyRecord
from store import outbox
from store.db import session_scope
from store.models import OutboxStatus
from store.outbox_admin import failed_items, requeue_failed, resolve_failed, status_counts
from tests.fixtures.pipeline import property_row

ENROL = "/contacts/{contactId}/workflow/{workflowId}"


@pytest.fixture
def cli_env(tmp_path, monkeypatch, engine) -> Iterator[None]:
    """No DealFinder settings but DATABASE_URL (the test's store); no .env; logging restored."""
    for name in list(os.environ):
        if name.startswith(("GHL_", "SLACK_", "DEALFINDER_", "DATABASE_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def dealfinder(*args: str):
    return CliRunner().invoke(app, list(args))


def lost_enrolment(deal_env) -> int:
    """A hot deal whose workflow enrolment got a 502: failed, outcome unknown, not repeated."""
    deal_env.emulator.queue_fault("POST", "/contacts/*/workflow/*", "server_error", status=502)
    result = deal_env.pipeline.process(PropertyRecord.parse(property_row(0)))
    assert "outcome unknown" in result.warnings[0]
    with session_scope(deal_env.engine, readonly=True) as session:
        item = outbox.get_by_dedupe_key(
            session=session, dedupe_key=workflow_key("loc_demo", "FL-10000")
        )
        assert item is not None and item.status == OutboxStatus.FAILED and item.id is not None
        return item.id


def test_a_lost_enrolment_is_listed_retried_by_hand_and_done_once_by_the_worker(
    deal_env, cli_env, monkeypatch
) -> None:
    emu = deal_env.emulator
    item_id = lost_enrolment(deal_env)

    listed = dealfinder("outbox")
    assert listed.exit_code == 0, listed.output
    assert (
        "workflow:hot_deal:loc_demo:FL-10000" in listed.output
        and "outcome unknown" in listed.output
    )
    as_json = json.loads(dealfinder("outbox", "--json").output)
    assert [f["id"] for f in as_json["failed"]] == [item_id]
    assert as_json["counts"]["workflow"] == {"failed": 1}

    retried = dealfinder("outbox", "retry", str(item_id), "--note", "not in GHL's workflow list")
    assert retried.exit_code == 0, retried.output
    assert f"{item_id} (workflow): back in the queue" in retried.output
    assert emu.count("POST", ENROL) == 1 and emu.state.enrolments == []  # nothing yet

    # The worker's hot_deal_workflows job does it, against the same GHL location.
    monkeypatch.setenv("GHL_API_KEY", DEFAULT_TOKEN)
    monkeypatch.setenv("GHL_LOCATION_ID", DEMO_LOCATION_ID)
    monkeypatch.setenv("GHL_BASE_URL", emu.url)
    worked = dealfinder("worker", "--once")
    assert worked.exit_code == 0, worked.output
    assert "hot_deal_workflows: ok" in worked.output
    assert emu.count("POST", ENROL) == 2 and len(emu.state.enrolments) == 1
    with session_scope(deal_env.engine, readonly=True) as session:
        item = outbox.get_item(session=session, item_id=item_id)
    assert item is not None and item.status == OutboxStatus.SENT
    assert "requeued by hand: not in GHL's workflow list (was: outcome unknown" in (
        item.last_error or ""
    )

    again = dealfinder("outbox", "retry", str(item_id))  # not failed any more
    assert again.exit_code == 1 and "not a failed item" in again.output
    assert dealfinder("outbox").output.count("No failed items.") == 1


def test_resolving_records_sent_or_closed_and_touches_nothing_in_ghl(deal_env, cli_env) -> None:
    emu = deal_env.emulator
    item_id = lost_enrolment(deal_env)
    done = dealfinder("outbox", "resolve", str(item_id), "--happened", "--note", "seen in GHL")
    assert done.exit_code == 0 and "recorded as sent" in done.output, done.output
    with session_scope(deal_env.engine, readonly=True) as session:
        item = outbox.get_item(session=session, item_id=item_id)
    assert item is not None and item.status == OutboxStatus.SENT
    assert item.result == {"confirmed_by_hand": "seen in GHL"}
    # A re-run of the deal now sees the enrolment done: no warning, no second call.
    rerun = deal_env.pipeline.process(PropertyRecord.parse(property_row(0, list_price=1_000)))
    assert rerun.warnings == [] and emu.count("POST", ENROL) == 1


def test_unknown_ids_are_named_and_the_others_still_settled(deal_env, cli_env) -> None:
    item_id = lost_enrolment(deal_env)
    closed = dealfinder("outbox", "resolve", "999999", str(item_id), "--note", "withdrawn")
    assert closed.exit_code == 1
    assert f"{item_id} (workflow): closed" in closed.output
    assert "not a failed item (unknown id, or not failed any more): 999999" in closed.output
    with session_scope(deal_env.engine, readonly=True) as session:
        assert status_counts(session=session)[("workflow", "cancelled")] == 1


def test_a_dry_run_changes_nothing(deal_env, cli_env, monkeypatch) -> None:
    item_id = lost_enrolment(deal_env)
    monkeypatch.setenv("DEALFINDER_DRY_RUN", "1")
    refused = dealfinder("outbox", "retry", str(item_id))
    assert refused.exit_code == 1 and "nothing changed" in refused.output
    with session_scope(deal_env.engine, readonly=True) as session:
        assert [i.id for i in failed_items(session=session)] == [item_id]


def test_only_failed_items_can_be_settled_and_only_once(engine) -> None:
    with session_scope(engine) as session:
        waiting, _ = outbox.enqueue(session=session, kind="sms", dedupe_key="sms:a", payload={})
        failing, _ = outbox.enqueue(session=session, kind="sms", dedupe_key="sms:b", payload={})
    assert waiting.id is not None and failing.id is not None
    with session_scope(engine) as session:
        [claimed] = outbox.claim_due(
            session=session, now=outbox.utcnow(), worker_id="w", lease_seconds=60, limit=1,
            kinds=["sms"],
        )  # fmt: skip
    assert claimed.id == waiting.id
    with session_scope(engine) as session:
        outbox.mark_failed(session=session, item_id=waiting.id, worker_id="w", error="boom")
        assert resolve_failed(session=session, item_id=failing.id) is None  # pending, not failed
    with session_scope(engine) as session:
        back = requeue_failed(session=session, item_id=waiting.id, note="checked")
        assert back is not None and back.status == OutboxStatus.PENDING and back.attempts == 0
    with session_scope(engine) as session:
        assert requeue_failed(session=session, item_id=waiting.id) is None  # already back


def test_an_empty_outbox_says_so(cli_env) -> None:
    shown = dealfinder("outbox")
    assert shown.exit_code == 0 and "The outbox is empty." in shown.output
