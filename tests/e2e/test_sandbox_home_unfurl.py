"""The sandbox page shows the app's Home tab and its previews of pasted GHL links (issue 15),
in headless Chromium over the real sandbox: opening Home sends `app_home_opened` and draws the
published view (and its republishes); a GHL link typed in #deals is posted as the person's
message, Slack's `link_shared` reaches the bot, and its `chat.unfurl` card shows under the
message; Claim on the card is a signed `block_actions` that claims the deal in GHL."""

from datetime import UTC, datetime

import pytest
import requests

from sandbox.run import evening_clock, run_scenario, start_sandbox
from tests.e2e.browser import chromium, watch_errors

pytestmark = pytest.mark.slow  # headless Chromium

SIMULATED_START = datetime(2025, 3, 6, 1, 30, tzinfo=UTC)
WAIT = 15_000
HOME_WAIT = 30_000  # a publish right after another waits out the bot's 10 s window


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
    opened = browser.new_page(viewport={"width": 1200, "height": 800})
    opened.errors = watch_errors(opened)
    opened.goto(sandbox.page_url)
    opened.locator("[data-testid=message]").first.wait_for(timeout=WAIT)
    yield opened
    assert not opened.errors
    assert not sandbox.fake.unexpected_rejections()
    opened.close()


# True once the Home tab's "Your claimed deals" part holds every string in `wanted`.
CLAIMED_JS = """wanted => { const v = document.querySelector('[data-testid=home-view]');
  const part = v ? v.innerText.split("Today's hot deals")[0] : "";
  return wanted.every(w => part.includes(w)); }"""


def claimed_part(text):
    return text.split("Today's hot deals")[0]


def alert(page, mls_id):
    return page.locator("[data-testid=message]", has_text=f"MLS {mls_id}").first


def ghl_user_name(sandbox, opportunity_id):
    state = sandbox.emulator.state
    owner = state.users[state.opportunities[opportunity_id].assigned_to]
    return f"{owner.first_name} {owner.last_name}"


def test_opening_home_shows_my_claimed_deals_and_follows_republishes(sandbox, page):
    card = alert(page, "TB240000")
    card.wait_for(timeout=WAIT)
    card.locator("button", has_text="Claim").click()
    card.locator(".mention", has_text="@").first.wait_for(timeout=WAIT)
    opened_before = len(
        [c for c in sandbox.fake.calls_to("views.publish") if c.args.get("user_id") == "U0BROKER1"]
    )

    page.locator("[data-testid=home]").click()
    home = page.locator("[data-testid=home-view]")
    page.wait_for_function(
        CLAIMED_JS, arg=["Your claimed deals (1)", "TB240000"], timeout=HOME_WAIT
    )
    assert page.locator("[data-testid=command]").is_hidden()  # the Home tab has no composer
    assert "ATX240001" not in claimed_part(home.inner_text())
    publishes = [
        c for c in sandbox.fake.calls_to("views.publish") if c.args.get("user_id") == "U0BROKER1"
    ]
    assert len(publishes) > opened_before  # the page's open reached the bot as app_home_opened

    # Claimed elsewhere (in the channel, by a click Slack delivers), the open tab follows.
    message = next(m for m in sandbox.fake.messages("C0DEALS") if "ATX240001" in str(m.blocks))
    sandbox.driver.click_button(message, "deal_claim", user_id="U0BROKER1")
    page.wait_for_function(
        CLAIMED_JS, arg=["Your claimed deals (2)", "TB240000", "ATX240001"], timeout=HOME_WAIT
    )


