"""Contacts over real HTTP: auth, tenancy, request checks, upsert, search, tags, notes, tasks."""

from __future__ import annotations

import pytest

from sandbox.ghl_emulator import DEFAULT_TOKEN, DEMO_LOCATION_ID
from tests.fixtures.emulator import GHLHttp

LOC = DEMO_LOCATION_ID
RATE_HEADERS = (
    "X-RateLimit-Max",
    "X-RateLimit-Remaining",
    "X-RateLimit-Interval-Milliseconds",
    "X-RateLimit-Limit-Daily",
    "X-RateLimit-Daily-Remaining",
)


def upsert(http: GHLHttp, **fields: object) -> dict:
    response = http.post("/contacts/upsert", json={"locationId": LOC, **fields})
    assert response.status_code == 200, response.text
    return response.json()


def search(http: GHLHttp, **body: object) -> dict:
    response = http.post("/contacts/search", json={"locationId": LOC, "pageLimit": 100, **body})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("token", [None, "not-a-token"])
def test_missing_or_unknown_token_is_401(ghl_http, token):
    response = ghl_http.get("/contacts/abc", token=token)
    assert response.status_code == 401
    assert response.json()["statusCode"] == 401
    assert response.json()["message"] == "Invalid JWT"
    assert all(name in response.headers for name in RATE_HEADERS)


def test_token_reaches_only_its_location(make_emulator):
    emulator = make_emulator(tokens={"token-a": "loc_a", "token-b": "loc_b"})
    a, b = GHLHttp(emulator.url, "token-a"), GHLHttp(emulator.url, "token-b")
    created = a.post("/contacts/upsert", json={"locationId": "loc_a", "email": "x@example.com"})
    contact_id = created.json()["contact"]["id"]
    forbidden = [
        b.get(f"/contacts/{contact_id}"),
        b.post("/contacts/upsert", json={"locationId": "loc_a", "email": "y@example.com"}),
        b.get("/locations/loc_a"),
        b.get("/users/", params={"locationId": "loc_a"}),
    ]
    for response in forbidden:
        assert response.status_code == 403, response.text
        assert response.json()["message"] == "The token does not have access to this location"
    assert b.get("/locations/loc_b").status_code == 200


def test_invalid_body_is_422_and_recorded(emulator, ghl_http):
    emulator.expect_request_violations(1)
    response = ghl_http.post("/contacts/upsert", json={"email": "a@example.com"})
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "Unprocessable Entity"
    assert body["message"] == ["body: 'locationId' is a required property"]
    assert emulator.violations[0]["kind"] == "request"
    assert emulator.violations[0]["template"] == "/contacts/upsert"


def test_missing_version_is_400_with_a_text_message(emulator, ghl_http):
    emulator.expect_request_violations(1)
    response = ghl_http.get("/contacts/abc", version=None)
    assert response.status_code == 400
    assert response.json()["message"] == "header parameter Version is required"


def test_conversations_version_on_contacts_is_refused(emulator, ghl_http):
    emulator.expect_request_violations(1)
    response = ghl_http.get("/contacts/abc", version="2021-04-15")
    assert response.status_code == 400
    assert "'2021-04-15' is not one of ['2021-07-28']" in response.json()["message"]


def test_unknown_route_is_nest_404(ghl_http):
    response = ghl_http.get("/contacts/abc/appointments")  # in the files, not emulated
    assert response.status_code == 404
    assert response.json()["message"] == "Cannot GET /contacts/abc/appointments"


def test_upsert_creates_then_matches_by_email_case_insensitively(emulator, ghl_http):
    first = upsert(ghl_http, email="Ann@Example.com", firstName="Ann", tags=["Buyer"])
    again = upsert(ghl_http, email="ann@example.com", lastName="Lee", tags=["vip"])
    assert first["new"] is True and again["new"] is False
    assert again["contact"]["id"] == first["contact"]["id"]
    assert again["contact"]["name"] == "Ann Lee"
    # UpsertContactDto: tags "will overwrite all current tags"; GHL stores them lower-cased.
    assert again["contact"]["tags"] == ["vip"]
    assert len(emulator.state.contacts) == 1


def test_upsert_matches_by_phone_in_any_format(ghl_http):
    first = upsert(ghl_http, phone="+18135550123", firstName="Bo")
    again = upsert(ghl_http, phone="(813) 555-0123", lastName="Diaz")
    assert again["new"] is False and again["contact"]["id"] == first["contact"]["id"]
    assert again["contact"]["phone"] == "+18135550123"


