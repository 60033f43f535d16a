"""Injected faults as a real `requests` client sees them."""

from __future__ import annotations

import time

import pytest
import requests

from sandbox.ghl_emulator import Faults
from sandbox.ghl_emulator.faults import FaultPlan

LOC = "loc_demo"
SMS = {"type": "SMS", "message": "Deal alert", "subType": {}, "status": "pending"}


@pytest.fixture
def buyer(ghl_http) -> str:
    created = ghl_http.post(
        "/contacts/upsert", json={"locationId": LOC, "phone": "+13035550177", "firstName": "Al"}
    )
    return created.json()["contact"]["id"]


def test_queued_server_errors_hit_only_their_route(emulator, ghl_http, buyer):
    emulator.queue_fault("POST", "/conversations/messages", "server_error", times=2, status=503)
    assert ghl_http.get(f"/contacts/{buyer}").status_code == 200  # other routes unaffected
    first = ghl_http.post("/conversations/messages", json=SMS | {"contactId": buyer})
    second = ghl_http.post("/conversations/messages", json=SMS | {"contactId": buyer})
    third = ghl_http.post("/conversations/messages", json=SMS | {"contactId": buyer})
    assert [first.status_code, second.status_code, third.status_code] == [503, 503, 200]
    assert first.json()["statusCode"] == 503 and "X-RateLimit-Remaining" in first.headers
    assert len(emulator.state.messages) == 1
    assert emulator.count("POST", "/conversations/messages", 503) == 2


def test_random_server_errors_use_ghl_statuses(emulator, ghl_http):
    emulator.set_faults(Faults(server_error=1.0, seed=4))
    statuses = {ghl_http.get("/locations/loc_demo").status_code for _ in range(12)}
    assert statuses <= {500, 502, 503} and len(statuses) > 1
    body = ghl_http.get("/locations/loc_demo").json()
    assert set(body) == {"statusCode", "message", "traceId"}


def test_rate_limit_without_retry_after(emulator, ghl_http):
    emulator.queue_fault("GET", "/locations/*", "rate_limit_no_retry_after")
    refused = ghl_http.get("/locations/loc_demo")
    assert refused.status_code == 429 and "Retry-After" not in refused.headers
    assert refused.headers["X-RateLimit-Max"] == "100"
    assert refused.headers["X-RateLimit-Remaining"] == "100"  # a 429 is not counted
    emulator.queue_fault("GET", "/locations/{locationId}", "rate_limit")
    assert ghl_http.get("/locations/loc_demo").headers["Retry-After"] == "1"
    assert emulator.stats["rate_limited"] == {"limit": 0, "injected": 2}


def test_slow_answers_arrive_late(emulator, ghl_http):
    emulator.set_faults(slow=1.0, slow_seconds=0.3)
    started = time.monotonic()
    response = ghl_http.get("/locations/loc_demo")
    assert response.status_code == 200 and time.monotonic() - started >= 0.3
    with pytest.raises(requests.ReadTimeout):
        ghl_http.get("/locations/loc_demo", timeout=0.1)


def test_dropped_connection_changes_nothing(emulator, ghl_http):
    emulator.queue_fault("POST", "/contacts/upsert", "drop")
    with pytest.raises(requests.ConnectionError):
        ghl_http.post("/contacts/upsert", json={"locationId": LOC, "email": "x@example.com"})
    assert emulator.state.contacts == {}
    assert emulator.stats["faults"] == {"drop": 1}


def test_drop_after_commit_stores_but_never_answers(emulator, ghl_http, buyer):
    emulator.queue_fault("POST", "/conversations/messages", "drop_after_commit")
    with pytest.raises(requests.ConnectionError):
        ghl_http.post("/conversations/messages", json=SMS | {"contactId": buyer})
    assert [m.body for m in emulator.state.messages] == ["Deal alert"]
    # The next call is answered normally: the client can look before it sends again.
    assert ghl_http.get(f"/contacts/{buyer}").status_code == 200


def test_faults_never_touch_the_control_api(emulator):
    emulator.set_faults(Faults(drop=1.0))
    stats = requests.get(f"{emulator.url}/_emulator/stats", timeout=5)
    assert stats.status_code == 200


def test_faults_can_be_set_through_the_control_api(emulator, ghl_http):
    queue = [{"method": "GET", "path": "/locations/*", "kind": "server_error", "status": 502}]
    answer = requests.post(
        f"{emulator.url}/_emulator/faults", json={"slow": 0.0, "seed": 9, "queue": queue}, timeout=5
    )
    assert answer.status_code == 200 and answer.json()["faults"]["seed"] == 9
    assert ghl_http.get("/locations/loc_demo").status_code == 502
    assert ghl_http.get("/locations/loc_demo").status_code == 200
    wrong = requests.post(f"{emulator.url}/_emulator/faults", json={"sloww": 1}, timeout=5)
    assert wrong.status_code == 400


def test_same_seed_same_faults():
    def run(seed: int) -> list[str | None]:
        plan = FaultPlan(Faults(server_error=0.3, drop=0.2, seed=seed))
        return [plan.decide("GET", "/x", "/x").kind for _ in range(50)]

    assert run(1) == run(1)
    assert run(1) != run(2)
    assert {"server_error", "drop", None} == set(run(1))


def test_unknown_fault_kind_is_refused(emulator):
    with pytest.raises(ValueError, match="unknown fault kind"):
        emulator.queue_fault("GET", "/x", "explode")
