"""The GHL OpenAPI files as a checker: what they reject, what they accept, and the mends."""

from __future__ import annotations

import pytest

from sandbox.ghl_emulator import load_specs

V_MAIN = {"Version": "2021-07-28", "Authorization": "Bearer t"}
V_CONV = {"Version": "2021-04-15", "Authorization": "Bearer t"}
V_JSON = {**V_MAIN, "Content-Type": "application/json"}
OPPORTUNITY = {
    "pipelineId": "p1",
    "locationId": "loc",
    "name": "12 Oak St",
    "status": "open",
    "contactId": "c1",
}
SMS = {"type": "SMS", "contactId": "c1", "message": "hi", "subType": {}, "status": "pending"}
# What most public integrations send; the current file wants subType and status too.
SMS_OLD = {"type": "SMS", "contactId": "c1", "message": "hi"}
NO_CONTACT = {k: v for k, v in OPPORTUNITY.items() if k != "contactId"}
SMS_NO_CONTACT = {k: v for k, v in SMS.items() if k != "contactId"}


@pytest.fixture(scope="module")
def specs():
    return load_specs()


@pytest.mark.parametrize(
    ("method", "path", "headers", "body", "expected"),
    [
        ("GET", "/contacts/abc", {"Authorization": "Bearer t"}, None,
         "header parameter Version is required"),
        ("GET", "/contacts/abc", V_CONV, None,
         "header parameter Version: '2021-04-15' is not one of ['2021-07-28']"),
        ("POST", "/conversations/messages", V_MAIN, SMS,
         "header parameter Version: '2021-07-28' is not one of ['2021-04-15']"),
        ("POST", "/opportunities/", V_MAIN, {**OPPORTUNITY, "contactId": None},
         "body.contactId: None is not of type 'string'"),
        ("POST", "/opportunities/", V_MAIN, NO_CONTACT,
         "body: 'contactId' is a required property"),
        ("POST", "/opportunities/", V_MAIN, {**OPPORTUNITY, "status": "pending"},
         "body.status: 'pending' is not one of ['open', 'won', 'lost', 'abandoned', 'all']"),
        ("GET", "/opportunities/search?location_id=loc&status=closed", V_MAIN, None,
         "query parameter status: 'closed' is not one of"),
        ("POST", "/conversations/messages", V_CONV, SMS_OLD,
         "body: 'subType' is a required property"),
        ("POST", "/conversations/messages", V_CONV, SMS_OLD,
         "body: 'status' is a required property"),
        ("POST", "/conversations/messages", V_CONV, {**SMS, "subType": "SMS"},
         "body.subType: 'SMS' is not of type 'object'"),
        ("POST", "/conversations/messages", V_CONV, SMS_NO_CONTACT,
         "body: 'contactId' is a required property"),
        ("POST", "/conversations/messages", V_CONV, {**SMS, "type": "Text"},
         "body.type: 'Text' is not one of"),
        ("POST", "/contacts/search", V_MAIN, {"locationId": "loc"},
         "body: 'pageLimit' is a required property"),
        ("POST", "/contacts/upsert", V_MAIN, {"email": "a@example.com"},
         "body: 'locationId' is a required property"),
        ("GET", "/opportunities/search?location_id=loc&limit=ten", V_MAIN, None,
         "query parameter limit: 'ten' is not a number"),
        ("GET", "/users/", V_MAIN, None, "query parameter locationId is required"),
        ("POST", "/contacts/upsert", V_JSON, b"{not json", "body: not valid JSON"),
        ("POST", "/contacts/upsert", V_MAIN, b'{"locationId": "l"}',
         "a JSON body needs Content-Type: application/json"),
        ("POST", "/contacts/upsert", {**V_MAIN, "Content-Type": "text/plain"}, b"x",
         "content type 'text/plain' is not accepted"),
        ("GET", "/no/such/thing", V_MAIN, None, "no operation GET /no/such/thing in the files"),
        ("GET", "/conversations/search?locationId=l&startAfterDate=abc", V_CONV, None,
         "query parameter startAfterDate: 'abc' is not a number"),
    ],
)  # fmt: skip
def test_invalid_requests_are_reported(specs, method, path, headers, body, expected):
    problems = specs.validate_request(method, path, headers=headers, body=body)
    assert any(expected in p for p in problems), problems


