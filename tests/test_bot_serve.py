"""`dealfinder serve`: the mode it picks, the settings it asks for, and a real start in
dry-run (GHL in-process) against the Slack fake, driven over HTTP from this test."""

from __future__ import annotations

import hashlib
import hmac
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import typer
from typer.testing import CliRunner

from bot.cli.serve import choose_mode, register
from sandbox.slack_fake import BOT_TOKEN, SlackDriver, SlackFake
from tests.fixtures.bot import SIGNING_SECRET, wait_for

pytestmark = pytest.mark.slow  # dealfinder serve in a subprocess

SLACK_SETTINGS = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_API_URL")
ROOT = Path(__file__).resolve().parents[1]
RUN_SERVE = (
    "import typer; from bot.cli.serve import register; "
    "app = typer.Typer(); register(app); app.command('noop')(lambda: None); app()"
)


@pytest.mark.parametrize(
    ("http", "has_app_token", "mode"),
    [(False, True, "socket"), (True, True, "http"), (False, False, "http"), (True, False, "http")],
)
def test_mode(http: bool, has_app_token: bool, mode: str) -> None:
    assert choose_mode(http=http, has_app_token=has_app_token) == mode


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> typer.Typer:
    for name in SLACK_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no .env from the working copy
    app = typer.Typer()
    register(app)
    app.command("noop")(lambda: None)  # a second command keeps typer's subcommand form
    return app


def test_without_slack_settings_serve_names_what_is_missing(cli: typer.Typer) -> None:
    result = CliRunner().invoke(cli, ["serve", "--http"])
    assert result.exit_code == 2
    assert "SLACK_BOT_TOKEN is not set" in result.output
    assert "SLACK_SIGNING_SECRET is not set" in result.output
    assert "Traceback" not in result.output


def test_socket_mode_asks_for_the_app_token(
    cli: typer.Typer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("SLACK_APP_TOKEN", "changeme")  # a placeholder counts as not set
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 2
    assert "SLACK_SIGNING_SECRET is not set" in result.output  # no app token: HTTP mode


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served_dry_run(slack_fake: SlackFake, tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "GHL_"))}
    env |= {
        "DEALFINDER_DRY_RUN": "1",
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack_fake.api_url,
        "SLACK_DEALS_CHANNEL": "C0DEALS",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
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
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_dry_run_serves_slack_with_ghl_in_process(served_dry_run: str, slack_fake: SlackFake):
    assert requests.get(f"{served_dry_run}/healthz", timeout=5).json() == {"status": "ok"}
    missing = requests.get(f"{served_dry_run}/nope", timeout=5)
    assert missing.status_code == 404 and missing.json() == {"error": "not_found"}
    driver = SlackDriver(f"{served_dry_run}/slack/events", SIGNING_SECRET, slack_fake)
    sent = driver.slash_command(command="/ghl", text="health", user_id="U0AGENT01")
    assert sent.acked_in_time
    wait_for(
        lambda: [m for m in slack_fake.ephemerals(user_id="U0AGENT01") if "healthy" in m.text],
        what="the health answer",
    )
    assert driver.slash_command(text="hot", tamper="bad_signature").status == 401


def test_a_refused_bot_token_is_a_clear_message(
    cli: typer.Typer, monkeypatch: pytest.MonkeyPatch, slack_fake: SlackFake, tmp_path: Path
) -> None:
    slack_fake.expect_rejection("invalid_auth", method="auth.test")
    for name, value in {
        "SLACK_BOT_TOKEN": "xoxb-not-the-workspace-token", "SLACK_SIGNING_SECRET": "s",
        "SLACK_API_URL": slack_fake.api_url, "DEALFINDER_DRY_RUN": "1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
    }.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(cli, ["serve", "--http"])
    assert result.exit_code == 2
    assert result.output.startswith("SLACK_BOT_TOKEN: Slack refused the token (invalid_auth)")
    assert len(result.output.strip().splitlines()) == 1
    assert "xoxb-not-the-workspace-token" not in result.output


def test_dealfinder_serve_answers_hostile_http_with_4xx_and_reasons(served_dry_run: str) -> None:
    # The production server process: header values are checked before any conversion.
    slack = f"{served_dry_run}/slack/events"
    body = b"command=%2Fdeal&text=hot&user_id=U0AGENT01"
    forged = {"X-Slack-Request-Timestamp": "9" * 5000, "X-Slack-Signature": "v0=" + "0" * 64}
    huge = requests.post(slack, data=body, timeout=5, headers=forged)
    assert huge.status_code == 401 and "not a Unix time" in huge.json()["error"]
    stamp = str(int(time.time()))
    mac = hmac.new(SIGNING_SECRET.encode(), f"v0:{stamp}:[1, 2]".encode(), hashlib.sha256)
    array = requests.post(slack, data=b"[1, 2]", timeout=5, headers={
        "Content-Type": "application/json", "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": "v0=" + mac.hexdigest()})  # fmt: skip
    assert array.status_code == 400 and "not a JSON object" in array.json()["error"]
    host, port = served_dry_run.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as conn:
        conn.sendall(f"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: {'9' * 5000}"
                     "\r\nConnection: close\r\n\r\n".encode())  # fmt: skip
        assert conn.recv(100).startswith(b"HTTP/1.1 400 Bad Request")
