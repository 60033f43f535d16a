"""The emulator's OAuth 2.0 as GHL documents it (apps/oauth.json, ghl-api README): form-encoded
token requests, single-use codes and rotating single-use refresh tokens, expiry by the
emulator's clock (freezegun), 401 for an expired access token, location tokens only for a
company's approved locations, and clear 4xx answers to everything else."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from freezegun import freeze_time

from sandbox.ghl_emulator.oauth_state import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, InstallChoice

REDIRECT = "https://dealfinder.example/ghl/oauth/callback"


def authorize(emulator, **params) -> requests.Response:
    query = {
        "response_type": "code",
        "client_id": DEFAULT_CLIENT_ID,
        "redirect_uri": REDIRECT,
        "scope": "contacts.readonly",
        "state": "st-1",
    } | params
    return requests.get(
        emulator.url + "/oauth/chooselocation?" + urlencode(query),
        allow_redirects=False,
        timeout=10,
    )


def code_of(emulator) -> str:
    answer = authorize(emulator)
    assert answer.status_code == 302
    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert query["state"] == ["st-1"]
    return query["code"][0]


def token(emulator, **form) -> requests.Response:
    body = {"client_id": DEFAULT_CLIENT_ID, "client_secret": DEFAULT_CLIENT_SECRET} | form
    return requests.post(emulator.url + "/oauth/token", data=body, timeout=10)


def api(emulator, access: str) -> requests.Response:
    return requests.get(
        emulator.url + "/locations/loc_demo",
        timeout=10,
        headers={"Authorization": f"Bearer {access}", "Version": "2021-07-28"},
    )


@pytest.fixture
def emu(seeded_emulator):
    return seeded_emulator


def test_code_exchange_and_the_token_works_for_its_location(emu):
    answer = token(emu, grant_type="authorization_code", code=code_of(emu), redirect_uri=REDIRECT)
    assert answer.status_code == 200
    body = answer.json()
    assert body["userType"] == "Location" and body["locationId"] == "loc_demo"
    assert body["expires_in"] == 86_399 and body["refresh_token"]
    assert api(emu, body["access_token"]).status_code == 200


def test_a_code_works_once(emu):
    code = code_of(emu)
    assert token(emu, grant_type="authorization_code", code=code).status_code == 200
    again = token(emu, grant_type="authorization_code", code=code)
    assert again.status_code == 400 and "authorization code is invalid" in again.json()["message"]


def test_refresh_rotates_and_the_old_refresh_token_dies(emu):
    first = token(emu, grant_type="authorization_code", code=code_of(emu)).json()
    second = token(emu, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert second.status_code == 200
    assert second.json()["refresh_token"] != first["refresh_token"]
    reused = token(emu, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert reused.status_code == 400 and "refresh token is invalid" in reused.json()["message"]


def test_access_tokens_expire_by_the_emulators_clock(emu):
    access = token(emu, grant_type="authorization_code", code=code_of(emu)).json()["access_token"]
    with freeze_time(datetime.now(UTC) + timedelta(seconds=86_400)):
        expired = api(emu, access)
    assert expired.status_code == 401 and expired.json()["message"] == "Invalid JWT"


def test_a_lost_refresh_answer_still_rotated_the_tokens(emu):
    first = token(emu, grant_type="authorization_code", code=code_of(emu)).json()
    emu.queue_fault("POST", "/oauth/token", "drop_after_commit")
    with pytest.raises(requests.ConnectionError):
        token(emu, grant_type="refresh_token", refresh_token=first["refresh_token"])
    again = token(emu, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert again.status_code == 400
    assert emu.state.oauth.count("refresh_token", "200") == 1


@pytest.mark.parametrize(
    ("form", "status"),
    [
        ({"client_secret": "wrong"}, 401),
        ({"grant_type": "password"}, 422),  # not in the file's enum
        ({"grant_type": "refresh_token", "refresh_token": "never-issued"}, 400),
    ],
    ids=["bad-secret", "bad-grant-type", "unknown-refresh-token"],
)
def test_bad_token_requests_get_clear_4xx(emu, form, status):
    if status == 422:
        emu.expect_request_violations(1)
    answer = token(emu, **({"grant_type": "authorization_code", "code": "x"} | form))
    assert answer.status_code == status and answer.json()["statusCode"] == status


@pytest.mark.parametrize(
    "params",
    [{"client_id": "someone-else"}, {"response_type": "token"}, {"redirect_uri": "javascript:x"}],
    ids=["unknown-client", "implicit-grant", "bad-redirect"],
)
def test_the_chooser_refuses_what_ghl_would(emu, params):
    answer = authorize(emu, **params)
    assert answer.status_code == 400 and "Location" not in answer.headers


def test_location_tokens_only_for_a_companys_approved_locations(emu):
    emu.state.ensure_location("loc_a")
    emu.state.oauth.choice = InstallChoice(
        user_type="Company", company_id="comp_1", locations=("loc_a",)
    )
    company = token(emu, grant_type="authorization_code", code=code_of(emu)).json()
    assert company["userType"] == "Company" and company["approvedLocations"] == ["loc_a"]
    headers = {"Authorization": f"Bearer {company['access_token']}", "Version": "2021-07-28"}

    def location_token(location_id: str) -> requests.Response:
        return requests.post(
            emu.url + "/oauth/locationToken",
            headers=headers,
            timeout=10,
            data={"companyId": "comp_1", "locationId": location_id},
        )

    granted = location_token("loc_a")
    assert granted.status_code == 200 and granted.json()["locationId"] == "loc_a"
    assert location_token("loc_demo").status_code == 400
    # A company token is not a location token: API calls with it are refused.
    assert api(emu, company["access_token"]).status_code == 401


def test_the_control_api_steers_the_chooser_and_expires_tokens(emu):
    emu.state.ensure_location("loc_b")
    control = emu.url + "/_emulator/oauth"
    answer = requests.post(
        control, json={"choice": {"locationId": "loc_b"}, "accessSeconds": 120}, timeout=10
    )
    assert answer.status_code == 200
    body = token(emu, grant_type="authorization_code", code=code_of(emu)).json()
    assert body["locationId"] == "loc_b" and body["expires_in"] == 120

    requests.post(control, json={"expire": True}, timeout=10)

    assert (
        requests.get(
            emu.url + "/locations/loc_b",
            timeout=10,
            headers={"Authorization": f"Bearer {body['access_token']}", "Version": "2021-07-28"},
        ).status_code
        == 401
    )
    log = requests.get(control, timeout=10).json()
    assert log["calls"] == [{"grantType": "authorization_code", "outcome": "200"}]
    assert body["access_token"] not in json.dumps(log)
