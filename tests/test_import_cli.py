"""`dealfinder import` and `dealfinder validate` as a user runs them (typer's runner)."""

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from bot.cli.deals import register
from tests.fixtures.pipeline import BAD_ROWS, property_rows, write_batch

SAMPLES = Path(__file__).resolve().parents[1] / "services" / "samples"
UNSET = dict.fromkeys(
    ("GHL_API_KEY", "GHL_LOCATION_ID", "DEALFINDER_DRY_RUN", "DRY_RUN", "DEALFINDER_MAPPING_FILE")
) | {"DEALFINDER_LOG_LEVEL": "WARNING"}


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no stray .env; the store file lands here
    app = typer.Typer()
    register(app)

    def invoke(*args: str, **env: str):
        return CliRunner().invoke(app, list(args), env=UNSET | env)

    return invoke


@pytest.mark.parametrize("name", ["mls_batch.json", "mls_batch.jsonl", "mls_batch.csv"])
def test_the_samples_import_in_a_dry_run(run, name):
    result = run("import", str(SAMPLES / name), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "created" in result.output and "dry run" in result.output
    assert "per created/updated property" in result.output


def test_json_summary_and_exit_code_for_bad_rows(run, tmp_path):
    path = write_batch(tmp_path / "b.json", [*property_rows(3), BAD_ROWS[2][0]])
    result = run("import", str(path), "--json", DEALFINDER_DRY_RUN="1")
    assert result.exit_code == 1
    summary = json.loads(result.stdout)
    assert summary["counts"]["created"] == 3 and not summary["ok"]
    assert summary["bad_records"][0]["mls_id"] == BAD_ROWS[2][0]["mls_id"]
    assert "deal_score" in summary["bad_records"][0]["reason"]
    assert summary["headroom"]["daily_max"] == 200_000


def test_without_credentials_it_names_the_missing_settings(run):
    result = run("import", str(SAMPLES / "mls_batch.json"))
    assert result.exit_code == 2
    assert "GHL_API_KEY is not set" in result.output and "GHL_LOCATION_ID" in result.output


def test_an_unknown_file_type_is_a_clear_error(run, tmp_path):
    (tmp_path / "deals.xlsx").write_bytes(b"PK")
    result = run("import", str(tmp_path / "deals.xlsx"), "--dry-run")
    assert result.exit_code == 2 and "unknown file type '.xlsx'" in result.output


def test_validate_against_a_live_location(run, seeded_emulator):
    live = {"GHL_API_KEY": "emu-token", "GHL_LOCATION_ID": "loc_demo",
            "GHL_BASE_URL": seeded_emulator.url, "GHL_RATE_BACKEND": "memory"}  # fmt: skip
    ok = run("validate", "--json", **live)
    assert ok.exit_code == 0 and json.loads(ok.stdout)["ok"]
    [pipeline] = seeded_emulator.state.pipelines.values()
    pipeline.stages = [s for s in pipeline.stages if s.name != "Under Contract"]
    bad = run("validate", **live)
    assert bad.exit_code == 1
    assert "FAIL" in bad.output and "cannot create" in " ".join(bad.output.split())
