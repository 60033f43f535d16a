"""`dealfinder import` in a process with Slack settings posts each hot deal's card itself,
through the same pipeline construction `serve` uses (`bot.runtime`), with no bot running."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.fixtures.cli_processes import HOT, batch_file


@pytest.mark.slow  # over 0.5 s: the full run only (README, 'fast lane')
def test_import_with_slack_posts_the_hot_deal_cards(procs, tmp_path):
    batch = batch_file(tmp_path)
    imported = subprocess.run(
        [sys.executable, "-m", "bot.cli.main", "import", str(batch)],
        cwd=tmp_path, env=procs.env | procs.slack_env, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    assert imported.returncode == 0, imported.stdout + imported.stderr
    out = " ".join(imported.stdout.split())
    for mls_id in HOT:
        assert f"hot deal {mls_id}: Slack told (card in the deals channel)" in out
    # Posted by the import itself (no bot runs here), once per hot deal.
    assert {k: len(v) for k, v in procs.cards().items()} == {"HOT-1": 1, "HOT-2": 1}