def test_upsert_prefers_the_email_match_over_the_phone_match(ghl_http):
    by_email = upsert(ghl_http, email="cy@example.com")["contact"]["id"]
    by_phone = upsert(ghl_http, phone="+15125550142")["contact"]["id"]
    both = upsert(ghl_http, email="cy@example.com", phone="+15125550142")
    assert both["contact"]["id"] == by_email != by_phone


def test_malformed_email_is_refused(ghl_http):
    response = ghl_http.post("/contacts/upsert", json={"locationId": LOC, "email": "nope"})
    assert response.status_code == 422
    assert response.json()["message"] == ["email must be an email"]


@pytest.mark.slow  # over 0.5 s: the full run only (README, 'fast lane')
def test_search_pages_through_250_buyers(emulator, ghl_http):
    emulator.seed_demo(buyers=250, seed=3)
    buyers = [{"field": "tags", "operator": "eq", "value": "active_buyer"}]
    by_page = [search(ghl_http, filters=buyers, page=n) for n in (1, 2, 3)]
    assert [len(p["contacts"]) for p in by_page] == [100, 100, 50]
    assert {p["total"] for p in by_page} == {250}
    paged_ids = [c["id"] for p in by_page for c in p["contacts"]]
    assert len(set(paged_ids)) == 250

    cursor_ids: list[str] = []
    cursor = None
    for _ in range(3):
        body = {"filters": buyers} | ({"searchAfter": cursor} if cursor else {})
        page = search(ghl_http, **body)
        cursor_ids += [c["id"] for c in page["contacts"]]
        cursor = page["contacts"][-1]["searchAfter"]
    assert cursor_ids == paged_ids
    assert search(ghl_http, filters=buyers, searchAfter=cursor)["contacts"] == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"page": 2, "searchAfter": [1, "x"]}, "page must not be sent together with searchAfter"),
        ({"page": 101}, "page * pageLimit must not exceed 10000; use searchAfter"),
        ({"searchAfter": ["soon", "x"]},
         "searchAfter must be the [sortValue, id] pair of the last contact"),
        ({"sort": [{"field": "email", "direction": "asc"}]},
         "sort: field 'email' is not supported by the emulator (dateAdded, dateUpdated)"),
        ({"filters": [{"field": "tags", "operator": "regex", "value": "x"}]},
         "filters: operator 'regex' is not supported by the emulator"),
        ({"filters": [{"field": "shoeSize", "operator": "eq", "value": 9}]},
         "filters: field 'shoeSize' is not supported by the emulator"),
    ],
)  # fmt: skip
def test_search_refuses_what_it_cannot_honour(ghl_http, body, message):
    payload = {"locationId": LOC, "pageLimit": 100} | body
    response = ghl_http.post("/contacts/search", json=payload)
    assert response.status_code == 422
    assert response.json()["message"] == [message]


def test_search_pages_up_to_500(emulator, ghl_http):
    # GHL's search guide: pageLimit up to 500 (the mended file says so; more is a 422).
    assert ghl_http.post("/contacts/search", json={"locationId": LOC, "pageLimit": 500}).ok
    emulator.expect_request_violations(1)
    response = ghl_http.post("/contacts/search", json={"locationId": LOC, "pageLimit": 501})
    assert response.status_code == 422 and "pageLimit" in str(response.json()["message"])


def test_search_without_page_limit_is_422(emulator, ghl_http):
    emulator.expect_request_violations(1)
    response = ghl_http.post("/contacts/search", json={"locationId": LOC})
    assert response.status_code == 422


def test_search_filters(emulator, ghl_http):
    emulator.seed_demo(buyers=60, seed=5)
    contacts = list(emulator.state.contacts.values())
    opted_in = {c.id for c in contacts if "sms_opt_in" in c.tags}
    found = search(
        ghl_http, filters=[{"field": "tags", "operator": "contains", "value": "sms_opt_in"}]
    )
    assert {c["id"] for c in found["contacts"]} == opted_in and found["total"] == len(opted_in)

    one = contacts[7]
    by_email = search(
        ghl_http, filters=[{"field": "email", "operator": "eq", "value": one.email.upper()}]
    )
    assert [c["id"] for c in by_email["contacts"]] == [one.id]
    with_phone = next(c for c in contacts if c.phone)
    local = f"({with_phone.phone[2:5]}) {with_phone.phone[5:8]}-{with_phone.phone[8:]}"
    by_phone = search(ghl_http, filters=[{"field": "phone", "operator": "eq", "value": local}])
    assert with_phone.id in [c["id"] for c in by_phone["contacts"]]

    cut = sorted(c.date_updated for c in contacts)[30]
    iso = search(ghl_http, filters=[{"field": "dateUpdated", "operator": "range",
                                     "value": {"gte": _iso(cut)}}])  # fmt: skip
    epoch = search(ghl_http, filters=[{"field": "dateUpdated", "operator": "range",
                                       "value": {"gte": cut}}])  # fmt: skip
    expected = {c.id for c in contacts if c.date_updated >= cut}
    assert {c["id"] for c in iso["contacts"]} == expected == {c["id"] for c in epoch["contacts"]}
    assert all("dateUpdated" in c for c in iso["contacts"])

    either = search(ghl_http, filters=[{"group": "OR", "filters": [
        {"field": "email", "operator": "eq", "value": contacts[0].email},
        {"field": "email", "operator": "eq", "value": contacts[1].email},
    ]}])  # fmt: skip
    assert {c["id"] for c in either["contacts"]} == {contacts[0].id, contacts[1].id}


