"""One property at a time through the real pipeline, GHL client, emulator and store (SQLite and
PostgreSQL): what is created, what a re-run or a change does, and what hot deals set off."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from sandbox.ghl_emulator.demo_data import STAGES
from services.ghl_map import GHLMap
from services.pipeline.core import DealPipeline
from services.pipeline.hot import broker_sms_key, workflow_key
from services.pipeline.progress import load_state, save_state
from services.pipeline.rules import note_marker
from services.property import PropertyRecord
from store.db import make_engine, migrate, session_scope
from store.models import OutboxItem
from tests.fixtures.pipeline import property_row


def record(i: int, **changes) -> PropertyRecord:
    return PropertyRecord.parse(property_row(i, **changes))


def opportunities(emu):
    return list(emu.state.opportunities.values())


def stage_name(emu, opp) -> str:
    pipeline = emu.state.pipelines[opp.pipeline_id]
    return pipeline.stage(opp.stage_id).name


def outbox_items(engine) -> dict[str, OutboxItem]:
    with session_scope(engine) as session:
        return {i.dedupe_key: i for i in session.exec(select(OutboxItem)).all()}


def test_a_hot_property_becomes_a_worked_deal(deal_env):
    emu, hooked = deal_env.emulator, []
    pipeline = deal_env.make_pipeline(on_hot_deal=[hooked.append])
    hot = record(0)  # Tampa FL, score 95
    result = pipeline.process(hot)

    assert (result.action, result.stage_key, result.stage_name) == (
        "created", "priority", "Priority Review",
    )  # fmt: skip
    [opp] = opportunities(emu)
    assert opp.name == f"{hot.mls_id} — {hot.address}, Tampa" and opp.status == "open"
    assert opp.monetary_value == hot.list_price and stage_name(emu, opp) == "Priority Review"
    maria = next(u for u in emu.state.users.values() if u.email == "maria.lopez@example.com")
    assert opp.assigned_to == maria.id == result.owner_id
    assert result.owner_email == "maria.lopez@example.com"
    assert len(opp.custom_fields) == 15  # every mapped field the record has a value for
    contact = emu.state.contacts[opp.contact_id]
    assert contact.tags == ["automated", "dealfinder", "hot_deal"]
    assert emu.count("POST", "/contacts/{contactId}/tags") == 1  # added, never upserted
    [note] = [n for n in emu.state.notes.values() if n.contact_id == contact.id]
    assert note.body.startswith(note_marker(hot.mls_id, hot.version()))
    tasks = {t.title: t for t in emu.state.tasks.values() if t.contact_id == contact.id}
    assert set(tasks) == {f"{t} — {hot.mls_id}" for t in (
        "Review hot deal", "Schedule showing", "Contact matched buyers")}  # fmt: skip
    due = deal_env.clock.datetime() + timedelta(hours=4)
    assert tasks[f"Review hot deal — {hot.mls_id}"].due_date == due.isoformat().replace(
        "+00:00", "Z"
    )
    assert all(t.assigned_to == maria.id for t in tasks.values())
    assert [e.contact_id for e in emu.state.enrolments] == [contact.id]
    items = outbox_items(deal_env.engine)
    assert items[workflow_key("loc_demo", hot.mls_id)].status == "sent"
    sms = items[broker_sms_key("maria.lopez@example.com", hot.mls_id)]
    assert sms.kind == "sms" and sms.status == "pending" and sms.not_before is None  # 10:00 EST
    assert sms.payload["purpose"] == "broker_alert" and hot.mls_id in sms.payload["message"]
    assert sms.contact_id == sms.payload["contact_id"] != contact.id
    assert hooked == [result] and result.hot and result.warnings == []
    # GHL's default (one open opportunity per contact) -> "per_property": the listing's contact
    # upserted, create (no search first), add tags, note, 3 tasks, enrolment, the broker's
    # contact (once)
    assert deal_env.pipeline.ghl_map.opportunity_contact == "per_property"
    assert result.ghl_calls == 9 and result.opportunity_url.endswith(opp.id)


def test_a_seller_already_in_the_crm_keeps_its_own_tags(deal_env):
    emu = deal_env.emulator
    config = deal_env.config.model_copy(update={"opportunity_contact": "seller"})
    pipeline = DealPipeline(
        deal_env.client, deal_env.engine, config, GHLMap.resolve(deal_env.client, config),
        clock=deal_env.clock.datetime,
    )  # fmt: skip
    hot = record(0)
    assert hot.agent_email
    crm = pipeline.client.contacts.upsert(
        {"email": hot.agent_email, "firstName": "Known", "tags": ["past-client", "dealfinder"]}
    ).contact
    pipeline.process(hot)
    [opp] = opportunities(emu)
    assert opp.contact_id == crm.id
    # Nothing replaced; what the contact lacked added once.
    assert emu.state.contacts[crm.id].tags == ["past-client", "dealfinder", "automated", "hot_deal"]
    assert emu.count("POST", "/contacts/{contactId}/tags") == 1


def test_unchanged_rerun_costs_nothing_and_creates_nothing(deal_env):
    pipeline = deal_env.pipeline
    records = [record(i) for i in range(4)]
    for r in records:
        assert pipeline.process(r).action == "created"
    state = deal_env.emulator.state
    before = (len(state.opportunities), len(state.notes), len(state.tasks), len(state.enrolments))
    calls = deal_env.client.stats.calls
    again = [deal_env.pipeline.process(r) for r in records]  # a new pipeline, same store
    assert {(r.action, r.reason) for r in again} == {("skipped", "unchanged")}
    assert again[0].stage_key == "priority" and again[0].opportunity_id
    assert deal_env.client.stats.calls == calls
    after = (len(state.opportunities), len(state.notes), len(state.tasks), len(state.enrolments))
    assert after == before


def test_a_change_updates_and_never_drags_a_deal_back(deal_env):
    emu, pipeline = deal_env.emulator, deal_env.pipeline
    good = record(2)  # score 82
    pipeline.process(good)
    [opp] = opportunities(emu)
    # A broker moves the deal to "Under Contract" in GHL.
    pipeline_record = emu.state.pipelines[opp.pipeline_id]
    opp.stage_id = pipeline_record.stages[STAGES.index("Under Contract")].id
    changed = record(2, deal_score=96, list_price=199_000, analysis_notes="Price cut.")
    result = pipeline.process(changed)
    assert result.action == "updated" and result.stage_key == "contract"
    assert "never moved back" in result.reason
    assert stage_name(emu, opp) == "Under Contract" and opp.monetary_value == 199_000
    notes = [n for n in emu.state.notes.values() if n.contact_id == opp.contact_id]
    assert len(notes) == 2 and any(changed.version() in n.body for n in notes)
    assert sorted(result.tasks_created) == [
        f"Contact matched buyers — {good.mls_id}", f"Review hot deal — {good.mls_id}",
    ]  # fmt: skip
    assert emu.state.contacts[opp.contact_id].tags == ["automated", "dealfinder", "hot_deal"]
    assert len(opportunities(emu)) == 1


def test_a_better_score_moves_the_deal_forward(deal_env):
    emu, pipeline = deal_env.emulator, deal_env.pipeline
    pipeline.process(record(4))  # score 64: New Lead
    result = pipeline.process(record(4, deal_score=80))
    [opp] = opportunities(emu)
    assert result.stage_key == "good" and stage_name(emu, opp) == "Good Deal"
    assert result.tasks_created == [f"Schedule showing — {record(4).mls_id}"]


@pytest.mark.slow  # over 0.5 s: the full run only (README, 'fast lane')
def test_a_new_machine_finds_the_deal_in_ghl_and_duplicates_nothing(deal_env, tmp_path):
    emu = deal_env.emulator
    hot = record(0)
    deal_env.pipeline.process(hot)
    counts = (len(emu.state.notes), len(emu.state.tasks), len(emu.state.enrolments))
    other = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    migrate(other)
    fresh = DealPipeline(
        deal_env.client, other, deal_env.config, deal_env.pipeline.ghl_map,
        clock=deal_env.clock.datetime,
    )  # fmt: skip
    result = fresh.process(hot)
    assert result.action == "updated" and len(opportunities(emu)) == 1
    assert (len(emu.state.notes), len(emu.state.tasks), len(emu.state.enrolments)) == counts
    assert "no history in this store" in result.warnings[0]
    assert fresh.process(hot).reason == "unchanged"
    other.dispose()


def test_a_run_that_stopped_half_way_looks_before_creating(deal_env):
    emu, pipeline = deal_env.emulator, deal_env.pipeline
    hot = record(0)
    pipeline.process(hot)
    # As if the process died after the note and tasks but before recording them.
    state = load_state(deal_env.engine, mls_id=hot.mls_id, location_id="loc_demo")
    state.progress.done, state.progress.pending = None, hot.version()
    state.progress.notes, state.progress.tasks = [], []
    save_state(deal_env.engine, state=state, record=hot, location_id="loc_demo",
               now=datetime.now(UTC))  # fmt: skip
    before = (len(emu.state.notes), len(emu.state.tasks), len(emu.state.enrolments))
    result = pipeline.process(hot)
    assert result.action == "updated" and not result.note_created and not result.tasks_created
    assert (len(emu.state.notes), len(emu.state.tasks), len(emu.state.enrolments)) == before
    assert emu.count("GET", "/contacts/{contactId}/notes") == 1
    assert emu.count("GET", "/contacts/{contactId}/tasks") == 1


def test_hot_side_effects_happen_once_and_hooks_may_fail(deal_env):
    emu = deal_env.emulator

    def broken(result):
        raise RuntimeError("slack is down")

    pipeline = deal_env.make_pipeline(on_hot_deal=[broken])
    first = pipeline.process(record(0))
    assert first.action == "created" and "slack is down" in first.warnings[0]
    second = pipeline.process(record(0, list_price=140_000))
    assert second.action == "updated" and len(emu.state.enrolments) == 1
    keys = [k for k in outbox_items(deal_env.engine) if k.startswith("sms:broker:")]
    assert keys == [broker_sms_key("maria.lopez@example.com", record(0).mls_id)]


def test_broker_texts_wait_for_the_morning(deal_env):
    deal_env.clock.now = datetime(2027, 3, 11, 3, 0, tzinfo=UTC).timestamp()  # 22:00 EST
    deal_env.pipeline.process(record(0))
    sms = outbox_items(deal_env.engine)[broker_sms_key("maria.lopez@example.com", "FL-10000")]
    assert sms.not_before == datetime(2027, 3, 11, 13, 0, tzinfo=UTC)  # 08:00 EST in Tampa


def test_the_enrolment_is_never_repeated_after_an_unknown_outcome(deal_env):
    emu = deal_env.emulator
    emu.queue_fault("POST", "/contacts/*/workflow/*", "server_error", status=502)
    result = deal_env.pipeline.process(record(0))
    assert result.action == "created" and "outcome unknown" in result.warnings[0]
    assert emu.state.enrolments == []
    assert outbox_items(deal_env.engine)[workflow_key("loc_demo", "FL-10000")].status == "failed"
    deal_env.pipeline.process(record(0, list_price=1_000))
    assert (
        emu.state.enrolments == []
        and emu.count("POST", "/contacts/{contactId}/workflow/{workflowId}") == 1
    )


def test_a_refused_property_fails_alone(deal_env):
    emu, pipeline = deal_env.emulator, deal_env.pipeline
    # The create fails, and so does every upsert that looks for it afterwards (all 6 tries).
    emu.queue_fault("POST", "/opportunities/", "server_error", times=6, status=503)
    emu.queue_fault("POST", "/opportunities/upsert", "server_error", times=6, status=503)
    failed = pipeline.process(record(1))
    assert failed.action == "failed" and "GHL is failing (503" in failed.reason
    assert pipeline.process(record(1)).action == "created"
    assert pipeline.process(record(3)).action == "created"
    assert len(opportunities(emu)) == 2  # (one listing per seller: tests/test_ghl_rules_deals.py)


def test_score_below_min_import_is_skipped(deal_env):
    thresholds = deal_env.config.thresholds.model_copy(update={"min_import": 60})
    config = deal_env.config.model_copy(update={"thresholds": thresholds})
    pipeline = DealPipeline(
        deal_env.client, deal_env.engine, config, deal_env.pipeline.ghl_map,
    )  # fmt: skip
    result = pipeline.process(record(5))  # score 40
    assert result.action == "skipped" and "min_import" in result.reason
    assert result.ghl_calls == 0


def test_activity_moves_the_deal_forward_only(deal_env):
    emu, pipeline = deal_env.emulator, deal_env.pipeline
    good = record(2)
    created = pipeline.process(good)
    contact = created.contact_id
    assert pipeline.advance_on_task_completed(contact_id=contact, task_title="Call plumber") == []
    [move] = pipeline.advance_on_task_completed(
        contact_id=contact, task_title=f"Schedule showing — {good.mls_id}"
    )
    assert (move.from_key, move.to_key, move.moved) == ("good", "showing", True)
    [opp] = opportunities(emu)
    assert stage_name(emu, opp) == "Showing Booked"
    [again] = pipeline.advance_on_appointment(contact_id=contact)
    assert not again.moved and "never move back" in again.reason
    [back] = pipeline.advance_on_task_completed(
        contact_id=contact, task_title=f"Review hot deal — {good.mls_id}"
    )
    assert not back.moved and stage_name(emu, opp) == "Showing Booked"
    state = load_state(deal_env.engine, mls_id=good.mls_id, location_id="loc_demo")
    assert state.link.stage_id == opp.stage_id


def test_an_appointment_books_the_showing(deal_env):
    created = deal_env.pipeline.process(record(4))  # New Lead
    [move] = deal_env.pipeline.advance_on_appointment(contact_id=created.contact_id)
    assert (move.from_key, move.to_key) == ("new", "showing")
    assert deal_env.pipeline.advance_on_appointment(contact_id="nobody") == []


def test_a_location_drains_only_its_own_workflow_enrolments(deal_env):
    """An enrolment due at another location is left to that location's client: claimed with
    this token, GHL would refuse it (403) and it would be lost for good."""
    from services.pipeline.hot import WORKFLOW_KIND, WorkflowEnrolments
    from store import outbox as store_outbox

    now = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    payload = {"contact_id": "c_other", "workflow_id": "wf_other", "mls_id": "FL-1"}
    with session_scope(deal_env.engine) as session:
        store_outbox.enqueue(
            session=session, kind=WORKFLOW_KIND, dedupe_key=workflow_key("loc_other", "FL-1"),
            payload=payload, contact_id="c_other", now=now,
        )  # fmt: skip
    here = WorkflowEnrolments(
        client=deal_env.client, engine=deal_env.engine, clock=lambda: now, worker_id="w1"
    )
    assert deal_env.client.location_id == "loc_demo"
    assert here.drain() == 0
    assert outbox_items(deal_env.engine)[workflow_key("loc_other", "FL-1")].status == "pending"


def test_two_locations_saving_one_listing_at_once_keep_each_others_progress(engine):
    """One listing worked by two locations of an agency at once: each saves its progress over
    a state it read before the other wrote. Both must survive (a lost entry made a resumed
    deal skip its hot-deal steps: no card, no workflow)."""
    import threading

    record = PropertyRecord.parse(property_row(0))
    now = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    a = load_state(engine, mls_id=record.mls_id, location_id="loc_a")
    b = load_state(engine, mls_id=record.mls_id, location_id="loc_b")
    a.progress.pending = record.version()
    save_state(engine, state=a, record=record, location_id="loc_a", now=now)
    b.progress.done = record.version()
    save_state(engine, state=b, record=record, location_id="loc_b", now=now)
    again = load_state(engine, mls_id=record.mls_id, location_id="loc_a")
    assert again.has_history and again.progress.pending == record.version()
    assert load_state(engine, mls_id=record.mls_id, location_id="loc_b").progress.done

    start = threading.Barrier(4)

    def work(location_id: str) -> None:  # each saves over its own earlier read, many times
        state = load_state(engine, mls_id=record.mls_id, location_id=location_id)
        start.wait()
        for n in range(15):
            state.progress.notes = [f"{location_id}-{n}"]
            save_state(engine, state=state, record=record, location_id=location_id, now=now)

    threads = [threading.Thread(target=work, args=(f"loc_{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for i in range(4):
        state = load_state(engine, mls_id=record.mls_id, location_id=f"loc_{i}")
        assert state.has_history and state.progress.notes == [f"loc_{i}-14"], i
    assert load_state(engine, mls_id=record.mls_id, location_id="loc_a").has_history
