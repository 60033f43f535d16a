"""The sandbox page behaves like Slack (issue 13), in headless Chromium over the real sandbox:
placeholders before answers, private replies in time order, autoscroll, updates that keep a
selection, the simulation's clock, modals that close and show Slack's field errors, a layout
usable at 420 px, and "Open in GHL" opening the emulator's own page."""

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import requests

from sandbox.run import evening_clock, run_scenario, start_sandbox
from tests.e2e.browser import chromium, watch_errors
from tests.fixtures.bot import wait_for

pytestmark = pytest.mark.slow  # headless Chromium

# A fixed evening (before the DST change): 01:30 UTC is 8:30 PM in New York.
SIMULATED_START = datetime(2025, 3, 6, 1, 30, tzinfo=UTC)
WAIT = 15_000


@pytest.fixture(scope="module")
def sandbox():
    with start_sandbox(buyers=40, clock=evening_clock(SIMULATED_START)) as running:
        run_scenario(running)
        yield running


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(sandbox, browser):
    opened = browser.new_page(viewport={"width": 1200, "height": 700})
    opened.errors = watch_errors(opened)
    opened.goto(sandbox.page_url)
    opened.locator("[data-testid=message]").first.wait_for(timeout=WAIT)
    yield opened
    assert not opened.errors
    assert not sandbox.fake.unexpected_rejections()
    opened.close()


def send(page, line):
    page.fill("[data-testid=command]", line)
    page.press("[data-testid=command]", "Enter")


def shown_ts(page):
    return [
        float(ts)
        for ts in page.eval_on_selector_all(
            "#messages > [data-ts]", "ns => ns.map(n => n.dataset.ts)"
        )
    ]


def post(sandbox, text):
    return sandbox.services.alerts.client.chat_postMessage(channel="C0DEALS", text=text)["ts"]


def test_placeholder_is_shown_before_the_answer(sandbox, page):
    private = page.locator("[data-testid=ephemeral]")
    before = private.count()
    for round_ in range(1, 4):
        send(page, "/deal show TB240000")
        page.wait_for_function(
            "n => document.querySelectorAll('[data-testid=ephemeral]').length >= n",
            arg=before + 2 * round_,
        )
        private.filter(has_text="MLS TB240000").nth(round_ - 1).wait_for(timeout=WAIT)
    texts = private.all_inner_texts()[before:]
    assert len(texts) == 6
    for i in range(0, 6, 2):  # each placeholder, then its answer: never the other way round
        assert "Looking the deal up" in texts[i] and "MLS TB240000" in texts[i + 1]
    assert shown_ts(page) == sorted(shown_ts(page))


def test_private_replies_sit_among_channel_messages_in_time_order(sandbox, page):
    send(page, "/deal help")
    page.locator("[data-testid=ephemeral]", has_text="/deal add").last.wait_for(timeout=WAIT)
    later = post(sandbox, "posted after the help")
    page.locator(f"[data-testid=message][data-ts='{later}']").wait_for(timeout=WAIT)
    order = page.eval_on_selector_all(
        "#messages > [data-ts]", "ns => ns.map(n => [n.dataset.testid, n.innerText])"
    )
    help_at = max(
        i for i, (kind, text) in enumerate(order) if kind == "ephemeral" and "/deal add" in text
    )
    first_alert = next(i for i, (kind, text) in enumerate(order) if "Hot deal" in text)
    assert first_alert < help_at < len(order) - 1
    assert "posted after the help" in order[-1][1]
    assert shown_ts(page) == sorted(shown_ts(page))


def test_autoscroll_follows_new_messages_at_the_bottom_only(sandbox, page):
    at_bottom = (
        "() => { const b = document.getElementById('messages');"
        " return b.scrollHeight - b.scrollTop - b.clientHeight < 5; }"
    )
    assert page.evaluate("document.getElementById('messages').scrollHeight > 700")
    page.wait_for_function(at_bottom, timeout=WAIT)  # opens at the latest message
    ts = post(sandbox, "a new message arrives")
    page.locator(f"[data-ts='{ts}']").wait_for(timeout=WAIT)
    page.wait_for_function(at_bottom, timeout=WAIT)
    assert page.locator(f"[data-ts='{ts}']").is_visible()
    # someone reading older messages is not pulled down
    page.evaluate("document.getElementById('messages').scrollTop = 0")
    ts = post(sandbox, "another one")
    page.locator(f"[data-ts='{ts}']").wait_for(state="attached", timeout=WAIT)
    assert page.evaluate("document.getElementById('messages').scrollTop") == 0


