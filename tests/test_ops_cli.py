"""`dealfinder worker` and `dealfinder webhook-key`: missing settings named, a dry run against
the in-process emulator, Ctrl-C stopping cleanly (a real process and a real SIGINT)."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from bot.cli import ops as cli_ops

ROOT = Path(__file__).resolve().parents[1]
# The commands as `dealfinder` will have them once bot/cli/main.py registers bot.cli.ops.
APP_SCRIPT = (
    "import typer\n"
    "from bot.cli import ops as cli_ops\n"
    "app = typer.Typer()\n"
    "app.callback()(lambda: None)\n"
    "cli_ops.register(app)\n"
    "app()\n"
)


def ops_app() -> typer.Typer:
    app = typer.Typer()
    app.callback()(lambda: None)
    cli_ops.register(app)
    return app


@pytest.fixture
def clean_env(tmp_path, monkeypatch) -> Iterator[dict[str, str]]:
    """No DealFinder settings in the environment and no .env file; logging restored after."""
    for name in list(os.environ):
        if name.startswith(("GHL_", "SLACK_", "DEALFINDER_", "DATABASE_", "DRY_RUN")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield {k: v for k, v in os.environ.items()}
    root.handlers[:] = handlers
    root.setLevel(level)


def test_worker_without_credentials_names_the_missing_settings(clean_env):
    result = CliRunner().invoke(ops_app(), ["worker", "--once"])
    assert result.exit_code == 2
    assert "GHL_API_KEY is not set" in result.output
    assert "GHL_LOCATION_ID is not set" in result.output


def test_worker_once_in_dry_run_runs_every_job_against_the_emulator(clean_env, monkeypatch):
    monkeypatch.setenv("DEALFINDER_DRY_RUN", "1")
    result = CliRunner().invoke(ops_app(), ["worker", "--once", "--digest-hour", "8"])
    assert result.exit_code == 0, result.output
    for job in (
        "health_check",
        "release_sms",
        "hot_deal_workflows",
        "webhook_events",
        "buyer_refresh",
        "webhook_prune",
        "deals_digest",
    ):
        assert f"{job}: ok" in result.output
    assert "ops alerts go to the log only" in result.output
    assert not (Path.cwd() / "dealfinder.db").exists()  # a dry run never touches the real store


@pytest.mark.slow  # a worker subprocess
def test_ctrl_c_stops_the_worker_cleanly(clean_env, tmp_path):
    env = clean_env | {"DEALFINDER_DRY_RUN": "1", "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-c", APP_SCRIPT, "worker"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    try:
        seen = []
        for line in process.stdout:
            seen.append(line)
            if "worker started" in line:
                break
        else:
            pytest.fail("the worker did not start:\n" + "".join(seen))
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, "".join(seen) + rest
    assert "worker stopped" in rest
    assert "Traceback" not in "".join(seen) + rest


def test_webhook_key_checks_the_configured_key(clean_env, monkeypatch, ed25519_pair):
    app = ops_app()
    monkeypatch.setenv("GHL_WEBHOOK_PUBLIC_KEY", ed25519_pair.public_raw_b64)
    ok = CliRunner().invoke(app, ["webhook-key"])
    assert ok.exit_code == 0 and "Ed25519 key OK" in ok.output
    assert "refused (retired 2026-07-01)" in ok.output
    monkeypatch.setenv("GHL_WEBHOOK_PUBLIC_KEY", "not-a-key")
    bad = CliRunner().invoke(app, ["webhook-key"])
    assert bad.exit_code == 2 and "must be an Ed25519 public key" in bad.output
    monkeypatch.delenv("GHL_WEBHOOK_PUBLIC_KEY")
    unset = CliRunner().invoke(app, ["webhook-key"])  # GHL's published key is the default
    assert unset.exit_code == 0 and "GHL's published key" in unset.output
    assert "8b61d1d6cacbe28d" in unset.output


def test_worker_once_with_slack_wires_the_bots_deal_alerts(clean_env, monkeypatch, slack_fake):
    monkeypatch.setenv("DEALFINDER_DRY_RUN", "1")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-fake-bot-token")
    monkeypatch.setenv("SLACK_API_URL", slack_fake.api_url)
    result = CliRunner().invoke(ops_app(), ["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "health_check: ok" in result.output
    assert "go to the log only" not in result.output
