"""The server's lifecycle, concurrent use, and the fixture's violation bookkeeping."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from sandbox.ghl_emulator import DEFAULT_TOKEN, Emulator, EmulatorConfig
from tests.fixtures.emulator import GHLHttp


def test_serve_is_a_context_manager_and_stop_frees_the_port():
    emulator = Emulator()
    with emulator.serve() as server:
        assert server.url == f"http://127.0.0.1:{server.port}"
        answer = GHLHttp(server.url).get("/locations/loc_demo")
        assert answer.status_code == 200
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{server.url}/_emulator/stats", timeout=2)


def test_concurrent_clients_get_consistent_answers(make_emulator):
    emulator = make_emulator(burst_max=1_000)
    http = GHLHttp(emulator.url)

    def create(n: int) -> int:
        body = {"locationId": "loc_demo", "email": f"buyer{n}@example.com"}
        return http.post("/contacts/upsert", json=body).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(create, range(80)))
    assert statuses == [200] * 80
    assert len(emulator.state.contacts) == 80
    assert emulator.count("POST", "/contacts/upsert", 200) == 80
    assert emulator.violations == []


def _violate(emulator: Emulator, kind: str) -> None:
    emulator._stats.violation(kind=kind, method="GET", path="/x", template="/x", problems=["p"])


def test_request_violations_must_be_announced():
    emulator = Emulator(EmulatorConfig(tokens={DEFAULT_TOKEN: "loc"}))
    _violate(emulator, "request")
    assert [v["kind"] for v in emulator.unexpected_violations()] == ["request"]
    emulator.expect_request_violations(1)
    assert emulator.unexpected_violations() == []
    emulator.expect_request_violations(2)
    assert len(emulator.unexpected_violations()) == 1
    emulator.expect_request_violations()
    assert emulator.unexpected_violations() == []


def test_response_violations_are_never_excused():
    emulator = Emulator()
    emulator.expect_request_violations()
    _violate(emulator, "response")
    assert [v["kind"] for v in emulator.unexpected_violations()] == ["response"]


def test_reset_forgets_records_counts_and_faults(emulator, ghl_http):
    emulator.seed_demo(buyers=3)
    emulator.queue_fault("GET", "*", "server_error", times=5)
    assert ghl_http.get("/locations/loc_demo").status_code == 503
    emulator.reset()
    assert emulator.state.contacts == {} and emulator.stats["total"] == 0
    assert ghl_http.get("/locations/loc_demo").status_code == 200
