"""`dealfinder locations ...` and `dealfinder validate --location` (issue 14): the store on
SQLite and PostgreSQL, GHL the emulator over HTTP with a company install of two locations."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from bot.cli.main import app
from sandbox.ghl_emulator.oauth_state import InstallChoice
from tests.oauth_world import OAuthWorld

PREFIXES = ("GHL_", "SLACK_", "DEALFINDER_", "DATABASE_", "DRY_RUN", "SMS_RULES")


@pytest.fixture
def env(tmp_path, monkeypatch, db_url) -> Iterator[pytest.MonkeyPatch]:
    """Only DATABASE_URL (the test's store) set; no .env; the root logger put back after."""
    for name in [n for n in os.environ if n.startswith(PREFIXES)]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", db_url)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield monkeypatch
    root.handlers[:] = handlers
    root.setLevel(level)


def dealfinder(*args: str):
    return CliRunner().invoke(app, list(args))


def shown(location_id: str) -> dict:
    result = dealfinder("locations", "show", location_id, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_a_single_location_deployment_lists_its_location_with_no_step(env):
    env.setenv("GHL_LOCATION_ID", "locPIT")
    result = dealfinder("locations", "list", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == [
        {
            "location_id": "locPIT",
            "name": None,
            "status": "active",
            "install": "token",
            "active": True,
            "overrides": [],
        }
    ]
    assert shown("locPIT")["channels"] == {
        "deals": "#deals",
        "ops": "#ops-alerts",
        "replies": "#deals",
    }


def test_set_show_unset_disable_enable(env):
    env.setenv("GHL_LOCATION_ID", "locA")
    result = dealfinder(
        "locations", "set", "locA", "name=Alpha Team", "channels.deals=#deals-alpha",
        "mapping.pipeline.name=Alpha Acquisitions", 'sms_states={"TX": {"daily_cap": 1}}',
        "bound_channels=[\"C0ALPHA01\"]",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    profile = shown("locA")
    assert profile["name"] == "Alpha Team" and profile["pipeline"] == "Alpha Acquisitions"
    assert profile["channels"] == {
        "deals": "#deals-alpha",
        "ops": "#ops-alerts",
        "replies": "#deals-alpha",
    }
    assert profile["bound_channels"] == ["#deals-alpha", "C0ALPHA01"]
    assert profile["overrides"]["sms_states"] == {"TX": {"daily_cap": 1}}

    assert dealfinder("locations", "set", "locA", "channels.deals=").exit_code == 0
    assert shown("locA")["channels"]["deals"] == "#deals"

    assert dealfinder("locations", "disable", "locA").exit_code == 0
    listed = json.loads(dealfinder("locations", "list", "--json").output)
    assert listed == []
    every = json.loads(dealfinder("locations", "list", "--all", "--json").output)
    assert [(r["location_id"], r["status"], r["active"]) for r in every] == [
        ("locA", "disabled", False)
    ]
    assert dealfinder("locations", "enable", "locA").exit_code == 0
    assert json.loads(dealfinder("locations", "list", "--json").output)[0]["active"] is True


@pytest.mark.parametrize(
    ("assignment", "said"),
    [
        ("channel.deals=#x", "location locA: unknown key 'channel': use name or one of"),
        ("channels.deals=Deals", "location locA: channels: 'Deals' is not a Slack channel"),
        ("channels", "location locA: 'channels' is not key=value"),
        ("mapping.thresholds.hot=500", "(location locA): thresholds.hot: Input should be"),
        ('sms_states={"ZZ": {}}', "location locA: sms_states break the SMS rules"),
        ("mapping_file=/nowhere/map.json", "mapping file not found: /nowhere/map.json"),
    ],
)
@pytest.mark.slow  # over 0.5 s: the full run only (README, 'fast lane')
def test_a_bad_assignment_is_one_line_exit_2_and_changes_nothing(env, assignment, said):
    env.setenv("GHL_LOCATION_ID", "locA")
    assert dealfinder("locations", "set", "locA", "name=Alpha").exit_code == 0

    result = dealfinder("locations", "set", "locA", "name=Renamed", assignment)

    assert result.exit_code == 2
    assert said in result.output and len(result.output.strip().splitlines()) == 1
    assert "Traceback" not in result.output
    assert shown("locA")["name"] == "Alpha" and shown("locA")["overrides"] == {}


@pytest.mark.parametrize("verb", ["show", "disable", "enable"])
def test_an_unknown_location_is_exit_1_naming_it(env, verb):
    env.setenv("GHL_LOCATION_ID", "locA")
    result = dealfinder("locations", verb, "loc_typo")
    assert result.exit_code == 1
    assert result.output.startswith("unknown location loc_typo: `dealfinder locations list")


def test_set_before_install_is_kept_and_says_so(env):
    result = dealfinder("locations", "set", "loc_later", "channels.deals=#deals-later")
    assert result.exit_code == 0
    assert "loc_later is not installed yet" in result.output


def test_a_token_deployment_cannot_validate_another_location(env):
    env.setenv("GHL_LOCATION_ID", "locA")
    env.setenv("GHL_API_KEY", "pit-token-for-loc-a")
    assert dealfinder("locations", "set", "locB", "name=B").exit_code == 0
    result = dealfinder("validate", "--location", "locB")
    assert result.exit_code == 2
    assert "GHL_API_KEY serves GHL_LOCATION_ID (locA) only, not locB" in result.output


@pytest.fixture
def agency(seeded_emulator, db_url, env) -> Iterator[OAuthWorld]:
    """A company install approving loc_a (demo data) and loc_b (empty), the CLI's env set."""
    emulator = seeded_emulator
    emulator.seed_demo(buyers=3, seed=2, location_id="loc_a")
    emulator.state.ensure_location("loc_b")
    emulator.state.oauth.choice = InstallChoice(
        user_type="Company", company_id="comp_1", locations=("loc_a", "loc_b")
    )
    world = OAuthWorld.build(emulator=emulator, db_url=db_url)
    assert world.install().status_code == 200
    s = world.settings
    env.setenv("GHL_BASE_URL", s.ghl_base_url)
    env.setenv("GHL_CLIENT_ID", s.ghl_client_id or "")
    env.setenv("GHL_CLIENT_SECRET", s.ghl_client_secret.get_secret_value())  # type: ignore[union-attr]
    env.setenv("DEALFINDER_SECRET_KEY", world.key)
    env.setenv("GHL_APP_REDIRECT_URL", s.ghl_app_redirect_url or "")
    env.setenv("GHL_OAUTH_AUTHORIZE_URL", s.ghl_oauth_authorize_url)
    env.setenv("GHL_MAX_RETRIES", "0")
    yield world
    world.close()


def test_validate_checks_each_location_with_its_own_mapping(agency):
    listed = json.loads(dealfinder("locations", "list", "--json").output)
    assert [(r["location_id"], r["install"], r["active"]) for r in listed] == [
        ("loc_a", "installed", True),
        ("loc_b", "installed", True),
    ]
    ok = dealfinder("validate", "--location", "loc_a", "--json")
    assert ok.exit_code == 0, ok.output
    empty = dealfinder("validate", "--location", "loc_b", "--json")
    assert empty.exit_code == 1
    assert "DealFinder Acquisitions" in empty.output  # loc_b has no such pipeline

    # loc_a's own mapping now names a pipeline loc_a lacks: only loc_a's check changes
    assert dealfinder("locations", "set", "loc_a", "mapping.pipeline.name=Bay Deals").exit_code == 0
    moved = dealfinder("validate", "--location", "loc_a", "--json")
    assert moved.exit_code == 1 and "Bay Deals" in moved.output
    calls = agency.emulator.state.oauth.count("location_token", "200")
    assert calls == 2  # the tokens came from the one company install