def test_updates_are_incremental_and_keep_a_text_selection(sandbox, page):
    first = page.locator("[data-testid=message]").first
    first.evaluate(
        "n => { n.__probe = 'kept'; const r = document.createRange();"
        " r.selectNodeContents(n.querySelector('.bk-header'));"
        " getSelection().removeAllRanges(); getSelection().addRange(r); }"
    )
    selected = page.evaluate("getSelection().toString()")
    assert "Hot deal" in selected
    ts = post(sandbox, "an update arrives")
    page.locator(f"[data-ts='{ts}']").wait_for(timeout=WAIT)
    drawn = page.evaluate("window.sandboxPage.renders")
    page.wait_for_function("n => window.sandboxPage.renders >= n + 2", arg=drawn)  # two more polls
    assert first.evaluate("n => n.__probe") == "kept"
    assert page.evaluate("getSelection().toString()") == selected


def test_times_are_on_the_simulated_clock(sandbox, page):
    alert = page.locator("[data-testid=message]", has_text="Hot deal").first
    ts = float(alert.get_attribute("data-ts"))
    simulated = datetime.fromtimestamp(ts, UTC)
    assert abs(simulated - sandbox.clock()).total_seconds() < 600  # not the real clock
    expected = simulated.astimezone(ZoneInfo("America/New_York")).strftime("%-I:%M %p")
    assert alert.locator("[data-testid=when]").first.inner_text() == expected
    assert re.fullmatch(r"8:3\d PM", expected)
    assert re.search(r"8:3\d PM", page.inner_text("[data-testid=clock]"))


def test_add_form_errors_and_every_way_to_close_the_modal(sandbox, page):
    modal = page.locator("[data-testid=modal]")

    def open_form():
        send(page, "/deal add")
        modal.locator("[data-testid=view-form]").wait_for(timeout=WAIT)

    open_form()
    page.click("[data-testid=modal-submit]")  # empty: Slack's client refuses, naming each field
    errors = page.locator("[data-testid=field-error]")
    required = [t for t in errors.all_inner_texts() if t]
    assert len(required) == 8 and set(required) == {"Please complete this required field."}
    assert modal.is_visible() and not page.errors
    for name, value in [("mls_id", "X1"), ("address", "1 Main St"), ("city", "Tampa"),
                        ("state", "FL"), ("zip", "33602"), ("list_price", "lots"),
                        ("deal_score", "200"), ("seller_contact", "nobody")]:  # fmt: skip
        page.fill(f"[name='{name}/{name}']", value)
    page.click("[data-testid=modal-submit]")  # the bot answers response_action: errors
    bad = page.locator(".field.bad")
    bad.first.wait_for(timeout=WAIT)
    assert {"list_price", "deal_score", "seller_contact"} <= {
        b.get_attribute("data-field") for b in bad.all()
    }
    assert "Please complete" not in " ".join(errors.all_inner_texts())

    closers = [
        lambda: page.click("[data-testid=modal-cancel]"),
        lambda: page.keyboard.press("Escape"),
        lambda: page.mouse.click(5, 5),  # outside the box
        lambda: page.click("[data-testid=modal-close]"),
    ]
    for index, close in enumerate(closers):
        if index:
            open_form()
        close()
        modal.wait_for(state="hidden", timeout=WAIT)
        # the page has heard back from the sandbox: the modal is closed in Slack's state too
        page.wait_for_function("() => window.sandboxPage.state().views.length === 0")
        assert sandbox.fake.views("U0BROKER1") == []


def test_a_reload_closes_the_modal_as_slacks_client_does(sandbox, page):
    send(page, "/deal add")
    page.locator("[data-testid=view-form]").wait_for(timeout=WAIT)
    assert sandbox.fake.views("U0BROKER1")
    page.reload()
    page.locator("[data-testid=message]").first.wait_for(timeout=WAIT)
    page.wait_for_function("() => window.sandboxPage.state().views.length === 0")
    assert not page.locator("[data-testid=modal]").is_visible()
    assert sandbox.fake.views("U0BROKER1") == []


