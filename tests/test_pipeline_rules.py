"""The deal pipeline's pure decisions: stages, names, fields, notes, task titles."""

import pytest

from services.config import load_deal_config
from services.ghl_map import GHLMap
from services.pipeline.rules import (
    contact_body,
    custom_field_values,
    forward_stage,
    initial_stage_key,
    is_named_for,
    note_body,
    note_marker,
    opportunity_name,
    parse_task_title,
    task_title,
)
from services.property import PropertyRecord
from tests.fixtures.pipeline import property_row

CONFIG = load_deal_config()
ORDER = CONFIG.pipeline.progression
MAP = GHLMap(
    location_id="loc",
    location_timezone=None,
    pipeline_id="p",
    pipeline_name=CONFIG.pipeline.name,
    stage_ids={k: f"stage_{k}" for k in CONFIG.pipeline.stages},
    stage_names=dict(CONFIG.pipeline.stages),
    contact_fields={},
    opportunity_fields={k: f"field_{k}" for k in CONFIG.opportunity_fields},
    users={},
    workflows={},
)


@pytest.mark.parametrize(
    ("score", "stage"),
    [(100, "priority"), (90, "priority"), (89, "good"), (75, "good"), (74, "new"), (0, "new")],
)
def test_initial_stage_by_score_and_hot_goes_to_priority(score, stage):
    assert initial_stage_key(CONFIG, score=score) == stage


@pytest.mark.parametrize(
    ("current", "target", "expected"),
    [
        ("new", "good", "good"),
        ("good", "priority", "priority"),
        ("contract", "good", None),  # a broker's "Under Contract" is never dragged back
        ("contract", "priority", None),
        ("priority", "priority", None),
        ("showing", "showing", None),
        ("contacted", "showing", "showing"),
        (None, "good", None),  # a stage the mapping does not name: left alone
        ("good", "no_such_stage", None),
    ],
)
def test_stages_only_move_forward(current, target, expected):
    assert forward_stage(current=current, target=target, progression=ORDER) == expected


def test_names_and_titles_carry_the_mls_id():
    record = PropertyRecord.parse(property_row(1, address="9 Elm St", city="Austin"))
    assert opportunity_name(record) == "TX-10001 — 9 Elm St, Austin"
    assert is_named_for("TX-10001 — 1 Other Rd, Austin", "TX-10001")
    assert not is_named_for("TX-100012 — 9 Elm St, Austin", "TX-10001")
    spec = CONFIG.tasks[1]
    title = task_title(spec, record)
    assert title == "Schedule showing — TX-10001"
    assert parse_task_title(CONFIG, title.upper()) == (spec, "TX-10001")
    assert parse_task_title(CONFIG, "Call the plumber") is None


def test_custom_fields_are_strings_for_every_set_source():
    record = PropertyRecord.parse(property_row(2, arv=None, baths=2.0))
    items = custom_field_values(record, config=CONFIG, ghl_map=MAP)
    by_id = {i["id"]: i["field_value"] for i in items}
    fields = MAP.opportunity_fields
    assert by_id[fields["deal_score"]] == str(record.deal_score)
    assert by_id[fields["baths"]] == "2"
    assert by_id[fields["mls_id"]] == "AZ-10002"
    assert fields["arv"] not in by_id  # no value, nothing sent (a hand-entered value stays)
    assert all(isinstance(v, str) for v in by_id.values())


def test_note_is_deterministic_and_marked_with_the_version():
    record = PropertyRecord.parse(property_row(3, analysis_notes="Needs roof."))
    body = note_body(record, version="abc123", stage_name="Good Deal")
    assert body == note_body(record, version="abc123", stage_name="Good Deal")
    assert body.startswith(note_marker(record.mls_id, "abc123"))
    assert "Needs roof." in body and "$" in body


def test_contact_body_never_sends_tags_which_would_replace_the_contacts_own():
    record = PropertyRecord.parse(property_row(4, agent_name="Ana María Soto"))
    body = contact_body(record)
    assert "tags" not in body
    assert (body["firstName"], body["lastName"]) == ("Ana", "María Soto")
