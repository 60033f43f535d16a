"""What `dealfinder import` and `dealfinder sync-buyers` print, as a user sees it: real
processes (`python -m bot.cli.main`) against the GHL emulator over HTTP, a wide terminal so the
summary table does not wrap, and the default log level (the one a user gets)."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.logs import configure_logging, demote
from sandbox.ghl_emulator import DEFAULT_TOKEN, DEMO_LOCATION_ID

pytestmark = pytest.mark.slow  # the CLI in subprocesses

ROOT = Path(__file__).resolve().parents[1]
BATCH = ROOT / "services" / "samples" / "mls_batch.json"


@pytest.fixture
def env(tmp_path, monkeypatch) -> dict[str, str]:
    """No DealFinder settings but the store; no .env file; a 250-column terminal."""
    monkeypatch.chdir(tmp_path)
    kept = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GHL_", "SLACK_", "DEALFINDER_", "DATABASE_", "DRY_RUN", "REDIS_"))
    }
    return kept | {
        "COLUMNS": "250",
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'dealfinder.db'}",
    }


@pytest.fixture
def live(env, seeded_emulator) -> dict[str, str]:
    return env | {
        "GHL_API_KEY": DEFAULT_TOKEN,
        "GHL_LOCATION_ID": DEMO_LOCATION_ID,
        "GHL_BASE_URL": seeded_emulator.url,
        "GHL_RATE_BACKEND": "memory",
    }


def dealfinder(env: dict[str, str], *args: str) -> tuple[int, str]:
    """Run the command; its stdout and stderr together, as a terminal shows them."""
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli.main", *args],
        env=env,
        cwd=env["DATABASE_URL"].removeprefix("sqlite:///").rsplit("/", 1)[0],
        capture_output=True,
        text=True,
        timeout=180,
    )
    return done.returncode, done.stdout + done.stderr


def row(output: str, name: str) -> str:
    """The detail cell of one row of the summary table."""
    [line] = [one for one in output.splitlines() if re.match(rf"^│ {name}\s+│", one)]
    return line.split("│")[3].strip()


def test_a_dry_run_shows_no_speed_and_no_headroom_of_the_emulator(env):
    code, output = dealfinder(env, "import", str(BATCH), "--dry-run")
    assert code == 0, output
    assert "dry run: in-process emulator" in output
    assert re.fullmatch(
        r"\d+\.\d per created/updated property; no speed shown: a dry run uses the in-process "
        r"emulator",
        row(output, "GHL calls"),
    )
    assert row(output, "headroom left") == (
        "none: a dry run uses the in-process emulator, not GHL's limits"
    )
    assert "burst" not in output and "/min" not in output and "a minute" not in output


def test_a_rerun_shows_no_meaningless_rate(live):
    code, first = dealfinder(live, "import", str(BATCH))
    assert code == 0, first
    assert re.fullmatch(r"\d+\.\d per created/updated property(; \d+ created/updated a minute)?",
                        row(first, "GHL calls"))  # fmt: skip
    # The emulator's real limits (100 per 10 s, 200,000 a day), as GHL reports them.
    assert re.fullmatch(
        r"burst \d+/100 per 10 s; daily [\d,]+/200,000", row(first, "headroom left")
    )
    code, again = dealfinder(live, "import", str(BATCH))
    assert code == 0, again
    assert re.search(r"^│ created\s+│\s+0 │", again, re.M)
    assert row(again, "GHL calls") == (
        "nothing created or updated (already done), so no per-property rate"
    )
    assert "properties/min" not in again and "0.0 per" not in again


def test_sync_buyers_prints_its_summary_once(live):
    code, first = dealfinder(live, "sync-buyers")
    assert code == 0, first
    summaries = [line for line in first.splitlines() if "synced " in line]
    assert summaries == [re.match(r"synced 20 buyers \(1 pages, full\): .*", summaries[0])[0]]
    code, again = dealfinder(live, "sync-buyers")
    assert code == 0, again
    summaries = [line for line in again.splitlines() if "synced " in line]
    assert len(summaries) == 1 and "incremental" in summaries[0]
    # The table lists every buyer kept out so far, and says so: an incremental run re-reads
    # only changed contacts, so its own "excluded" count can be 0 while the table is not.
    assert "Buyers kept out of matching, all in the store (fix in GHL)" in again


@pytest.fixture
def restore_logging():
    """Logging as a fresh process has it (other tests' apps set some loggers' levels)."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    named = [logging.getLogger(n) for n in ("dealfinder", "slack_sdk", "slack_bolt")]
    levels = [one.level for one in named]
    for one in named:
        one.setLevel(logging.NOTSET)
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for one, was in zip(named, levels, strict=True):
        one.setLevel(was)


@pytest.mark.parametrize(
    ("level", "shown"),
    [("INFO", ["ours warns", "bolt fails"]),
     ("DEBUG", ["sdk 429", "bolt token unused", "ours warns", "bolt fails", "buyers summary"])],
)  # fmt: skip
def test_library_warnings_and_printed_summaries_only_in_debug_logs(
    restore_logging, capfd, level, shown
):
    configure_logging(level=level)
    demote("dealfinder.buyers")
    logging.getLogger("slack_sdk.web.base_client").warning("sdk 429")
    logging.getLogger("slack_bolt.App").warning("bolt token unused")
    logging.getLogger("dealfinder.bot").warning("ours warns")
    logging.getLogger("slack_bolt.App").error("bolt fails")
    logging.getLogger("dealfinder.buyers").info("buyers summary")
    printed = capfd.readouterr().err
    messages = ["sdk 429", "bolt token unused", "ours warns", "bolt fails", "buyers summary"]
    assert [m for m in messages if m in printed] == shown


def test_health_in_a_dry_run_shows_no_emulator_headroom(env):
    code, output = dealfinder(env | {"DEALFINDER_DRY_RUN": "1"}, "health")
    assert code == 0, output
    assert "GHL: HEALTHY" in output and "burst" not in output and "daily headroom" not in output
    assert "  headroom: none shown: a dry run uses the in-process emulator, not GHL's limits" in (
        output
    )
