"""End to end, in real processes: `dealfinder serve` runs (HTTP mode, the Slack fake, the GHL
emulator, a SQLite store file); `dealfinder import` runs in another process without Slack
settings. Each hot deal gets exactly one card, also after re-running the import and
restarting the bot; `dealfinder notify` changes a card's counts with no click.

Nothing sleeps on policy: `wait_for` polls the Slack fake and the store until the bot's jobs
(`slack_alert_recovery` every 5 s, `slack_cards` every 2 s) have done their work.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from bot.messages import notified_line
from bot.roles import EXAMPLE_ROLES_FILE
from bot.slack_fake import BOT_TOKEN, Message, SlackFake
from ghl.emulator import DEFAULT_TOKEN, DEMO_LOCATION_ID, Emulator
from services.desk import DealDesk
from services.hot_alerts import POSTER_KEY
from store import state as store_state
from store.db import make_engine, session_scope
from store.types import utcnow
from tests.fixtures.bot import SIGNING_SECRET, deal_row, wait_for

ROOT = Path(__file__).resolve().parents[1]
HOT = ("HOT-1", "HOT-2")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Processes:
    """`dealfinder` commands as real processes sharing one store, GHL and Slack."""

    def __init__(self, tmp_path: Path, emulator: Emulator, slack: SlackFake) -> None:
        self.tmp, self.slack = tmp_path, slack
        self.db_url = f"sqlite:///{tmp_path / 'dealfinder.db'}"
        base = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("SLACK_", "GHL_", "DEALFINDER_", "DATABASE_", "DRY_RUN"))
        }
        self.env = base | {
            "GHL_API_KEY": DEFAULT_TOKEN,
            "GHL_LOCATION_ID": DEMO_LOCATION_ID,
            "GHL_BASE_URL": emulator.url,
            "GHL_RATE_BACKEND": "memory",
            "DATABASE_URL": self.db_url,
            "DEALFINDER_LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
        }
        self.slack_env = {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": slack.api_url,
            "SLACK_DEALS_CHANNEL": "C0DEALS",
            "DEALFINDER_ROLES_FILE": str(EXAMPLE_ROLES_FILE),
        }
        self.bot: subprocess.Popen[str] | None = None

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        """A CLI command without Slack settings (as on a laptop or in cron)."""
        return subprocess.run(
            [sys.executable, "-m", "bot.cli", *args], cwd=self.tmp, env=self.env,
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip

    def start_bot(self) -> None:
        port = _free_port()
        self.bot = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "serve", "--http", "--port", str(port),
             "--host", "127.0.0.1"],
            cwd=self.tmp, env=self.env | self.slack_env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )  # fmt: skip
        bot = self.bot

        def up() -> bool:
            assert bot.poll() is None, bot.communicate()[0]
            try:
                return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok
            except requests.ConnectionError:
                return False

        wait_for(up, timeout=60, what="`dealfinder serve` to answer /healthz")

    def stop_bot(self) -> None:
        if self.bot is not None and self.bot.poll() is None:
            self.bot.terminate()
            self.bot.wait(timeout=30)
        self.bot = None

    def poster_looked_after(self, moment: datetime) -> bool:
        """Whether the bot's alert job has run since `moment` (its heartbeat in the store)."""
        engine = make_engine(self.db_url)
        try:
            with session_scope(engine, readonly=True) as session:
                row = store_state.get_sync_state(session=session, key=POSTER_KEY)
            return bool(row and row.last_synced_at and row.last_synced_at > moment)
        finally:
            engine.dispose()

    def wait_for_cards(self) -> dict[str, list[Message]]:
        """Both hot deals' cards, once the bot has posted them."""

        def both() -> dict[str, list[Message]] | None:
            found = self.cards()
            return found if len(found) == len(HOT) else None

        return wait_for(both, timeout=30, what="both cards")

    def store_counts(self, mls_id: str) -> tuple[int, int, int]:
        """Texted / waiting / excluded as the store has them."""
        engine = make_engine(self.db_url)
        try:
            with session_scope(engine, readonly=True) as session:
                return DealDesk._sms_counts(session, mls_id)
        finally:
            engine.dispose()

    def cards(self) -> dict[str, list[Message]]:
        """The deals channel's top-level messages, by the MLS id of the card they show."""
        found: dict[str, list[Message]] = {}
        for message in self.slack.messages("C0DEALS"):
            for mls_id in HOT:
                if f"deal:{mls_id}" in json.dumps(message.blocks):
                    found.setdefault(mls_id, []).append(message)
        return found


