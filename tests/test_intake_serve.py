"""`dealfinder serve --http` as a user runs it (a process of its own, dry run: GHL in process,
Slack the fake): the intake API is on the bot's one port, its worker turns what it accepted
into a deal with one hot-deal card, and the README's Python call is worked by that process."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import Engine

from bot.runtime import DRY_RUN_LOCATION
from sandbox.slack_fake import BOT_TOKEN, SlackFake
from store.db import make_engine
from tests.fixtures.bot import SIGNING_SECRET, deal_row, wait_for

pytestmark = pytest.mark.slow  # dealfinder serve in a subprocess

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "analysis-token-0123456789abcdef"
RUN_SERVE = (
    "import typer; from bot.cli.serve import register; "
    "app = typer.Typer(); register(app); app.command('noop')(lambda: None); app()"
)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served(slack_fake: SlackFake, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    port = _free_port()
    database = tmp_path / "bot.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "GHL_"))}
    env |= {
        "DEALFINDER_DRY_RUN": "1",
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack_fake.api_url,
        "SLACK_DEALS_CHANNEL": "C0DEALS",
        "DATABASE_URL": f"sqlite:///{database}",
        "DEALFINDER_API_TOKEN": f"analysis:{TOKEN}",
        "DEALFINDER_API_RATE_PER_MINUTE": "100000",  # the test polls the status often
        "PYTHONPATH": str(ROOT),
    }
    process = subprocess.Popen(
        [sys.executable, "-c", RUN_SERVE, "serve", "--http", "--port", str(port),
         "--host", "127.0.0.1"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        assert process.poll() is None, process.communicate()[0]
        try:
            return requests.get(f"{url}/healthz", timeout=1).status_code == 200
        except requests.ConnectionError:
            return False

    try:
        wait_for(up, timeout=30, what="the bot to serve /healthz")
        yield url, database
    finally:
        process.terminate()
        output = process.communicate(timeout=15)[0]
        assert TOKEN not in output  # never logged
        assert "Traceback" not in output, output[-3000:]


def status(url: str, mls_id: str) -> dict[str, Any]:
    answer = requests.get(f"{url}/api/properties/{mls_id}",
                          headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)  # fmt: skip
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_serve_takes_a_hot_deal_over_http_and_posts_one_card(
    served: tuple[str, Path], slack_fake: SlackFake
) -> None:
    url, _ = served
    auth = {"Authorization": f"Bearer {TOKEN}"}
    accepted = requests.post(f"{url}/api/properties", json=deal_row("TPA-1001"), headers=auth,
                             timeout=10)  # fmt: skip
    assert accepted.status_code == 202
    (record,) = accepted.json()["properties"]
    # The card is posted from inside the pipeline, a moment before the item is marked done.
    done = wait_for(
        lambda: (s := status(url, "TPA-1001"))["alert"]["status"] == "posted"
        and s["state"] == "done" and s,
        timeout=30, what="the deal worked and its card posted",
    )  # fmt: skip
    assert done["state"] == "done" and done["action"] == "created" and done["hot"] is True
    assert done["stage"] == "Priority Review" and done["opportunity_url"]
    again = requests.post(f"{url}/api/properties", json=[deal_row("TPA-1001")], headers=auth,
                          timeout=10)  # fmt: skip
    assert again.json()["properties"][0] == {**record, "queued": False, "state": "done"}
    cards = [m for m in slack_fake.messages("C0DEALS") if "deal:TPA-1001" in str(m.blocks)]
    assert len(cards) == 1
    assert requests.get(f"{url}/api/openapi.json", timeout=10).json()["info"]["title"] == (
        "DealFinder intake API"
    )
    assert requests.post(f"{url}/api/properties", json=deal_row(), timeout=10).status_code == 401


def readme_python_example() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(r"<!-- intake-python -->\s*```python\n(.*?)```", text, re.DOTALL)
    assert found, "the README's intake example is gone"
    return found.group(1)


def test_the_readme_python_call_is_worked_by_the_running_bot(served: tuple[str, Path]):
    url, database = served
    engine: Engine = make_engine(f"sqlite:///{database}")
    try:
        names: dict[str, Any] = {"engine": engine, "location_id": DRY_RUN_LOCATION,
                                 "record": deal_row("TPA-2002", deal_score=82)}  # fmt: skip
        exec(readme_python_example(), names)  # noqa: S102 - the README's own two lines
        (submitted,) = names["statuses"]
        assert submitted.mls_id == "TPA-2002" and submitted.queued and submitted.state == "queued"
    finally:
        engine.dispose()
    worked = wait_for(lambda: (s := status(url, "TPA-2002"))["state"] == "done" and s,
                      timeout=30, what="the serving process to work the queued record")  # fmt: skip
    assert worked["action"] == "created" and worked["stage"] == "Good Deal"
