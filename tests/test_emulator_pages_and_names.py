"""The emulator's read-only web page for an opportunity ("Open in GHL" in the sandbox), and
demo buyers with distinct names (two "Sam Anderson"s side by side look like one person)."""

from __future__ import annotations

import requests

from ghl.client import GHL_APP_URL, GHLClient
from sandbox.ghl_emulator import DEFAULT_TOKEN, DEMO_LOCATION_ID
from sandbox.ghl_emulator.demo_data import FIRST_NAMES, LAST_NAMES, seed_demo
from sandbox.ghl_emulator.pages import APP_PREFIX
from sandbox.ghl_emulator.state import State

LOC = DEMO_LOCATION_ID


def test_open_in_ghl_opens_the_emulators_page_for_the_opportunity(seeded_emulator, ghl_http):
    pipeline = ghl_http.get("/opportunities/pipelines", params={"locationId": LOC}).json()
    pipeline = pipeline["pipelines"][0]
    contact = ghl_http.post(
        "/contacts/upsert",
        json={"locationId": LOC, "firstName": "Eve", "lastName": "<b>Stone</b>",
              "phone": "+16025550188"},
    ).json()["contact"]  # fmt: skip
    created = ghl_http.post(
        "/opportunities/",
        json={"pipelineId": pipeline["id"], "locationId": LOC, "name": "18 Bay Dr & Co",
              "status": "open", "contactId": contact["id"], "monetaryValue": 245000,
              "pipelineStageId": pipeline["stages"][2]["id"]},
    ).json()["opportunity"]  # fmt: skip
    client = GHLClient(
        token=DEFAULT_TOKEN,
        location_id=LOC,
        base_url=seeded_emulator.url,
        app_url=seeded_emulator.url + APP_PREFIX,
    )
    url = client.opportunity_url(created["id"])
    page = requests.get(url, timeout=5)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "18 Bay Dr &amp; Co" in page.text and "$245,000" in page.text  # escaped, shown
    assert pipeline["stages"][2]["name"] in page.text
    assert "&lt;b&gt;Stone&lt;/b&gt;" in page.text and "<b>Stone" not in page.text
    # an id that is not there, or another location's path: 404, never someone else's record
    assert requests.get(url.replace(created["id"], "nope"), timeout=5).status_code == 404
    assert requests.get(url.replace(f"/{LOC}/", "/loc_other/"), timeout=5).status_code == 404
    # production links still go to GHL's web app
    production = GHLClient(token="t", location_id=LOC).opportunity_url(created["id"])
    assert production.startswith(GHL_APP_URL + f"/v2/location/{LOC}/opportunities/list")


def _names(buyers: int, seed: int = 1) -> list[str]:
    state = State()
    seed_demo(state, buyers=buyers, seed=seed)
    return [f"{c.first_name} {c.last_name}" for c in state.contacts.values()]


def test_demo_buyer_names_are_distinct_and_deterministic():
    for buyers in (200, len(FIRST_NAMES) * len(LAST_NAMES) + 50):
        names = _names(buyers)
        assert len(set(names)) == len(names) == buyers
    assert _names(200) == _names(200)
    assert _names(200) != _names(200, seed=2)
