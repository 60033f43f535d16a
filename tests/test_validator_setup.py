"""`validate_setup` against the emulator's demo location: passes, reports, and fixes."""

import pytest

from ghl.client import GHLClient
from sandbox.ghl_emulator import DEFAULT_TOKEN, DEMO_LOCATION_ID
from services.config import load_deal_config
from services.ghl_map import GHLMap, GHLMapError
from services.validator import types_compatible, validate_setup

CONFIG = load_deal_config()


@pytest.fixture
def client(seeded_emulator):
    with GHLClient(
        token=DEFAULT_TOKEN, location_id=DEMO_LOCATION_ID, base_url=seeded_emulator.url
    ) as ghl:
        yield ghl


def row(report, check_start):
    return next(r for r in report.rows if r.check.startswith(check_start))


def test_the_demo_location_passes(client):
    report = validate_setup(client, CONFIG)
    assert report.ok and report.failures == [], report.failures
    assert report.location == "DealFinder Demo Realty"
    assert row(report, "pipeline 'DealFinder Acquisitions'").ok
    assert len([r for r in report.rows if r.check.startswith("stage ")]) == 8
    assert len([r for r in report.rows if " field " in r.check]) == 20
    # The demo seeds no "new_deal" tag: GHL would make it on first use, so it only warns.
    assert [r.check for r in report.warnings] == ["tag 'new_deal'"]


def test_a_missing_field_and_tag_are_reported_then_fixed(seeded_emulator, client):
    state = seeded_emulator.state
    arv = next(f for f in state.custom_fields.values() if f.name == "ARV")
    del state.custom_fields[arv.id]
    hot = next(t for t in state.tags.values() if t.name == "hot_deal")
    del state.tags[hot.id]

    report = validate_setup(client, CONFIG)
    assert not report.ok
    field = row(report, "opportunity field 'ARV'")
    assert not field.ok and "validate --fix" in field.fix
    tag = row(report, "tag 'hot_deal'")
    assert not tag.ok and tag.severity == "warning" and "--fix" in tag.fix
    with pytest.raises(GHLMapError, match=r"ARV(.|\n)*validate --fix"):
        GHLMap.resolve(client, CONFIG)

    fixed = validate_setup(client, CONFIG, fix=True)
    assert fixed.ok and sorted(fixed.fixed) == [
        "opportunity custom field 'ARV'", "tag 'hot_deal'", "tag 'new_deal'",
    ]  # fmt: skip
    made = next(f for f in state.custom_fields.values() if f.name == "ARV")
    assert (made.model, made.data_type) == ("opportunity", "MONETORY")
    again = validate_setup(client, CONFIG)
    assert again.ok and again.fixed == [] and row(again, "tag 'hot_deal'").ok
    assert GHLMap.resolve(client, CONFIG).opportunity_fields["arv"] == made.id


def test_a_missing_stage_says_the_api_cannot_make_it(seeded_emulator, client):
    [pipeline] = seeded_emulator.state.pipelines.values()
    pipeline.stages = [s for s in pipeline.stages if s.name != "Showing Booked"]
    fields_before = len(seeded_emulator.state.custom_fields)
    report = validate_setup(client, CONFIG, fix=True)
    stage = row(report, "stage 'Showing Booked' (showing)")
    assert not report.ok and not stage.ok
    assert "Add stage 'Showing Booked'" in stage.fix and "cannot create" in stage.fix
    assert "pipeline.stages.showing" in stage.fix
    assert len(seeded_emulator.state.custom_fields) == fields_before  # nothing else touched


def test_wrong_types_workflows_and_users_are_each_reported(seeded_emulator, client):
    state = seeded_emulator.state
    next(f for f in state.custom_fields.values() if f.name == "Beds").data_type = "TEXT"
    next(w for w in state.workflows.values() if w.name == "Hot Deal Alert").name = "Old Alert"
    next(u for u in state.users.values() if u.first_name == "Priya").email = "p@example.com"
    report = validate_setup(client, CONFIG, fix=True)
    assert {r.check.split(" (")[0] for r in report.failures} == {
        "opportunity field 'Beds'", "workflow 'Hot Deal Alert'", "user priya.shah@example.com",
    }  # fmt: skip
    assert "never changes fields" in row(report, "opportunity field 'Beds'").fix
    assert "cannot create workflows" in row(report, "workflow 'Hot Deal Alert'").fix


def test_a_bad_token_stops_at_the_first_check(seeded_emulator):
    with GHLClient(token="nope", location_id=DEMO_LOCATION_ID, base_url=seeded_emulator.url) as c:
        report = validate_setup(c, CONFIG)
    assert not report.ok and len(report.rows) == 1 and "GHL_API_KEY" in report.rows[0].fix


@pytest.mark.parametrize(
    ("wanted", "actual", "ok"),
    [("NUMERICAL", "MONETORY", True), ("TEXT", "LARGE_TEXT", True), ("NUMERICAL", "TEXT", False),
     ("MONETORY", "MONETORY", True), ("TEXT", "NUMERICAL", False)],
)  # fmt: skip
def test_type_compatibility(wanted, actual, ok):
    assert types_compatible(wanted, actual) is ok
