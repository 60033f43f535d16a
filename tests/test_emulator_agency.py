"""The emulator as an agency (issue 14, item 5): any number of locations, each with its own
records, limits and OAuth tokens, and stats per location -- all over HTTP, as DealFinder's
workers and bench/agency.py see it."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from sandbox.ghl_emulator.agency import AGENCY_COMPANY_ID, agency_token
from sandbox.ghl_emulator.oauth_state import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from tests.fixtures.emulator import GHLHttp

LOC1, LOC2, LOC3 = "loc_agency_01", "loc_agency_02", "loc_agency_03"


def control(emulator, method: str, name: str, status: int = 200, **kwargs) -> dict:
    answer = requests.request(method, f"{emulator.url}/_emulator/{name}", timeout=10, **kwargs)
    assert answer.status_code == status, answer.text
    return answer.json()


@pytest.fixture
def agency(emulator):
    """The emulator with three agency locations seeded over the control API."""
    seeded = control(emulator, "POST", "seed", json={"agency": 3, "buyers": 4})
    assert seeded == {"locations": [LOC1, LOC2, LOC3]}
    return emulator


def as_location(emulator, location_id: str) -> GHLHttp:
    return GHLHttp(emulator.url, agency_token(location_id))


def test_each_location_has_records_of_its_own_with_names_that_differ(agency):
    seen: dict[str, dict] = {}
    for location_id in (LOC1, LOC2, LOC3):
        http = as_location(agency, location_id)
        pipelines = http.get("/opportunities/pipelines", params={"locationId": location_id})
        fields = http.get(f"/locations/{location_id}/customFields")
        users = http.get("/users/", params={"locationId": location_id})
        buyers = http.post("/contacts/search", json={"locationId": location_id, "pageLimit": 50})
        location = http.get(f"/locations/{location_id}")
        for answer in (pipelines, fields, users, buyers, location):
            assert answer.status_code == 200, answer.text
        seen[location_id] = {
            "pipeline": pipelines.json()["pipelines"][0],
            "fields": {f["name"]: f["id"] for f in fields.json()["customFields"]},
            "users": {u["email"]: u["id"] for u in users.json()["users"]},
            "buyers": {c["id"] for c in buyers.json()["contacts"]},
            "name": location.json()["location"]["name"],
        }
    one, two = seen[LOC1], seen[LOC2]
    assert (one["name"], two["name"]) == ("Tampa Office 01", "Austin Office 02")
    assert "Budget Min (Tampa office)" in one["fields"]
    assert "Budget Min (Austin office)" in two["fields"]
    assert one["pipeline"]["id"] != two["pipeline"]["id"]
    assert {s["id"] for s in one["pipeline"]["stages"]}.isdisjoint(
        s["id"] for s in two["pipeline"]["stages"]
    )
    # The same agents by e-mail (the mapping names users so), with the location's own ids.
    assert one["users"].keys() == two["users"].keys()
    assert set(one["users"].values()).isdisjoint(two["users"].values())
    assert len(one["buyers"]) == 4 and one["buyers"].isdisjoint(two["buyers"])
    # A location's token reaches its own location only.
    denied = as_location(agency, LOC1).get(f"/locations/{LOC2}")
    assert denied.status_code == 403


def test_distinct_pipelines_give_each_location_a_pipeline_name_of_its_own(emulator):
    control(emulator, "POST", "seed", json={"agency": 2, "buyers": 0, "distinctPipelines": True})
    names = {p.location_id: p.name for p in emulator.state.pipelines.values()}
    assert names == {
        LOC1: "DealFinder Acquisitions Tampa 01",
        LOC2: "DealFinder Acquisitions Austin 02",
    }


def test_a_locations_own_burst_limit_refuses_it_alone_and_stats_say_which(agency):
    limits = control(agency, "POST", "limits", json={"locationId": LOC2, "burstMax": 3})
    assert limits["locations"][LOC2]["burst_max"] == 3
    assert limits["default"]["burst_max"] == 100
    two, one = as_location(agency, LOC2), as_location(agency, LOC1)
    answers = [two.get(f"/locations/{LOC2}") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[0].headers["X-RateLimit-Max"] == "3"
    assert all(one.get(f"/locations/{LOC1}").status_code == 200 for _ in range(5))

    stats = control(agency, "GET", "stats")["locations"]
    assert stats[LOC2] == {"requests": 4, "statuses": {"200": 3, "429": 1}, "rate_limited": 1}
    assert stats[LOC1] == {"requests": 5, "statuses": {"200": 5}, "rate_limited": 0}
    assert LOC3 not in stats


def test_a_location_at_its_daily_limit_waits_for_midnight_while_the_others_work(agency):
    control(agency, "POST", "limits", json={"locationId": LOC1, "dailyMax": 2})
    one = as_location(agency, LOC1)
    assert [one.get(f"/locations/{LOC1}").status_code for _ in range(2)] == [200, 200]
    refused = one.get(f"/locations/{LOC1}")
    assert refused.status_code == 429
    assert refused.headers["X-RateLimit-Daily-Remaining"] == "0"
    assert int(refused.headers["Retry-After"]) > 10  # until midnight UTC, not a burst wait
    assert as_location(agency, LOC3).get(f"/locations/{LOC3}").status_code == 200

    cleared = control(agency, "POST", "limits", json={"locationId": LOC1})
    assert cleared["locations"] == {}
    assert one.get(f"/locations/{LOC1}").status_code == 200  # GHL's 200,000 a day again


def company_install(emulator) -> dict:
    """GHL's chooser (approving the agency) -> code -> company tokens, over HTTP."""
    query = {
        "response_type": "code",
        "client_id": DEFAULT_CLIENT_ID,
        "redirect_uri": "https://dealfinder.example/ghl/oauth/callback",
        "scope": "contacts.readonly",
    }
    chooser = requests.get(
        f"{emulator.url}/oauth/chooselocation?{urlencode(query)}",
        allow_redirects=False,
        timeout=10,
    )
    assert chooser.status_code == 302
    code = parse_qs(urlsplit(chooser.headers["Location"]).query)["code"][0]
    answer = requests.post(
        f"{emulator.url}/oauth/token",
        data={
            "client_id": DEFAULT_CLIENT_ID,
            "client_secret": DEFAULT_CLIENT_SECRET,
            "grant_type": "authorization_code",
            "code": code,
        },
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def location_token(emulator, company: dict, location_id: str) -> str:
    answer = requests.post(
        f"{emulator.url}/oauth/locationToken",
        headers={"Authorization": f"Bearer {company['access_token']}", "Version": "2021-07-28"},
        data={"companyId": AGENCY_COMPANY_ID, "locationId": location_id},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]


def test_one_company_install_gives_every_location_tokens_of_its_own(agency):
    company = company_install(agency)
    assert company["userType"] == "Company" and company["companyId"] == AGENCY_COMPANY_ID
    assert company["approvedLocations"] == [LOC1, LOC2, LOC3]
    tokens = {loc: location_token(agency, company, loc) for loc in (LOC1, LOC2, LOC3)}
    assert len(set(tokens.values())) == 3
    for location_id, token in tokens.items():
        http = GHLHttp(agency.url, token)
        assert http.get(f"/locations/{location_id}").json()["location"]["id"] == location_id
        other = LOC2 if location_id != LOC2 else LOC3
        assert http.get(f"/locations/{other}").status_code == 403


def test_oauth_tokens_of_one_location_share_its_quota_however_often_they_rotate(agency):
    """GHL counts per app per location: a fresh access token does not get a fresh window."""
    control(agency, "POST", "limits", json={"locationId": LOC1, "burstMax": 2})
    company = company_install(agency)
    first, second = (location_token(agency, company, LOC1) for _ in range(2))
    assert first != second
    assert GHLHttp(agency.url, first).get(f"/locations/{LOC1}").status_code == 200
    assert GHLHttp(agency.url, second).get(f"/locations/{LOC1}").status_code == 200
    assert GHLHttp(agency.url, second).get(f"/locations/{LOC1}").status_code == 429
    third_location = GHLHttp(agency.url, location_token(agency, company, LOC3))
    assert third_location.get(f"/locations/{LOC3}").status_code == 200


@pytest.mark.parametrize(
    ("name", "body", "message"),
    [
        ("limits", {"burstMax": 5}, "locationId"),
        ("limits", {"locationId": LOC1, "burstMax": "many"}, "burstMax"),
        ("limits", {"locationId": LOC1, "dailyMax": -1}, "dailyMax"),
        ("limits", {"locationId": LOC1, "burstIntervalMs": 0}, "burstIntervalMs"),
        ("seed", {"agency": 0}, "agency"),
        ("seed", {"agency": "ten"}, "agency"),
    ],
)
def test_bad_agency_control_requests_get_a_clear_400(emulator, name, body, message):
    answer = control(emulator, "POST", name, status=400, json=body)
    assert message in answer["error"]
    assert emulator.config.location_limits == {}


@pytest.mark.slow  # over 0.5 s: the full run only (README, 'fast lane')
def test_module_entry_point_seeds_an_agency():
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox.ghl_emulator", "--port", "0", "--locations", "12",
         "--buyers", "2", "--no-response-checks"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )  # fmt: skip
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip().rsplit(" ", 1)[1]
        banner = process.stdout.readline()
        assert "12 locations loc_agency_01..loc_agency_12" in banner
        last = GHLHttp(url, agency_token("loc_agency_12"))
        assert last.get("/locations/loc_agency_12").json()["location"]["name"] == (
            "Los Angeles Office 12"  # six offices round robin
        )
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()


@pytest.mark.slow  # over 0.5 s: the full run only (README, 'fast lane')
def test_module_entry_point_refuses_a_negative_location_count():
    answer = subprocess.run(
        [sys.executable, "-m", "sandbox.ghl_emulator", "--locations", "-1"],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert answer.returncode == 2 and "--locations must be 0 or more" in answer.stderr
