"""The control API, the demo data set, and `python -m sandbox.ghl_emulator`."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import phonenumbers
import pytest
import requests

from sandbox.ghl_emulator import DEMO_LOCATION_ID, DEMO_TOKEN, Emulator
from sandbox.ghl_emulator.demo_data import seed_demo
from sandbox.ghl_emulator.state import State
from tests.fixtures.emulator import GHLHttp


def control(emulator, method: str, name: str, **kwargs):
    response = requests.request(method, f"{emulator.url}/_emulator/{name}", timeout=5, **kwargs)
    assert response.status_code == 200, response.text
    return response.json()


def test_stats_count_by_template_status_and_cause(emulator, ghl_http):
    emulator.expect_request_violations(1)
    ghl_http.get("/locations/loc_demo")
    ghl_http.get("/contacts/abc")
    ghl_http.get("/contacts/abc", version=None)
    emulator.queue_fault("GET", "/locations/*", "rate_limit")
    ghl_http.get("/locations/loc_demo")
    stats = control(emulator, "GET", "stats")
    assert stats["requests"]["GET /locations/{locationId}"] == {"200": 1, "429": 1}
    assert stats["requests"]["GET /contacts/{contactId}"] == {"400": 1, "404": 1}
    assert stats["rate_limited"] == {"limit": 0, "injected": 1}
    assert stats["violations"]["request"] == 1 and stats["violations"]["response"] == 0
    assert stats["total"] == 4


def test_state_seed_and_reset(emulator):
    assert control(emulator, "POST", "seed", json={"demo": True, "buyers": 12, "seed": 2}) == {
        "seeded": {"contacts": 12, "custom_fields": 20, "users": 4, "workflows": 2, "pipelines": 1}
    }
    state = control(emulator, "GET", "state")
    assert len(state["contacts"]) == 12 and len(state["users"]) == 4
    assert state["tokens"] == {"count": 2}  # the default and the demo token; never their values
    assert DEMO_TOKEN not in json.dumps(state)
    assert GHLHttp(emulator.url, DEMO_TOKEN).get(f"/locations/{DEMO_LOCATION_ID}").ok

    control(emulator, "POST", "reset")
    after = control(emulator, "GET", "state")
    assert after["contacts"] == [] and after["pipelines"] == []
    assert control(emulator, "GET", "stats")["total"] == 0
    assert (
        GHLHttp(emulator.url, DEMO_TOKEN).get(f"/locations/{DEMO_LOCATION_ID}").status_code == 401
    )


def test_unknown_control_endpoint_is_404(emulator):
    response = requests.get(f"{emulator.url}/_emulator/nothing", timeout=5)
    assert response.status_code == 404


def test_demo_data_shape():
    state = State()
    seed_demo(state, buyers=200, seed=1)
    buyers = list(state.contacts.values())
    fields = {f.field_key: f.id for f in state.custom_fields.values()}
    assert len(buyers) == 200 and all("active_buyer" in b.tags for b in buyers)
    opted_in = sum("sms_opt_in" in b.tags for b in buyers) / 200
    blocked = sum(b.sms_blocked() for b in buyers) / 200
    no_timezone = sum(b.timezone is None for b in buyers) / 200
    assert 0.60 <= opted_in <= 0.80 and 0.03 <= blocked <= 0.14 and 0.10 <= no_timezone <= 0.30

    phones = [b.phone for b in buyers if b.phone]
    assert len(phones) == len(set(phones)) and len(phones) < 200  # some have no phone
    assert all(phonenumbers.is_valid_number(phonenumbers.parse(p)) for p in phones)
    budget_min, budget_max = fields["contact.budget_min"], fields["contact.budget_max"]
    inverted = empty = text = 0
    for b in buyers:
        low, high = b.custom_fields.get(budget_min), b.custom_fields.get(budget_max)
        empty += not b.custom_fields
        text += isinstance(high, str)
        inverted += isinstance(low, int) and isinstance(high, int) and low > high
    assert empty and text and inverted
    assert {b.extra["state"] for b in buyers} == {"FL", "TX", "AZ", "OH", "CO", "CA"}


def test_demo_data_is_deterministic_by_seed():
    def ids(seed: int) -> list[str]:
        state = State()
        seed_demo(state, buyers=30, seed=seed)
        return sorted(state.contacts) + sorted(state.custom_fields) + sorted(state.pipelines)

    assert ids(7) == ids(7)
    assert ids(7) != ids(8)


def test_demo_data_can_fill_several_locations():
    state = State()
    seed_demo(state, buyers=10, seed=1)
    seed_demo(state, buyers=10, seed=1, location_id="loc_other")
    by_location = Counter(c.location_id for c in state.contacts.values())
    assert by_location == {DEMO_LOCATION_ID: 10, "loc_other": 10}
    assert Counter(p.location_id for p in state.pipelines.values()) == {
        DEMO_LOCATION_ID: 1,
        "loc_other": 1,
    }
    assert state.tokens == {DEMO_TOKEN: DEMO_LOCATION_ID}


@pytest.mark.slow  # over 0.5 s: the full run only (README, 'fast lane')
def test_every_demo_contact_passes_the_response_check(make_emulator):
    emulator: Emulator = make_emulator(burst_max=1_000)
    emulator.seed_demo(buyers=200, seed=1)
    http = GHLHttp(emulator.url, DEMO_TOKEN)
    statuses = Counter(http.get(f"/contacts/{cid}").status_code for cid in emulator.state.contacts)
    assert statuses == Counter({200: 200})
    assert emulator.violations == []


@pytest.mark.slow  # a subprocess emulator
def test_module_entry_point_serves_until_interrupted():
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox.ghl_emulator", "--port", "0", "--demo", "--buyers", "5"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline().strip()
        assert first.startswith("GHL emulator at http://127.0.0.1:")
        url = first.rsplit(" ", 1)[1]
        assert DEMO_TOKEN in process.stdout.readline()
        http = GHLHttp(url, DEMO_TOKEN)
        assert http.get(f"/locations/{DEMO_LOCATION_ID}").status_code == 200
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
