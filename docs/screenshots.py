"""Make docs/home-tab.png and docs/link-unfurl.png from what the real bot publishes.

    python docs/screenshots.py            # needs Chromium (apt-get install chromium)

It starts the sandbox (GHL emulator, Slack fake, the bot over signed HTTP), runs the morning
scenario, lets a broker claim a hot deal, opens the broker's Home tab and pastes a deal's
"Open in GHL" link as an agent. The Home tab (views.publish) and the preview (chat.unfurl) the
bot sent to the Slack fake are then drawn by a small Block Kit renderer in headless Chromium.
(The sandbox page is not used: it is being reworked separately.)
"""

from __future__ import annotations

import html
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# Slack's emoji, drawn with plain glyphs (headless Chromium here has no emoji font).
DOT = '<span style="color:{}">&#9679;</span>'
EMOJI = {"fire": DOT.format("#e8590c"), "large_green_circle": DOT.format("#2eb67d"),
         "large_yellow_circle": DOT.format("#ecb22e"), "red_circle": DOT.format("#e01e5a"),
         "warning": "&#9888;", "grey_question": "?", "lock": "&#9919;",
         "alarm_clock": "&#9200;", "hourglass": "&#8987;"}  # fmt: skip
CSS = """
body { font: 15px/1.45 -apple-system, 'Segoe UI', 'DejaVu Sans', sans-serif; margin: 0;
       background: #fff; color: #1d1c1d; }
.frame { width: 760px; padding: 20px 28px; }
.tabbar { border-bottom: 1px solid #ddd; margin: -20px -28px 16px; padding: 14px 28px 0;
          font-weight: 700; }
.tabbar span { display: inline-block; padding-bottom: 10px; margin-right: 22px; color: #616061; }
.tabbar span.on { color: #1d1c1d; border-bottom: 2px solid #1264a3; }
h3 { font-size: 18px; margin: 18px 0 6px; }
.section { display: flex; justify-content: space-between; gap: 12px; margin: 6px 0; }
.fields { display: grid; grid-template-columns: 1fr 1fr; gap: 6px 24px; margin: 6px 0; }
.context { color: #616061; font-size: 13px; margin: 6px 0; }
.actions button, .accessory button { font: 600 14px sans-serif; padding: 5px 12px;
        border: 1px solid #bbb; background: #fff; border-radius: 4px; margin-right: 8px; }
button.primary { background: #007a5a; color: #fff; border-color: #007a5a; }
button.danger { color: #e01e5a; }
hr { border: 0; border-top: 1px solid #ddd; }
code { background: #f6f6f6; border: 1px solid #e0e0e0; border-radius: 3px; padding: 0 3px;
       color: #e01e5a; font-size: 13px; }
a { color: #1264a3; text-decoration: none; }
.msg { display: flex; gap: 10px; margin: 8px 0; }
.avatar { width: 36px; height: 36px; border-radius: 4px; background: #4a154b; color: #fff;
          display: flex; align-items: center; justify-content: center; font-weight: 700; }
.who { font-weight: 800; } .when { color: #616061; font-size: 12px; margin-left: 6px; }
.unfurl { border-left: 4px solid #ddd; padding: 2px 12px; margin-top: 6px; }
"""


def mrkdwn(text: str, names: dict[str, str]) -> str:
    """Slack mrkdwn as HTML: <…> constructs, then entities, *bold*, _italic_, `code`, :emoji:."""
    out = []
    for part in re.split(r"(<[^>]+>)", text):
        if part.startswith("<") and part.endswith(">"):
            inner = part[1:-1]
            if inner.startswith("@"):
                out.append(f"<a>@{html.escape(names.get(inner[1:], inner[1:]))}</a>")
            elif inner.startswith("!date^"):
                out.append(html.escape(inner.split("|", 1)[-1]))
            else:
                url, _, label = inner.partition("|")
                out.append(f'<a href="{html.escape(url)}">{html.escape(label or url)}</a>')
            continue
        plain = html.escape(part.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))
        plain = re.sub(r"`([^`]+)`", r"<code>\1</code>", plain)
        plain = re.sub(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])", r"<b>\1</b>", plain)
        plain = re.sub(r"(?<![\w_])_([^_\n]+)_(?![\w_])", r"<i>\1</i>", plain)
        plain = re.sub(r":([a-z_]+):", lambda m: EMOJI.get(m[1], m[0]), plain)
        out.append(plain.replace("\n", "<br>"))
    return "".join(out)


def _button(element: dict[str, Any]) -> str:
    style = element.get("style", "")
    return f'<button class="{style}">{html.escape(element["text"]["text"])}</button>'


