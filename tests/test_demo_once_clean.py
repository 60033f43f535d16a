"""`dealfinder demo --once` as a user runs it leaves nothing behind in the temp folder and prints
no library chatter (issue 13): no slack_sdk retry lines, no bolt "`token` will be unused"
warning, even with SLACK_BOT_TOKEN in the environment (as in a set-up shell)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # the whole demo in a subprocess

EXE = Path(sys.executable).with_name("dealfinder")


def test_demo_once_leaves_no_temp_folder_and_no_library_warnings(tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GHL_", "SLACK_", "DEALFINDER_", "DATABASE_URL", "REDIS_URL"))
    }
    env |= {"TMPDIR": str(tmp), "SLACK_BOT_TOKEN": "xoxb-0000-1111-from-the-shell"}
    before = sorted(tmp.iterdir())
    result = subprocess.run(
        [str(EXE), "demo", "--once", "--buyers", "30"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "hot deals: 5" in " ".join(result.stdout.split())  # it really ran
    panel = re.sub(r"[\s│]", "", result.stdout)  # rich draws and wraps the panel
    assert f"store:{tmp}/dealfinder-sandbox-" in panel  # its store was in the temp folder ...
    assert sorted(tmp.iterdir()) == before  # ... and is gone
    output = result.stdout + result.stderr
    for chatter in ("will be unused", "retry handler", "RateLimitErrorRetryHandler", "WARNING"):
        assert chatter not in output, chatter
