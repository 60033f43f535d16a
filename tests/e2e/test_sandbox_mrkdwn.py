"""The sandbox page draws Slack's mrkdwn by Slack's rules, in headless Chromium.

Formatting marks open after a non-word character and close before one, so underscores inside
words ("no_opt_in", "America/New_York") and inside emoji names stay as typed; entities are
decoded once; `<...>` is Slack's markup; every emoji shortcode the product writes is drawn.
https://api.slack.com/reference/surfaces/formatting
"""

import pytest
from slack_sdk import WebClient

from bot.web.server import start_http_in_thread
from sandbox.emoji import EMOJI
from sandbox.server import SandboxApp
from sandbox.slack_fake import BOT_TOKEN, SlackDriver, SlackFake
from tests.e2e.browser import chromium, watch_errors
from tests.e2e.shortcodes import product_shortcodes

pytestmark = pytest.mark.slow  # headless Chromium


@pytest.fixture(scope="module")
def page_over_fake():
    """The sandbox page over a served Slack fake (no bot needed to show messages)."""
    fake = SlackFake()
    with fake.serve() as served:
        driver = SlackDriver("http://127.0.0.1:9/slack/events", "unused", fake)
        http = start_http_in_thread(SandboxApp(fake=fake, driver=driver))
        try:
            with chromium() as browser:
                page = browser.new_page(viewport={"width": 1100, "height": 800})
                errors = watch_errors(page)
                page.goto(http.url + "/")
                page.wait_for_function("window.sandboxPage !== undefined")
                yield page, WebClient(token=BOT_TOKEN, base_url=served.api_url), errors
        finally:
            http.stop()


# (mrkdwn as the bot sends it, the HTML the page must draw)
CASES = [
    ("no_opt_in: not opted in", "no_opt_in: not opted in"),
    ("zone America/New_York today", "zone America/New_York today"),
    ("snake_case_name and a_b", "snake_case_name and a_b"),
    ("*bold* and _italic_ and ~gone~", "<b>bold</b> and <i>italic</i> and <s>gone</s>"),
    ("(_quiet hours_)", "(<i>quiet hours</i>)"),
    ("*Price:* $265,000", "<b>Price:</b> $265,000"),
    ("_a_b_", "<i>a_b</i>"),
    ("2 * 3 * 4", "2 * 3 * 4"),
    ("* not bold*", "* not bold*"),
    ("*not\nbold*", "*not\nbold*"),
    ("run `no_opt_in *x*`", "run <code>no_opt_in *x*</code>"),
    ("```a_b *c*\n_d_```", '<pre class="code">a_b *c*\n_d_</pre>'),
    ("&lt;b&gt; &amp;lt; &amp;", "&lt;b&gt; &amp;lt; &amp;"),
    ("&lt;!channel&gt;", "&lt;!channel&gt;"),
    ("*<https://x.example/a_b|the_deal>*",
     '<b><a href="https://x.example/a_b" target="_blank" rel="noopener">the_deal</a></b>'),
    ("<https://x.example/?a=1&amp;b=2>",
     '<a href="https://x.example/?a=1&amp;b=2" target="_blank" rel="noopener">'
     "https://x.example/?a=1&amp;b=2</a>"),
    ("<!here> look", '<span class="mention">@here</span> look'),
    ("<!date^1700000000^{time}|8:30 PM>", "8:30 PM"),
    ("8:30 PM, 10:00:00", "8:30 PM, 10:00:00"),
    (":not_an_emoji_we_know:", ":not_an_emoji_we_know:"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "html"), CASES)
def test_mrkdwn_rules(page_over_fake, text, html):
    page, _, _ = page_over_fake
    assert page.evaluate("t => window.sandboxPage.mrkdwn(t)", text) == html


def test_underscores_in_words_and_emoji_names_stay_literal_in_a_real_message(page_over_fake):
    page, web, errors = page_over_fake
    text = (
        ":hourglass_flowing_sand: Texting buyers… excluded: no_opt_in (sms_opt_in) · "
        "deferred until 08:00 America/New_York · *3 texted* · &lt;not a tag&gt;"
    )
    posted = web.chat_postMessage(channel="C0DEALS", text=text)
    node = page.locator(f"[data-testid=message][data-ts='{posted['ts']}']")
    node.wait_for(timeout=10_000)
    shown = node.locator(".block").inner_text()
    assert "⏳ Texting buyers… excluded: no_opt_in (sms_opt_in)" in shown
    assert "America/New_York" in shown and "<not a tag>" in shown
    assert node.locator("i").count() == 0  # nothing italicised
    assert node.locator("b").inner_text() == "3 texted"
    assert not errors


def test_every_emoji_the_product_writes_is_drawn(page_over_fake):
    page, _, _ = page_over_fake
    used = product_shortcodes()
    assert {"hourglass_flowing_sand", "warning", "white_check_mark"} <= used.keys()
    missing = {name: where for name, where in used.items() if name not in EMOJI}
    assert not missing, f"add these to sandbox/emoji.py: {missing}"
    for name in used:
        html = page.evaluate("t => window.sandboxPage.mrkdwn(t)", f"a :{name}: b")
        assert f'data-emoji="{name}"' in html and f":{name}:" not in html.replace(
            f'title=":{name}:"', ""
        ), name
    # the page draws from the one table the server hands it
    assert page.evaluate("Object.keys(window.sandboxPage.emoji).length") == len(EMOJI)


def test_help_shows_or_as_a_word_between_code_spans(page_over_fake):
    from bot.slack.listeners import registry

    page, _, _ = page_over_fake
    for text in (registry.help_text(), registry.usage("/deal", "add")):
        html = page.evaluate("t => window.sandboxPage.mrkdwn(t)", text)
        assert "<code>/deal add</code> <i>or</i> <code>/deal add MLS |" in html
        assert "_or_" not in html
