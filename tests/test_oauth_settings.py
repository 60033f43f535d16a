"""Settings of the app install: every command refuses to start (exit 2, one line naming the
setting and the fix) when the app is configured without a usable DEALFINDER_SECRET_KEY; a
Private Integration Token works as before; with only the install, the configured location's
commands use its OAuth tokens. Real `dealfinder` subprocesses against the emulator."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot.runtime import Runtime
from bot.settings import Settings, load_settings
from ghl.oauth import SCOPES
from sandbox.ghl_emulator.oauth_state import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, InstallChoice
from tests.oauth_world import OAuthWorld
from tests.test_cli import assert_no_traceback, run

APP = {
    "GHL_CLIENT_ID": DEFAULT_CLIENT_ID,
    "GHL_CLIENT_SECRET": DEFAULT_CLIENT_SECRET,
    "GHL_APP_REDIRECT_URL": "https://dealfinder.example/ghl/oauth/callback",
    "GHL_LOCATION_ID": "loc_demo",
}


@pytest.mark.slow  # a CLI subprocess each
@pytest.mark.parametrize(
    ("key", "said"),
    [
        (None, "DEALFINDER_SECRET_KEY is not set"),
        ("", "DEALFINDER_SECRET_KEY is not set"),
        ("not-a-fernet-key", "DEALFINDER_SECRET_KEY is not a Fernet key"),
    ],
    ids=["unset", "blank", "malformed"],
)
def test_a_configured_app_without_a_usable_key_refuses_to_start(tmp_path, key, said):
    env = dict(APP, DATABASE_URL=f"sqlite:///{tmp_path / 'df.db'}")
    if key is not None:
        env["DEALFINDER_SECRET_KEY"] = key

    result = run(["health"], env=env, cwd=tmp_path)

    assert result.returncode == 2
    assert_no_traceback(result)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    # One line (the CLI's error table): the setting, then the fix.
    assert len(lines) == 1, result.stderr
    assert f"Configuration problem: {said}" in lines[0] and "Fernet.generate_key()" in lines[0]
    assert not (tmp_path / "df.db").exists()  # refused before touching anything


def test_an_app_without_its_redirect_url_names_it():
    problems = Settings(
        GHL_CLIENT_ID="x", GHL_CLIENT_SECRET="y", DEALFINDER_SECRET_KEY=Fernet.generate_key()
    ).oauth_problems()
    assert len(problems) == 1 and problems[0].startswith("GHL_APP_REDIRECT_URL is not set")


def test_without_the_app_nothing_about_it_is_required_or_served():
    settings = load_settings(GHL_API_KEY="pit-0123456789abcdef0123", GHL_LOCATION_ID="loc_1")
    assert settings.oauth_problems() == [] and not settings.oauth_configured
    assert Runtime(settings).oauth is None  # so `serve` mounts no /ghl/install routes


@pytest.mark.slow  # over 0.5 s: the full run only (README, 'fast lane')
def test_a_command_uses_the_install_when_there_is_no_private_token(seeded_emulator, tmp_path):
    db_url = f"sqlite:///{tmp_path / 'df.db'}"
    seeded_emulator.state.oauth.choice = InstallChoice(location_id="loc_demo")
    world = OAuthWorld.build(emulator=seeded_emulator, db_url=db_url)
    try:
        assert world.install().status_code == 200
    finally:
        world.close()
    env = dict(
        APP, DATABASE_URL=db_url, GHL_BASE_URL=seeded_emulator.url, DEALFINDER_SECRET_KEY=world.key
    )

    result = run(["health", "--json"], env=env, cwd=tmp_path)

    assert_no_traceback(result)
    assert result.returncode == 0, result.stderr
    assert seeded_emulator.count("GET", "/locations/{locationId}", 200) >= 1
    assert world.key not in result.stdout + result.stderr


def test_the_readme_lists_the_scopes_install_asks_for_and_the_new_settings():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    listed = re.search(r"Auth → Scopes: `([^`]+)`", readme)
    assert listed is not None
    assert listed.group(1).split() == list(SCOPES)
    for name in (
        "GHL_CLIENT_ID",
        "GHL_CLIENT_SECRET",
        "GHL_APP_REDIRECT_URL",
        "GHL_OAUTH_AUTHORIZE_URL",
        "DEALFINDER_SECRET_KEY",
    ):
        assert f"| `{name}` |" in readme
