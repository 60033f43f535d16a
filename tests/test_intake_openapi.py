"""The OpenAPI document at /api/openapi.json tells the truth about the running endpoint.

Each request below, good and bad, is judged twice: by openapi-core against the document the
server publishes, and by the server itself over HTTP. They must agree (the document accepts
exactly the requests the server queues), and every answer the server gives must be one the
document describes (status code, headers, body schema).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from openapi_core import OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
from openapi_core.exceptions import OpenAPIError
from sqlalchemy import Engine

from bot.web.api_tokens import RateLimiter, parse_api_tokens
from bot.web.intake_api import IntakeParts, create_intake_app, intake_wsgi
from bot.web.server import RunningHTTP, start_http_in_thread
from tests.fixtures.bot import deal_row

TOKEN = "analysis-token-0123456789abcdef"


@pytest.fixture
def api(sqlite_engine: Engine) -> Iterator[RunningHTTP]:
    parts = IntakeParts(
        engine=sqlite_engine, location_id="loc_1", tokens=parse_api_tokens(f"analysis:{TOKEN}"),
        limiter=RateLimiter(per_minute=10_000),
    )  # fmt: skip
    with start_http_in_thread(intake_wsgi(create_intake_app(parts))) as http:
        yield http


def without(row: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in names}


GOOD = deal_row("TPA-1")
BODIES: list[tuple[str, Any]] = [
    ("one record", GOOD),
    ("a list", [deal_row("TPA-2"), deal_row("TPA-3")]),
    ("numbers as people type them", deal_row("TPA-4", list_price="$265,000", beds="3")),
    ("zip as a number", deal_row("TPA-5", zip=33611)),
    ("zip+4", deal_row("TPA-6", zip="33611-1234")),
    ("lower-case state", deal_row("TPA-7", state="fl")),
    ("another name for list_price", {**without(GOOD, "list_price"), "price": 265000}),
    ("email only", without(deal_row("TPA-8"), "agent_phone")),
    ("unknown fields are ignored", {**GOOD, "mls_source": "stellar"}),
    ("nulls in optional fields", deal_row("TPA-9", arv=None, beds=None)),
    ("an MLS id as a number", deal_row(12345)),
    # refused
    ("missing mls_id", without(GOOD, "mls_id")),
    ("missing list_price", without(GOOD, "list_price")),
    ("empty city", deal_row("TPA-10", city="")),
    ("blank address", deal_row("TPA-11", address="   ")),
    ("negative price", deal_row("TPA-12", list_price=-5)),
    ("price as words", deal_row("TPA-13", list_price="cheap")),
    ("price true", deal_row("TPA-14", list_price=True)),
    ("score over 100", deal_row("TPA-15", deal_score=101)),
    ("half a bedroom", deal_row("TPA-16", beds=2.5)),
    ("bad zip", deal_row("TPA-17", zip="3361")),
    ("not a state", deal_row("TPA-18", state="ZZ")),
    ("bad mls id", deal_row("TPA 19")),
    ("no way to reach the agent", without(GOOD, "agent_phone", "agent_email")),
    ("bad email", without(deal_row("TPA-20", agent_email="nobody"), "agent_phone")),
    ("a string body", "TPA-1"),
    ("an empty list", []),
    ("a list of strings", ["TPA-1"]),
]


@pytest.mark.slow  # over 0.5 s: the full run only (README, 'fast lane')
@pytest.mark.parametrize(("case", "body"), BODIES, ids=[case for case, _ in BODIES])
def test_the_document_and_the_server_agree_on_what_is_accepted(
    api: RunningHTTP, case: str, body: Any
) -> None:
    document = requests.get(f"{api.url}/api/openapi.json", timeout=10)
    assert document.status_code == 200
    spec = OpenAPI.from_dict(document.json())
    request = requests.Request(
        "POST", f"{api.url}/api/properties", json=body,
        headers={"Authorization": f"Bearer {TOKEN}"},
    ).prepare()  # fmt: skip
    try:
        spec.validate_request(RequestsOpenAPIRequest(request))
        documented_ok = True
    except OpenAPIError:
        documented_ok = False
    answer = requests.Session().send(request, timeout=10)
    assert (answer.status_code == 202) is documented_ok, (case, answer.status_code, answer.text)
    if not documented_ok:
        assert answer.status_code == 422, answer.text
    spec.validate_response(RequestsOpenAPIRequest(request), RequestsOpenAPIResponse(answer))


def test_what_the_document_cannot_check_is_a_documented_422(api: RunningHTTP) -> None:
    """A phone number's validity needs libphonenumber: the schema describes it in words and the
    server's refusal is an answer the document lists."""
    spec = OpenAPI.from_dict(requests.get(f"{api.url}/api/openapi.json", timeout=10).json())
    request = requests.Request(
        "POST", f"{api.url}/api/properties", json=deal_row("TPA-30", agent_phone="555"),
        headers={"Authorization": f"Bearer {TOKEN}"},
    ).prepare()  # fmt: skip
    answer = requests.Session().send(request, timeout=10)
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "agent_phone"]
    spec.validate_response(RequestsOpenAPIRequest(request), RequestsOpenAPIResponse(answer))


@pytest.mark.parametrize(
    ("method", "path", "headers", "data", "status"),
    [
        ("POST", "/api/properties", {}, b"{}", 401),
        ("POST", "/api/properties", {"Authorization": f"Bearer {TOKEN}"}, b"{oops", 400),
        ("GET", "/api/properties/TPA-404", {"Authorization": f"Bearer {TOKEN}"}, None, 404),
        ("GET", "/api/properties/TPA-404", {}, None, 401),
    ],
)
def test_every_error_answer_is_one_the_document_describes(
    api: RunningHTTP, method: str, path: str, headers: dict[str, str], data: Any, status: int
) -> None:
    spec = OpenAPI.from_dict(requests.get(f"{api.url}/api/openapi.json", timeout=10).json())
    request = requests.Request(method, api.url + path, headers=headers, data=data).prepare()
    answer = requests.Session().send(request, timeout=10)
    assert answer.status_code == status
    spec.validate_response(RequestsOpenAPIRequest(request), RequestsOpenAPIResponse(answer))


def test_a_status_answer_matches_the_document(api: RunningHTTP) -> None:
    spec = OpenAPI.from_dict(requests.get(f"{api.url}/api/openapi.json", timeout=10).json())
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert requests.post(f"{api.url}/api/properties", json=GOOD, headers=auth,
                         timeout=10).status_code == 202  # fmt: skip
    request = requests.Request("GET", f"{api.url}/api/properties/TPA-1", headers=auth).prepare()
    answer = requests.Session().send(request, timeout=10)
    assert answer.status_code == 200 and answer.json()["state"] == "queued"
    spec.validate_response(RequestsOpenAPIRequest(request), RequestsOpenAPIResponse(answer))


def test_the_document_is_valid_openapi_and_names_the_bearer_scheme() -> None:
    from openapi_spec_validator import validate

    app = create_intake_app(IntakeParts(engine=None, location_id="x", tokens=None,  # type: ignore[arg-type]
                                        limiter=RateLimiter(per_minute=1)))  # fmt: skip
    document = app.openapi()
    validate(document)
    assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert set(document["paths"]) == {"/api/properties", "/api/properties/{mls_id}"}