def test_usable_at_420_px(sandbox, browser):
    narrow = browser.new_page(viewport={"width": 420, "height": 800})
    narrow.goto(sandbox.page_url)
    narrow.locator("[data-testid=message]").first.wait_for(timeout=WAIT)
    send_button = narrow.locator("[data-testid=send]")
    box = send_button.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 420
    assert box["y"] + box["height"] <= 800
    assert narrow.evaluate("document.documentElement.scrollWidth") <= 420
    narrow.fill("[data-testid=command]", "/deal hot")
    send_button.click()
    narrow.locator("[data-testid=ephemeral]", has_text="Listing today").first.wait_for(timeout=WAIT)
    narrow.close()


def test_open_in_ghl_opens_the_emulators_page(sandbox, page):
    link = page.locator("[data-testid=message] a.bk", has_text="Open in GHL").first
    href = link.get_attribute("href")
    assert href.startswith(sandbox.ghl.app_url) and "gohighlevel.com" not in href
    opportunity_id = href.rsplit("opportunityId=", 1)[1]
    answer = requests.get(href, timeout=5)
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/html")
    opportunity = sandbox.emulator.state.opportunities[opportunity_id]
    assert opportunity.name in answer.text and "Priority Review" in answer.text


def test_demo_buyers_have_distinct_names(sandbox):
    names = [
        f"{c.first_name} {c.last_name}"
        for c in sandbox.emulator.state.contacts.values()
        if "active_buyer" in c.tags
    ]
    assert len(names) == 40 and len(set(names)) == len(names)


def test_the_page_server_answers_bad_requests_with_json_never_a_500(sandbox):
    api = sandbox.page_url + "api/"
    opened = requests.post(api + "command", json={"text": "/deal add"}, timeout=10)  # no user
    assert opened.status_code == 200, opened.text
    views = wait_for(lambda: sandbox.fake.views("U0BROKER1"), what="the add form")
    view = views[-1]
    empty = requests.post(api + "submit", json={"view_id": view["id"], "values": {}}, timeout=10)
    assert empty.status_code == 400 and "is required" in empty.json()["error"]
    assert sandbox.fake.views("U0BROKER1")[-1]["id"] == view["id"]  # the form stays open
    cases = [
        ("submit", {"view_id": view["id"], "values": []}, 400),
        ("submit", {"view_id": "V0NOPE"}, 404),
        ("click", {"channel": "C0DEALS", "ts": "1.000001", "action_id": "claim"}, 404),
        ("command", {"text": "hello"}, 400),
        ("command", {"text": "/deal help", "user": "U0NOBODY"}, 400),
        ("close", {"view_id": "V0NOPE"}, 404),
    ]
    for endpoint, body, status in cases:
        answer = requests.post(api + endpoint, json=body, timeout=10)
        assert (answer.status_code, "error" in answer.json()) == (status, True), endpoint
    not_json = requests.post(api + "command", data=b"{nope", timeout=10)
    assert not_json.status_code == 400 and not_json.json()["error"]
    closed = requests.post(api + "close", json={"view_id": view["id"]}, timeout=10)
    assert closed.status_code == 200 and sandbox.fake.views("U0BROKER1") == []


def test_switching_channel_and_user(sandbox, page):
    send(page, "/deal help")
    page.locator("[data-testid=ephemeral]", has_text="/deal add").last.wait_for(timeout=WAIT)
    page.locator("[data-testid=channel]", has_text="ops-alerts").click()
    page.locator("[data-testid=message]", has_text="health check").wait_for(timeout=WAIT)
    assert page.locator("[data-testid=message]", has_text="Hot deal").count() == 0
    page.locator("[data-testid=channel]", has_text="deals").first.click()
    page.locator("[data-testid=message]", has_text="Hot deal").first.wait_for(timeout=WAIT)
    assert page.locator("[data-testid=ephemeral]").count() > 0
    page.select_option("[data-testid=user]", "U0AGENT02")  # Bea, in Los Angeles
    page.wait_for_function("() => !document.querySelector('[data-testid=ephemeral]')")
    alert = page.locator("[data-testid=message]", has_text="Hot deal").first
    alert.wait_for(timeout=WAIT)
    assert re.fullmatch(r"5:3\d PM", alert.locator("[data-testid=when]").first.inner_text())
