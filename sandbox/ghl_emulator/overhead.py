"""Measure what checking one request and one response against the GHL files costs.

python -m sandbox.ghl_emulator.overhead            # prints ms per request check and response check
"""

from __future__ import annotations

import time
from typing import Any

from sandbox.ghl_emulator.spec import GHLSpecs, load_specs

_MAIN = {"Version": "2021-07-28", "Authorization": "Bearer t", "Content-Type": "application/json"}
_CONV = _MAIN | {"Version": "2021-04-15"}
# (method, path, request headers, request body, status, response body): calls DealFinder makes.
CASES: list[tuple[str, str, dict[str, str], Any, int, Any]] = [
    ("GET", "/contacts/c1", _MAIN, None, 200,
     {"contact": {"id": "c1", "tags": ["active_buyer"], "customFields": [{"id": "f", "value": "1"}],
                  "dndSettings": {"SMS": {"status": "inactive"}}}}),
    ("POST", "/contacts/upsert", _MAIN,
     {"locationId": "l", "email": "a@example.com", "tags": ["a"],
      "customFields": [{"id": "f", "field_value": "250000"}]}, 200,
     {"new": True, "contact": {"id": "c1", "tags": ["a"]}}),
    ("POST", "/opportunities/", _MAIN,
     {"pipelineId": "p", "locationId": "l", "name": "n", "status": "open", "contactId": "c"}, 201,
     {"opportunity": {"id": "o", "name": "n", "customFields": [{"id": "f", "fieldValue": "9"}]}}),
    ("POST", "/conversations/messages", _CONV,
     {"type": "SMS", "contactId": "c", "message": "hi", "subType": {}, "status": "pending"}, 200,
     {"conversationId": "v", "messageId": "m", "status": "pending"}),
]  # fmt: skip


def measure(specs: GHLSpecs, *, rounds: int = 300) -> tuple[float, float]:
    """Mean milliseconds of one request check and one response check over `CASES`."""
    request_s = response_s = 0.0
    for method, path, headers, body, status, answer in CASES:
        started = time.perf_counter()
        for _ in range(rounds):
            specs.validate_request(method, path, headers=headers, body=body)
        checked = time.perf_counter()
        for _ in range(rounds):
            specs.validate_response(method, path, status=status, body=answer)
        request_s += checked - started
        response_s += time.perf_counter() - checked
    calls = rounds * len(CASES)
    return request_s / calls * 1000, response_s / calls * 1000


def main() -> None:
    started = time.perf_counter()
    specs = load_specs()
    loaded = (time.perf_counter() - started) * 1000
    request_ms, response_ms = measure(specs)
    print(f"load + mend all files: {loaded:.0f} ms (once per process)")
    print(f"request check: {request_ms:.2f} ms, response check: {response_ms:.2f} ms")


if __name__ == "__main__":
    main()