def test_a_pasted_open_in_ghl_link_unfurls_into_the_deal_card(sandbox, page):
    card = alert(page, "ATX240007")
    card.wait_for(timeout=WAIT)
    href = card.locator("a.bk", has_text="Open in GHL").get_attribute("href")
    page.select_option("[data-testid=user]", "U0AGENT02")
    page.locator("[data-testid=message]").first.wait_for(timeout=WAIT)
    page.fill("[data-testid=command]", f"Worth a look {href}")
    page.press("[data-testid=command]", "Enter")

    mine = page.locator("[data-testid=message]", has_text="Worth a look")
    mine.wait_for(timeout=WAIT)
    page.locator("[data-testid=status]", has_text="link_shared sent to the bot (200)").wait_for(
        timeout=WAIT
    )
    assert mine.locator(".who").inner_text() == "Bea Agent"  # the person's message, not the bot's
    preview = mine.locator("[data-testid=unfurl]")
    preview.wait_for(timeout=WAIT)
    text = preview.inner_text()
    assert "score" in text and "MLS ATX240007" in text
    opportunity_id = href.rsplit("opportunityId=", 1)[1]
    assert "Stage" in text and "Priority Review" in text
    assert ghl_user_name(sandbox, opportunity_id) in text
    assert preview.get_attribute("data-url") == href
    # One link_shared for the message, one chat.unfurl for it.
    ts = mine.get_attribute("data-ts")
    calls = [c for c in sandbox.fake.calls_to("chat.unfurl") if f".{ts}." in str(c.args)]
    assert len(calls) == 1
    # The link itself still opens GHL's page (the emulator's) through the page server.
    answer = requests.get(href, timeout=5)
    assert answer.status_code == 200 and "Priority Review" in answer.text


def test_claim_from_the_preview_claims_in_ghl_and_updates_the_card(sandbox, page):
    pasted = page.locator("[data-testid=message]", has_text="close in 2 weeks")
    preview = pasted.locator("[data-testid=unfurl]")
    preview.wait_for(timeout=WAIT)
    assert "nobody yet" in preview.inner_text()
    url = preview.get_attribute("data-url")
    opportunity_id = url.rsplit("opportunityId=", 1)[1]

    preview.locator("button", has_text="Claim").click()
    page.locator("[data-testid=ephemeral]", has_text="You claimed").last.wait_for(timeout=WAIT)
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=unfurl]')]"
        ".some(u => u.innerText.includes('@') && !u.innerText.includes('nobody yet'))",
        timeout=WAIT,
    )
    owner = ghl_user_name(sandbox, opportunity_id)
    assert owner == "Maria Lopez"  # the broker's GHL user (bot/slack/roles.example.json)
    updated = pasted.locator("[data-testid=unfurl]")
    assert updated.count() == 1 and owner in updated.inner_text()  # replaced, not added


def test_the_new_endpoints_answer_bad_requests_with_json(sandbox):
    api = sandbox.page_url + "api/"
    cases = [
        ("message", {"text": ""}, 400),
        ("message", {"text": "x" * 4001}, 400),
        ("message", {"text": "hi", "channel": "C0NOPE"}, 400),
        ("home", {"user": "U0NOBODY"}, 400),
        (
            "unfurl-click",
            {"channel": "C0DEALS", "ts": "1.0", "url": "http://x", "action_id": "a"},
            404,
        ),
    ]
    for endpoint, body, status in cases:
        answer = requests.post(api + endpoint, json=body, timeout=10)
        assert (answer.status_code, "error" in answer.json()) == (status, True), endpoint
    missing = requests.get(sandbox.page_url + "v2/location/loc_demo/opportunities/list", timeout=5)
    assert missing.status_code == 404  # on to the emulator, which has no such opportunity


def test_a_message_without_a_ghl_link_is_posted_and_nothing_is_sent_to_the_bot(sandbox):
    unfurls_before = len(sandbox.fake.calls_to("chat.unfurl"))
    answer = requests.post(
        sandbox.page_url + "api/message",
        json={"text": "Lunch <at> 1 & https://example.com/menu", "user": "U0AGENT01"},
        timeout=10,
    )
    assert answer.status_code == 200 and answer.json()["link_shared"] is False
    posted = sandbox.fake.find_message("C0DEALS", answer.json()["ts"])
    assert posted.user == "U0AGENT01"
    assert posted.text == "Lunch &lt;at&gt; 1 &amp; <https://example.com/menu>"  # Slack's escaping
    assert len(sandbox.fake.calls_to("chat.unfurl")) == unfurls_before
