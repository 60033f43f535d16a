"""The GHL app install over real HTTP: /ghl/install -> GHL's chooser (the emulator approves by
itself) -> /ghl/oauth/callback -> tokens stored encrypted -> API calls with the OAuth token;
and every bad callback (forged, missing, replayed or expired state; a code GHL refuses)
answered 400 with nothing stored. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
import requests
from cryptography.fernet import Fernet
from freezegun import freeze_time
from sqlalchemy import text
from sqlmodel import select

from ghl.auth import GHLReinstallNeeded
from sandbox.ghl_emulator.oauth_state import InstallChoice
from store.db import session_scope
from store.models_oauth import GHLInstall, OAuthGrant
from tests.oauth_world import OAuthWorld


@pytest.fixture
def world(seeded_emulator, db_url) -> Iterator[OAuthWorld]:
    built = OAuthWorld.build(emulator=seeded_emulator, db_url=db_url)
    yield built
    built.close()


def grants(world: OAuthWorld) -> list[OAuthGrant]:
    with session_scope(world.engine, readonly=True) as session:
        return list(session.exec(select(OAuthGrant)).all())


def raw_columns(world: OAuthWorld, key: str) -> tuple[str, str]:
    with world.engine.connect() as conn:
        row = conn.execute(
            text("SELECT access_token_enc, refresh_token_enc FROM ghl_oauth_grants WHERE key = :k"),
            {"k": key},
        ).one()
    return row[0], row[1]


def test_install_end_to_end_stores_encrypted_tokens_and_calls_use_them(world):
    answer = world.install()

    assert answer.status_code == 200 and "Installed at loc_demo" in answer.text
    assert world.emulator.state.oauth.count("authorization_code", "200") == 1
    issued = set(world.emulator.state.oauth.access)
    access_enc, refresh_enc = raw_columns(world, "loc_demo")
    fernet = Fernet(world.key.encode())
    access = fernet.decrypt(access_enc.encode()).decode()
    refresh = fernet.decrypt(refresh_enc.encode()).decode()
    assert access in issued and refresh in world.emulator.state.oauth.refresh
    assert access not in access_enc and refresh not in refresh_enc  # no plaintext at rest
    with session_scope(world.engine, readonly=True) as session:
        install = session.get(GHLInstall, "loc_demo")
    assert install is not None and install.status == "installed"

    location = world.client("loc_demo").locations.get()

    assert location.id == "loc_demo"
    # The client was given no static token: the emulator accepted the OAuth access token.
    assert world.emulator.count("GET", "/locations/{locationId}", 200) == 1


def test_a_company_install_gets_each_approved_locations_token(world):
    emulator = world.emulator
    for location_id in ("loc_a", "loc_b"):
        emulator.state.ensure_location(location_id)
    emulator.state.oauth.choice = InstallChoice(
        user_type="Company", company_id="comp_1", locations=("loc_a", "loc_b")
    )

    answer = world.install()

    assert answer.status_code == 200 and "loc_a, loc_b" in answer.text
    assert emulator.state.oauth.count("location_token", "200") == 2
    by_key = {g.key: g for g in grants(world)}
    assert set(by_key) == {"company:comp_1", "loc_a", "loc_b"}
    assert by_key["loc_a"].source == "company" and by_key["loc_a"].company_id == "comp_1"
    assert world.client("loc_b").locations.get().id == "loc_b"


@pytest.mark.parametrize(
    "query",
    [
        {"code": "x"},  # no state at all
        {"code": "x", "state": "forged-state-never-issued"},
        {"code": "x", "state": ""},
        {"code": "x", "state": "s" * 5000},
    ],
    ids=["missing", "forged", "empty", "oversized"],
)
@pytest.mark.slow  # over 0.5 s: the full run only (README, 'fast lane')
def test_a_callback_without_a_state_we_issued_is_refused_and_stores_nothing(world, query):
    answer = requests.get(world.http.url + "/ghl/oauth/callback?" + urlencode(query), timeout=10)

    assert answer.status_code == 400
    assert "Start the install again at /ghl/install" in answer.text
    assert grants(world) == []
    assert world.emulator.state.oauth.calls == []  # no code was exchanged


def test_a_replayed_callback_is_refused(world):
    callback, _ = world.start_install()
    first = requests.get(callback, timeout=10)
    assert first.status_code == 200
    stored = [(g.key, g.access_token_enc) for g in grants(world)]

    again = requests.get(callback, timeout=10)

    assert again.status_code == 400 and "already used" in again.text
    assert [(g.key, g.access_token_enc) for g in grants(world)] == stored
    assert world.emulator.state.oauth.count("authorization_code") == 1


def test_a_callback_after_the_state_expired_is_refused(world):
    callback, _ = world.start_install()

    with freeze_time(datetime.now(UTC) + timedelta(minutes=11), tick=True):
        answer = requests.get(callback, timeout=10)

    assert answer.status_code == 400 and "expired" in answer.text
    assert grants(world) == []


def test_a_code_ghl_refuses_gets_a_clear_page_and_stores_nothing(world):
    callback, state = world.start_install()
    parts = urlsplit(callback)
    tampered = urlunsplit(parts._replace(query=urlencode({"code": "not-a-code", "state": state})))

    answer = requests.get(tampered, timeout=10)

    assert answer.status_code == 400
    assert "GHL refused the install" in answer.text and "(400)" in answer.text
    assert grants(world) == []
    assert world.emulator.state.oauth.count("authorization_code", "400") == 1


def test_the_install_redirect_names_the_scopes_and_a_fresh_state_each_time(world):
    first = requests.get(world.http.url + "/ghl/install", allow_redirects=False, timeout=10)
    second = requests.get(world.http.url + "/ghl/install", allow_redirects=False, timeout=10)

    queries = [parse_qs(urlsplit(r.headers["Location"]).query) for r in (first, second)]
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"].startswith(world.settings.ghl_oauth_authorize_url)
    scopes = set(queries[0]["scope"][0].split())
    assert {"contacts.write", "opportunities.write", "conversations/message.write"} <= scopes
    assert queries[0]["redirect_uri"] == [world.settings.ghl_app_redirect_url]
    assert queries[0]["state"] != queries[1]["state"]
    assert len(queries[0]["state"][0]) >= 30


def test_a_location_never_installed_says_so(world):
    with pytest.raises(GHLReinstallNeeded, match=r"loc_unknown.*never installed"):
        world.client("loc_unknown").locations.get()
    assert world.emulator.count("GET", "/locations/{locationId}") == 0


@pytest.mark.parametrize(
    ("extra", "said"),
    [({}, "has no code"), ({"error": "access_denied"}, "Install cancelled")],
    ids=["no-code", "denied-in-ghl"],
)
def test_a_valid_state_without_a_code_is_refused_and_used_up(world, extra, said):
    _, state = world.start_install()
    query = urlencode({"state": state} | extra)

    answer = requests.get(world.http.url + "/ghl/oauth/callback?" + query, timeout=10)

    assert answer.status_code == 400 and said in answer.text
    assert grants(world) == [] and world.emulator.state.oauth.calls == []


@pytest.mark.parametrize("path", ["/ghl/install", "/ghl/oauth/callback"])
def test_other_methods_are_refused(world, path):
    answer = requests.post(world.http.url + path, data={"state": "x"}, timeout=10)
    assert answer.status_code == 405 and grants(world) == []
