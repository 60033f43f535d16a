"""`dealfinder serve` in Socket Mode, end to end: the real command in a subprocess opens a
websocket to the Slack fake with its app-level token (no signing secret, no public URL),
answers slash commands pushed as envelopes within 3 s, asks the GHL emulator over HTTP, stops
cleanly on Ctrl-C or SIGTERM, and takes no forged Slack requests on its HTTP port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.slack import messages as msg
from bot.slack.listeners.registry import help_text
from sandbox.ghl_emulator import DEFAULT_TOKEN, DEMO_LOCATION_ID, Emulator
from sandbox.slack_fake import (
    APP_TOKEN,
    BOT_TOKEN,
    Message,
    NoSocketConnection,
    SlackDriver,
    SlackFake,
)
from tests.fixtures.bot import wait_for

pytestmark = pytest.mark.slow  # dealfinder serve in a subprocess

ROOT = Path(__file__).resolve().parents[1]
# Only what a process needs to run: no SLACK_*, GHL_*, DEALFINDER_* or DATABASE_URL of the
# developer's shell can leak into the bot (DEALFINDER_DRY_RUN stays unset).
PASSED_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")
# GHL's delay in the stopping test: longer than slack_sdk needs to close its socket (it waits
# out its 3-second socket read), so the bot is visibly still working when the socket closes.
SLOW_GHL_SECONDS = 10.0  # long enough for a loaded machine to close the socket first


def _dealfinder() -> list[str]:
    """The installed `dealfinder` console script, or the same entry point through python -m."""
    script = Path(sys.executable).with_name("dealfinder")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "bot.cli.main"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class BotProcess:
    """`dealfinder serve` running in a subprocess, its output going to `log`."""

    process: subprocess.Popen[bytes]
    log: Path
    url: str  # health, webhooks and (HTTP mode only) Slack's requests

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def running(self) -> bool:
        assert self.process.poll() is None, f"the bot exited early:\n{self.output()}"
        return True


@pytest.fixture
def seeded_ghl(make_emulator: Callable[..., Emulator]) -> Emulator:
    emulator = make_emulator()
    emulator.seed_demo(buyers=20, seed=1)
    return emulator


@pytest.fixture
def socket_bot(slack_fake: SlackFake, seeded_ghl: Emulator, tmp_path: Path) -> Iterator[BotProcess]:
    env = {name: os.environ[name] for name in PASSED_THROUGH if name in os.environ}
    env |= {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_APP_TOKEN": APP_TOKEN,
        "SLACK_API_URL": slack_fake.api_url,
        "SLACK_DEALS_CHANNEL": "C0DEALS",
        "GHL_API_KEY": DEFAULT_TOKEN,
        "GHL_LOCATION_ID": DEMO_LOCATION_ID,
        "GHL_BASE_URL": seeded_ghl.url,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
        # The scheduled GHL health check must not take the slow answer a test queues for
        # `/ghl health`: once a day it is off the tests' path.
        "HEALTH_INTERVAL_MINUTES": "1440",
    }
    log = tmp_path / "serve.log"
    port = _free_port()
    command = [*_dealfinder(), "serve", "--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    bot = BotProcess(process=process, log=log, url=f"http://127.0.0.1:{port}")
    try:
        wait_for(
            lambda: bot.running() and slack_fake.socket_mode.connection_count > 0,
            timeout=20,
            what="the bot to open its Socket Mode connection",
        )
        yield bot
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def _ephemeral(fake: SlackFake, user_id: str, needle: str) -> Message | None:
    return next((m for m in fake.ephemerals(user_id=user_id) if needle in m.text), None)


def test_serve_answers_slash_commands_over_socket_mode_and_stops_cleanly(
    socket_bot: BotProcess, slack_fake: SlackFake
) -> None:
    assert "Socket Mode" in socket_bot.output()
    driver = SlackDriver.socket_mode(slack_fake)

    help_ = driver.slash_command(command="/deal", text="help", user_id="U0AGENT01")
    assert help_.acked_in_time, f"acked after {help_.elapsed:.2f}s"
    [shown] = slack_fake.ephemerals(user_id="U0AGENT01")
    assert (shown.text, shown.via) == (help_text(), "ack")

    health = driver.slash_command(command="/ghl", text="health", user_id="U0AGENT01")
    assert health.acked_in_time, f"acked after {health.elapsed:.2f}s"
    assert _ephemeral(slack_fake, "U0AGENT01", msg.working("Checking GHL")) is not None
    answer = wait_for(
        lambda: _ephemeral(slack_fake, "U0AGENT01", msg.health_heading("healthy")),
        what="the health answer through the response_url",
    )
    assert answer.via == "response_url"
    assert [e.acked for e in slack_fake.socket_mode.envelopes()] == [True, True]

    socket_bot.process.send_signal(signal.SIGINT)
    code = socket_bot.process.wait(timeout=10)
    output = socket_bot.output()
    assert "Traceback" not in output, output
    assert code == 130, output  # `dealfinder`'s exit code for an interrupt
    assert APP_TOKEN not in output and BOT_TOKEN not in output
    wait_for(lambda: slack_fake.socket_mode.connection_count == 0, what="the socket to close")


def test_stopping_closes_the_socket_first_and_finishes_acked_work(
    socket_bot: BotProcess, slack_fake: SlackFake, seeded_ghl: Emulator
) -> None:
    # GHL answers the health check slowly, so the bot is still working when it is told to stop
    # (SIGTERM: what docker stop, systemd and Kubernetes send).
    seeded_ghl.queue_fault("GET", "/locations/*", "slow", seconds=SLOW_GHL_SECONDS)
    driver = SlackDriver.socket_mode(slack_fake)
    assert driver.slash_command(command="/ghl", text="health", user_id="U0AGENT01").acked_in_time

    socket_bot.process.send_signal(signal.SIGTERM)
    # While the acked work finishes the bot must hold no connection, or Slack keeps sending it
    # envelopes that nobody will ack (Slack sends to another connection of the app instead).
    wait_for(lambda: slack_fake.socket_mode.connection_count == 0, timeout=SLOW_GHL_SECONDS,
             what="the bot to close its Socket Mode connection")  # fmt: skip
    assert socket_bot.process.poll() is None, "the bot should still be finishing its work"
    with pytest.raises(NoSocketConnection):
        driver.slash_command(command="/deal", text="help", user_id="U0AGENT02")

    socket_bot.process.wait(timeout=SLOW_GHL_SECONDS + 10)
    output = socket_bot.output()
    assert "Traceback" not in output, output
    answer = _ephemeral(slack_fake, "U0AGENT01", "GHL is")
    assert answer is not None and answer.via == "response_url", "the acked work was lost"


def test_without_a_signing_secret_the_http_port_takes_no_slack_requests(
    socket_bot: BotProcess, slack_fake: SlackFake
) -> None:
    # The port serves health and webhooks in Socket Mode too. With no SLACK_SIGNING_SECRET a
    # request signed with an empty key must not pass for Slack's: anyone can make one.
    slack_fake.expect_rejection("dispatch_failed", method="slash_command /ghl")
    forged = SlackDriver(f"{socket_bot.url}/slack/events", "", slack_fake)
    sent = forged.slash_command(command="/ghl", text="health", user_id="U0AGENT01")
    assert sent.status == 401
    assert slack_fake.ephemerals() == []
