"""Refresh the README's pictures of the sandbox page: `python -m sandbox.pictures`.

Starts the sandbox as `dealfinder demo` does (on a fixed simulated evening, 8:30 PM in New
York), runs the morning's work, then drives the page in headless Chromium the way a person
would — claims an alert, looks a deal up, submits an empty add form, looks at the preview of
the GHL link the morning run pasted, opens the app's Home tab, opens the page on a 420 px
screen — and writes what the browser shows to `docs/*.png`.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime
from pathlib import Path

from sandbox.browser import chromium
from sandbox.run import evening_clock, run_scenario, start_sandbox

DOCS = Path(__file__).resolve().parents[1] / "docs"
# A fixed evening, so pictures differ only when the page or the product changes.
EVENING = datetime(2025, 3, 6, 1, 30, tzinfo=UTC)
WAIT_MS = 30_000
# The Home tab once it shows the broker's claimed deal and could read their GHL tasks.
HOME_READY = """() => { const v = document.querySelector('[data-testid=home-view]');
  return !!v && v.innerText.includes('TB240000')
    && /Tasks due for you \\(\\d+\\)/.test(v.innerText); }"""


def _send(page, line: str) -> None:
    page.fill("[data-testid=command]", line)
    page.press("[data-testid=command]", "Enter")


def make_pictures(out: Path = DOCS, *, buyers: int = 200) -> list[Path]:
    """Write the pictures into `out`; returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with start_sandbox(buyers=buyers, clock=evening_clock(EVENING)) as sandbox:
        run_scenario(sandbox)
        with chromium() as browser:
            page = browser.new_page(viewport={"width": 1280, "height": 860})
            page.goto(sandbox.page_url)
            alert = page.locator("[data-testid=message]", has_text="MLS TB240000").first
            alert.wait_for(timeout=WAIT_MS)
            ts = alert.get_attribute("data-ts")
            alert.locator("button", has_text="Claim").click()
            claimed = page.locator(f"[data-testid=message][data-ts='{ts}']", has_text="@Dana")
            claimed.wait_for(timeout=WAIT_MS)
            page.mouse.move(0, 0)
            written.append(out / "hot-deal-alert.png")
            claimed.screenshot(path=str(written[-1]))

            _send(page, "/deal show TB240000")
            answer = page.locator("[data-testid=ephemeral]", has_text="MLS TB240000")
            answer.last.wait_for(timeout=WAIT_MS)
            page.wait_for_function(
                "() => { const b = document.getElementById('messages');"
                " return b.scrollHeight - b.scrollTop - b.clientHeight < 5; }"
            )
            written.append(out / "sandbox-page.png")
            page.screenshot(path=str(written[-1]))

            _send(page, "/deal add")
            page.locator("[data-testid=view-form]").wait_for(timeout=WAIT_MS)
            page.fill("[name='mls_id/mls_id']", "TB249999")
            page.fill("[name='deal_score/deal_score']", "120")
            page.click("[data-testid=modal-submit]")
            page.locator(".field.bad").first.wait_for(timeout=WAIT_MS)
            page.eval_on_selector("[data-testid=modal-box]", "box => { box.scrollTop = 0; }")
            page.mouse.move(0, 0)
            written.append(out / "sandbox-add-form.png")
            page.screenshot(path=str(written[-1]))
            page.keyboard.press("Escape")

            pasted = page.locator("[data-testid=message]", has_text="close in 2 weeks")
            pasted.locator("[data-testid=unfurl]").wait_for(timeout=WAIT_MS)
            pasted.scroll_into_view_if_needed()
            page.mouse.move(0, 0)
            written.append(out / "link-unfurl.png")
            pasted.screenshot(path=str(written[-1]))

            # The import spent GHL's 10-second burst window; a person opens the tab later,
            # when the tab may read their GHL tasks again.
            _wait_for_ghl_burst(sandbox)
            page.locator("[data-testid=home]").click()
            page.wait_for_function(HOME_READY, timeout=WAIT_MS)
            page.mouse.move(0, 0)
            # Tall enough for the whole tab (the pane scrolls in a browser window).
            whole = page.eval_on_selector("#messages", "b => b.scrollHeight")
            page.set_viewport_size({"width": 1280, "height": min(2400, max(860, whole + 120))})
            page.wait_for_function(
                "() => { const b = document.getElementById('messages');"
                " return b.scrollHeight <= b.clientHeight + 1; }"
            )
            written.append(out / "home-tab.png")
            page.screenshot(path=str(written[-1]))
            page.set_viewport_size({"width": 1280, "height": 860})

            narrow = browser.new_page(viewport={"width": 420, "height": 860})
            narrow.goto(sandbox.page_url)
            narrow.locator("[data-testid=message]").first.wait_for(timeout=WAIT_MS)
            _send(narrow, "/deal help")
            narrow.locator("[data-testid=ephemeral]", has_text="/deal add").last.wait_for()
            written.append(out / "sandbox-narrow.png")
            narrow.screenshot(path=str(written[-1]))
    return written


def _wait_for_ghl_burst(sandbox, *, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while sandbox.ghl.remaining().burst_remaining <= 50 and time.monotonic() < deadline:
        time.sleep(0.2)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DOCS, help="folder for the PNGs [docs/]")
    parser.add_argument("--buyers", type=int, default=200, help="demo buyers to seed [200]")
    args = parser.parse_args(argv)
    for path in make_pictures(args.out, buyers=args.buyers):
        print(path)


if __name__ == "__main__":
    main()