def _iso(ms: int) -> str:
    from sandbox.ghl_emulator.calls import iso

    return iso(ms)


def test_tags_notes_tasks_and_workflows(seeded_emulator, ghl_http):
    state = seeded_emulator.state
    contact = upsert(ghl_http, email="dee@example.com", tags=["active_buyer"])["contact"]
    cid = contact["id"]
    added = ghl_http.post(f"/contacts/{cid}/tags", json={"tags": ["Hot_Deal", "active_buyer"]})
    assert added.status_code == 201 and added.json()["tags"] == ["active_buyer", "hot_deal"]
    removed = ghl_http.delete(f"/contacts/{cid}/tags", json={"tags": ["active_buyer"]})
    assert removed.json()["tags"] == ["hot_deal"]

    note = ghl_http.post(f"/contacts/{cid}/notes", json={"body": "Called, wants duplexes"})
    assert note.status_code == 201
    assert ghl_http.get(f"/contacts/{cid}/notes").json()["notes"][0]["body"].startswith("Called")

    task = ghl_http.post(
        f"/contacts/{cid}/tasks",
        json={"title": "Call back", "dueDate": "2025-07-01T15:00:00Z", "completed": False},
    ).json()["task"]
    done = ghl_http.put(f"/contacts/{cid}/tasks/{task['id']}/completed", json={"completed": True})
    assert done.json()["task"]["completed"] is True
    assert state.tasks[task["id"]].completed is True

    flow = next(iter(state.workflows.values()))
    start = "2025-07-01T15:00:00Z"
    enrol = ghl_http.post(f"/contacts/{cid}/workflow/{flow.id}", json={"eventStartTime": start})
    assert enrol.status_code == 200 and enrol.json() == {"succeded": True}
    assert state.enrolments[-1].workflow_id == flow.id
    assert state.enrolments[-1].event_start_time == start
    unknown = ghl_http.post(f"/contacts/{cid}/workflow/nope", json={})
    assert unknown.status_code == 404


def test_update_contact_dnd_and_duplicates(seeded_emulator, ghl_http):
    a = upsert(ghl_http, email="a@example.com", phone="+17205550111")["contact"]
    upsert(ghl_http, email="b@example.com")
    changed = ghl_http.put(
        f"/contacts/{a['id']}", json={"dndSettings": {"SMS": {"status": "active"}}}
    )
    assert changed.status_code == 200 and changed.json()["succeded"] is True
    assert changed.json()["contact"]["dndSettings"] == {"SMS": {"status": "active"}}
    clash = ghl_http.put(f"/contacts/{a['id']}", json={"email": "b@example.com"})
    assert clash.status_code == 400
    assert clash.json()["message"] == "This location does not allow duplicated contacts."
    missing = ghl_http.get("/contacts/unknown000000000000")
    assert missing.status_code == 404


def test_unknown_custom_field_is_refused(seeded_emulator, ghl_http):
    bad = {"locationId": LOC, "email": "e@example.com", "customFields": [{"id": "nope"}]}
    response = ghl_http.post("/contacts/upsert", json=bad)
    assert response.status_code == 422
    fields = {f.field_key: f.id for f in seeded_emulator.state.custom_fields.values()}
    good = upsert(
        ghl_http,
        email="e@example.com",
        customFields=[{"id": fields["contact.budget_max"], "field_value": "350000"}],
    )
    assert {"id": fields["contact.budget_max"], "value": "350000"} in good["contact"][
        "customFields"
    ]


def test_default_token_is_the_fixture_token(emulator_token, emulator_location):
    assert (emulator_token, emulator_location) == (DEFAULT_TOKEN, LOC)