@pytest.fixture
def procs(tmp_path: Path, seeded_emulator: Emulator, slack_fake: SlackFake) -> Iterator[Processes]:
    procs = Processes(tmp_path, seeded_emulator, slack_fake)
    yield procs
    procs.stop_bot()


def _batch(tmp_path: Path) -> Path:
    rows: list[dict[str, Any]] = [
        deal_row("HOT-1", deal_score=97),
        # Another listing agent: GHL refuses a second open deal for one contact.
        deal_row(
            "HOT-2",
            deal_score=95,
            address="77 Palm Row",
            zip="33606",
            agent_name="Lee Ortega",
            agent_email="lee.ortega@example.com",
            agent_phone="+18135550177",
        ),
    ]
    path = tmp_path / "deals.json"
    path.write_text(json.dumps(rows))
    return path


def _counts(message: Message) -> str:
    text = json.dumps(message.blocks)
    return text[text.find("Buyers notified") :][:120]


def test_import_without_slack_while_serve_runs_posts_one_card_per_hot_deal(procs, tmp_path):
    batch = _batch(tmp_path)
    procs.start_bot()
    imported = procs.run("import", str(batch))
    assert imported.returncode == 0, imported.stdout + imported.stderr
    out = " ".join(imported.stdout.split())
    for mls_id in HOT:  # the summary says what happened to each hot deal's alert
        assert f"hot deal {mls_id}: alert queued; the running bot posts it" in out
    cards = procs.wait_for_cards()
    assert {k: len(v) for k, v in cards.items()} == {"HOT-1": 1, "HOT-2": 1}

    again = utcnow()
    rerun = procs.run("import", str(batch))
    assert rerun.returncode == 0 and "unchanged" in rerun.stdout
    wait_for(lambda: procs.poster_looked_after(again), timeout=30, what="an alert job run")
    procs.stop_bot()
    restarted = utcnow()
    procs.start_bot()
    wait_for(lambda: procs.poster_looked_after(restarted), timeout=30, what="the new bot's job")
    assert {k: len(v) for k, v in procs.cards().items()} == {"HOT-1": 1, "HOT-2": 1}

    # `dealfinder notify` in its own process: the card's counts follow, with no click.
    card = cards["HOT-1"][0]
    before = _counts(procs.slack.find_message("C0DEALS", card.ts))
    assert procs.run("sync-buyers").returncode == 0
    notified = procs.run("notify", "--mls-id", "HOT-1", "--json")
    assert notified.returncode == 0, notified.stdout + notified.stderr
    assert json.loads(notified.stdout)["dry_run"] is False
    texted, waiting, excluded = procs.store_counts("HOT-1")  # what Notify buyers lists
    assert texted + waiting + excluded > 0  # the notify run changed something to show
    expected = notified_line(texted, waiting, excluded)
    assert expected not in before

    def updated() -> str | None:
        now = _counts(procs.slack.find_message("C0DEALS", card.ts))
        return now if expected in now else None

    wait_for(updated, timeout=30, what=f"the card to say {expected!r}")
    assert {k: len(v) for k, v in procs.cards().items()} == {"HOT-1": 1, "HOT-2": 1}


def test_import_with_no_slack_anywhere_says_the_alerts_wait(procs, tmp_path):
    imported = procs.run("import", str(_batch(tmp_path)))
    assert imported.returncode == 0, imported.stdout + imported.stderr
    out = " ".join(imported.stdout.split())
    assert "hot deal HOT-1: alert queued; posted when `dealfinder serve` or" in out
    assert "no bot or worker with Slack was seen" in out
    assert procs.slack.messages("C0DEALS") == []
    procs.start_bot()  # the alerts waited in the store: the bot posts them at start
    cards = procs.wait_for_cards()
    assert {k: len(v) for k, v in cards.items()} == {"HOT-1": 1, "HOT-2": 1}
