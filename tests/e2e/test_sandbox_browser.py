"""The sandbox page in a real headless browser (Debian's Chromium driven by Playwright): a
person types a slash command and clicks Claim on a hot-deal alert; both go to the real bot as
signed Slack requests, and the page shows the bot's answer and the updated alert."""

import pytest
from playwright.sync_api import expect

from sandbox.run import run_scenario, start_sandbox
from tests.e2e.browser import chromium

pytestmark = pytest.mark.slow  # headless Chromium


@pytest.fixture(scope="module")
def sandbox():
    with start_sandbox(buyers=60) as running:
        run_scenario(running)
        yield running


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


def test_command_and_claim_through_the_page(sandbox, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(sandbox.page_url)
    alerts = page.locator("[data-testid=message]", has_text="Hot deal")
    alerts.first.wait_for(timeout=15_000)
    # Every card is drawn (the pasted link's preview arrives a moment after its message).
    expect(alerts).to_have_count(len(sandbox.fake.messages("C0DEALS")), timeout=15_000)

    page.fill("[data-testid=command]", "/deal help")
    page.press("[data-testid=command]", "Enter")
    help_message = page.locator("[data-testid=ephemeral]", has_text="/deal")
    help_message.first.wait_for(timeout=15_000)

    first = alerts.first
    ts = first.get_attribute("data-ts")
    assert "nobody yet" in first.inner_text()
    first.locator("button", has_text="Claim").click()
    # the same message (same ts) now names the broker who claimed it (Slack shows the name)
    claimed = page.locator(f"[data-testid=message][data-ts='{ts}']", has_text="@Dana Broker")
    claimed.wait_for(timeout=15_000)
    # The thread entry ("@Dana Broker claimed the deal") can show before the card is redrawn.
    expect(claimed).not_to_contain_text("nobody yet", timeout=15_000)
    assert page.locator("[data-testid=message]", has_text="Hot deal").count() == alerts.count()
    # and GHL knows: the opportunity is now assigned to the broker's GHL user
    assigned = [o for o in sandbox.emulator.state.opportunities.values() if o.assigned_to]
    assert assigned
    page.screenshot(path=str(tmp_path / "sandbox.png"))


def test_hostile_text_is_shown_literally(sandbox, browser):
    """Markup typed by a user comes back escaped: no @channel ping, no forged link."""
    page = browser.new_page()
    page.goto(sandbox.page_url)
    page.locator("[data-testid=message]").first.wait_for(timeout=15_000)
    page.fill("[data-testid=command]", "/deal show <!channel> <https://evil.example|click me>")
    page.press("[data-testid=command]", "Enter")
    answer = page.locator("[data-testid=ephemeral]", has_text="evil.example")
    answer.first.wait_for(timeout=15_000)
    assert answer.first.locator("a[href='https://evil.example']").count() == 0
    assert "<!channel>" in answer.first.inner_text()
