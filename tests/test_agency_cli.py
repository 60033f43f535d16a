"""`dealfinder worker --agency` and `dealfinder agency-status`: the answers that need no GHL."""

from __future__ import annotations

import os

import pytest
import typer
from typer.testing import CliRunner

from bot.cli import ops as cli_ops
from bot.cli.common import EXIT_CONFIG


@pytest.fixture
def app(tmp_path, monkeypatch) -> typer.Typer:
    """The ops commands, with no DealFinder settings in the environment and no .env file."""
    for name in list(os.environ):
        if name.startswith(("GHL_", "SLACK_", "DEALFINDER_", "DATABASE_", "DRY_RUN")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    app = typer.Typer()
    app.callback()(lambda: None)
    cli_ops.register(app)
    return app


def test_an_agency_worker_refuses_a_dry_run(app):
    result = CliRunner().invoke(app, ["worker", "--agency"], env={"DEALFINDER_DRY_RUN": "1"})
    assert result.exit_code == EXIT_CONFIG
    assert "no dry run" in result.output and "Traceback" not in result.output


def test_agency_status_with_no_location_says_how_to_get_one(app, sqlite_url):
    result = CliRunner().invoke(app, ["agency-status"], env={"DATABASE_URL": sqlite_url})
    assert result.exit_code == 0, result.output
    assert "no active locations" in result.output


def test_agency_status_lists_the_private_token_location_unworked(app, sqlite_url):
    env = {"DATABASE_URL": sqlite_url, "GHL_API_KEY": "pit-123", "GHL_LOCATION_ID": "loc_x"}
    result = CliRunner().invoke(app, ["agency-status"], env=env)
    assert result.exit_code == 1
    assert "loc_x  NOT HELD by any live worker  waiting  0 queued" in result.output