def render(blocks: list[dict[str, Any]], names: dict[str, str]) -> str:
    """Block Kit blocks as HTML (the kinds the bot sends)."""
    parts = []
    for block in blocks:
        kind = block["type"]
        if kind == "header":
            parts.append(f"<h3>{html.escape(block['text']['text'])}</h3>")
        elif kind == "divider":
            parts.append("<hr>")
        elif kind == "context":
            texts = " · ".join(mrkdwn(e.get("text", ""), names) for e in block["elements"])
            parts.append(f'<div class="context">{texts}</div>')
        elif kind == "actions":
            parts.append(
                f'<div class="actions">{"".join(_button(e) for e in block["elements"])}</div>'
            )
        elif kind == "section" and "fields" in block:
            cells = "".join(f"<div>{mrkdwn(f['text'], names)}</div>" for f in block["fields"])
            parts.append(f'<div class="fields">{cells}</div>')
        elif kind == "section":
            accessory = block.get("accessory")
            side = f'<div class="accessory">{_button(accessory)}</div>' if accessory else ""
            body = mrkdwn(block["text"]["text"], names)
            parts.append(f'<div class="section"><div>{body}</div>{side}</div>')
    return "".join(parts)


def home_page(view: dict[str, Any], names: dict[str, str]) -> str:
    tabs = (
        '<div class="tabbar"><span class="on">Home</span><span>Messages</span>'
        "<span>About</span></div>"
    )
    return f"<style>{CSS}</style><div class='frame'>{tabs}{render(view['blocks'], names)}</div>"


def unfurl_page(text: str, unfurls: dict[str, Any], names: dict[str, str]) -> str:
    previews = "".join(
        f"<div class='unfurl'>{render(u['blocks'], names)}</div>" for u in unfurls.values()
    )
    message = (
        "<div class='msg'><div class='avatar'>A</div><div><span class='who'>Ari Agent</span>"
        f"<span class='when'>9:14 AM</span><div>{mrkdwn(text, names)}</div>{previews}</div></div>"
    )
    header = '<div class="tabbar"><span class="on"># deals</span></div>'
    return f"<style>{CSS}</style><div class='frame'>{header}{message}</div>"


def wait_for(probe: Any, what: str, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := probe()):
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.05)
    return found


def main() -> None:
    from playwright.sync_api import sync_playwright

    from bot import blocks
    from bot.sandbox.run import run_scenario, start_sandbox
    from bot.slack_fake.events import home_view_of, open_app_home, share_link, unfurls_of
    from ghl.health import check_ghl
    from store.db import session_scope
    from store.deals import get_opportunity_link
    from store.state import record_health_check

    with start_sandbox(buyers=60) as sandbox:
        summary = run_scenario(sandbox)
        health = check_ghl(sandbox.ghl)
        with session_scope(sandbox.engine) as session:
            record_health_check(
                session=session, state=health.state, details={}, now=sandbox.clock()
            )
        fake, driver = sandbox.fake, sandbox.driver
        card = fake.messages("C0DEALS")[0]
        mls_id = summary.hot_deals[0]
        driver.click_button(card, blocks.CLAIM, user_id="U0BROKER1")
        wait_for(lambda: fake.ephemerals(user_id="U0BROKER1"), "the claim's answer")
        # The import spent GHL's 10-second burst window; a person opens the tab later, when the
        # tab may read their GHL tasks again.
        wait_for(lambda: sandbox.ghl.remaining().burst_remaining > 50, "GHL's burst window")
        open_app_home(driver, user_id="U0BROKER1")
        view = wait_for(lambda: home_view_of(fake, "U0BROKER1"), "the Home tab")
        with session_scope(sandbox.engine, readonly=True) as session:
            link = get_opportunity_link(
                session=session, mls_id=mls_id, location_id=sandbox.ghl.location_id
            )
        assert link is not None
        url = sandbox.ghl.opportunity_url(link.opportunity_id)
        text = f"Seller says they can close in 2 weeks. <{url}>"
        shared = share_link(driver, text=text, user_id="U0AGENT01")
        unfurls = wait_for(lambda: unfurls_of(fake, shared.unfurl_id), "the preview")
        names = {u.id: u.real_name for u in fake.store.workspace.users.values()}
        pages = {"home-tab.png": home_page(view, names),
                 "link-unfurl.png": unfurl_page(text, unfurls, names)}  # fmt: skip

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    args = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-background-networking", "--disable-component-update"]  # fmt: skip
    with sync_playwright() as p, tempfile.TemporaryDirectory() as tmp:
        browser = p.chromium.launch(executable_path=chromium, args=args)
        for name, page_html in pages.items():
            path = Path(tmp) / (name + ".html")
            path.write_text(page_html, encoding="utf-8")
            page = browser.new_page(viewport={"width": 816, "height": 400})
            page.goto(path.as_uri())
            page.locator(".frame").screenshot(path=str(ROOT / "docs" / name))
            print(f"wrote docs/{name}")
        browser.close()


if __name__ == "__main__":
    main()