@pytest.mark.parametrize(
    ("method", "path", "headers", "body"),
    [
        ("GET", "/contacts/abc", V_MAIN, None),
        ("POST", "/contacts/upsert", V_JSON, b'{"locationId": "l"}'),
        ("POST", "/opportunities/", V_MAIN, OPPORTUNITY),
        ("POST", "/opportunities", V_MAIN, OPPORTUNITY),  # Express routes ignore the slash
        ("POST", "/conversations/messages", V_CONV, SMS),
        ("POST", "/contacts/search", V_MAIN, {"locationId": "loc", "pageLimit": 10}),
        ("GET", "/opportunities/search?location_id=loc&limit=10&status=all", V_MAIN, None),
        ("PUT", "/users/u1", V_MAIN, {"firstName": "Ann"}),  # mended: undeclared {userId}
        # mended: `anyOf` beside the parameter's schema (the operation loads and validates)
        ("GET", "/conversations/search?locationId=l", V_CONV, None),
        # mended: `startAfterDate` is the last conversation's sort value, a number
        ("GET", "/conversations/search?locationId=l&startAfterDate=1700000000000", V_CONV, None),
    ],
)
def test_valid_requests_pass(specs, method, path, headers, body):
    assert specs.validate_request(method, path, headers=headers, body=body) == []


def test_query_can_be_given_apart_from_the_path(specs):
    problems = specs.validate_request(
        "GET", "/opportunities/search", query={"location_id": "loc", "limit": 5}, headers=V_MAIN
    )
    assert problems == []
    missing = specs.validate_request("GET", "/opportunities/search", query={}, headers=V_MAIN)
    assert missing == ["query parameter location_id is required"]


def test_literal_paths_win_over_templates(specs):
    search = specs.operation_for("POST", "/contacts/search")
    contact = specs.operation_for("GET", "/contacts/search")
    assert search is not None and search.operation.operation_id == "search-contacts-advanced"
    assert contact is not None and contact.path_params == {"contactId": "search"}
    pipelines = specs.operation_for("GET", "/opportunities/pipelines?locationId=x")
    assert pipelines is not None and pipelines.operation.template == "/opportunities/pipelines"
    assert specs.operation_for("PATCH", "/contacts/abc") is None


def test_each_group_requires_its_own_version(specs):
    send = specs.operation_for("POST", "/conversations/messages")
    upsert = specs.operation_for("POST", "/contacts/upsert")
    assert send is not None and send.operation.versions == ("2021-04-15",)
    assert upsert is not None and upsert.operation.versions == ("2021-07-28",)


def test_responses_are_checked(specs):
    good = {"contact": {"id": "c1", "tags": ["a"], "customFields": [{"id": "f", "value": "5"}]}}
    assert specs.validate_response("GET", "/contacts/c1", status=200, body=good) == []
    bad = {"contact": {"id": "c1", "customFields": [{"id": "f", "value": 5}]}}
    assert specs.validate_response("GET", "/contacts/c1", status=200, body=bad) == [
        "response body.contact.customFields[0].value: 5 is not of type 'string'"
    ]
    assert specs.validate_response("GET", "/contacts/c1", status=201, body=good) == [
        "status 201 is not declared for GET /contacts/{contactId}"
    ]


def test_undeclared_error_statuses_must_have_ghls_error_shape(specs):
    ok = {"statusCode": 404, "message": "Contact not found"}
    assert specs.validate_response("GET", "/contacts/c1", status=404, body=ok) == []
    wrong = specs.validate_response("GET", "/contacts/c1", status=429, body={"error": "slow"})
    assert wrong == [
        "response 429: statusCode is None",
        "response 429: message must be a string or a list of strings",
    ]
    # 400 is declared (BadRequestDTO): its message must be a string, not NestJS' list.
    listed = {"statusCode": 400, "message": ["x"]}
    assert specs.validate_response("GET", "/contacts/c1", status=400, body=listed) != []


def test_response_check_accepts_a_known_template(specs):
    body = {"pipelines": [{"id": "p", "name": "P", "stages": [{"id": "s", "name": "New"}]}]}
    problems = specs.validate_response(
        "GET",
        "/opportunities/pipelines",
        status=200,
        body=body,
        request_path_template="/opportunities/pipelines",
    )
    assert problems == []  # mended: stages are objects, not the file's array of arrays


def test_contact_search_answer_is_supplemented(specs):
    missing = {"contacts": [{"id": "c1"}], "total": 1}
    problems = specs.validate_response("POST", "/contacts/search", status=200, body=missing)
    assert "response body.contacts[0]: 'searchAfter' is a required property" in problems


def test_specs_load_once_per_process():
    assert load_specs() is load_specs()


@pytest.mark.parametrize(
    ("headers", "body", "expected"),
    [
        (
            {"Content-Type": "text/html"},
            b"<html>",
            "response content type 'text/html' not declared",
        ),
        ({"Content-Type": "application/json"}, b"<html>", "response body: not valid JSON"),
        ({}, None, "response body: missing"),
    ],
)
def test_response_bodies_must_be_json(specs, headers, body, expected):
    assert specs.validate_response(
        "GET", "/contacts/c1", status=200, headers=headers, body=body
    ) == [expected]
