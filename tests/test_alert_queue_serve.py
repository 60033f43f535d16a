"""End to end, in real processes: `dealfinder serve` runs (HTTP mode, the Slack fake, the GHL
emulator, a SQLite store file); `dealfinder import` runs in another process without Slack
settings. Each hot deal gets exactly one card, also after re-running the import and
restarting the bot; `dealfinder notify` changes a card's counts with no click.

Nothing sleeps on policy: `wait_for` polls the Slack fake and the store until the bot's jobs
(`slack_alert_recovery` every 5 s, `slack_cards` every 2 s) have done their work.
"""

from __future__ import annotations

import json

import pytest

from bot.slack.messages import notified_line
from sandbox.slack_fake import Message
from store.types import utcnow
from tests.fixtures.bot import wait_for
from tests.fixtures.cli_processes import HOT, batch_file

pytestmark = pytest.mark.slow  # dealfinder serve and import in real processes


def _counts(message: Message) -> str:
    text = json.dumps(message.blocks)
    return text[text.find("Buyers notified") :][:120]


def test_import_without_slack_while_serve_runs_posts_one_card_per_hot_deal(procs, tmp_path):
    batch = batch_file(tmp_path)
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
    imported = procs.run("import", str(batch_file(tmp_path)))
    assert imported.returncode == 0, imported.stdout + imported.stderr
    out = " ".join(imported.stdout.split())
    assert "hot deal HOT-1: alert queued; posted when `dealfinder serve` or" in out
    assert "no bot or worker with Slack was seen" in out
    assert procs.slack.messages("C0DEALS") == []
    procs.start_bot()  # the alerts waited in the store: the bot posts them at start
    cards = procs.wait_for_cards()
    assert {k: len(v) for k, v in cards.items()} == {"HOT-1": 1, "HOT-2": 1}
