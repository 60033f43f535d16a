"""Benchmark: how fast the running bot acknowledges slash commands in HTTP mode, under load.

Run: `.venv/bin/python bench/slack_ack.py [--commands 200] [--concurrency 20]
[--text "show TPA-1001"]`.

Three processes, as deployed: the GHL emulator (`python -m sandbox.ghl_emulator --demo`, 200
buyers), the bot (`serve --http`: waitress, bolt, the real GHL client, a throwaway SQLite store),
and this one, which plays Slack: it serves the Slack fake (the bot's SLACK_API_URL) and sends
correctly signed `/deal …` commands from `--concurrency` threads. Buyers are synced with `dealfinder
sync-buyers` and a hot deal is added with `/deal add` first. Each ack's latency is what the Slack
driver measures around the HTTP request; the work after the acks (store, GHL — rate-limited to 100
calls per 10 s — matching, the answer through the response_url) runs meanwhile in the bot process.
Prints p50/p90/p99/max and PASS/FAIL against p99 < 300 ms. Exit status: 0 pass, 1 target missed or a
command not acked with 200."""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.slack.roles import EXAMPLE_ROLES_FILE
from sandbox.ghl_emulator import DEMO_LOCATION_ID, DEMO_TOKEN
from sandbox.slack_fake import BOT_TOKEN, SlackDriver, SlackFake

ROOT = Path(__file__).resolve().parents[1]

TARGET_P99_MS = 300.0
SECRET = "bench-signing-secret"  # noqa: S105 - a throwaway secret for the fake
USERS = ("U0AGENT01", "U0AGENT02", "U0BROKER1", "U0ADMIN01")
ADD = "add TPA-1001 | 4812 W Bay Vista Ave | Tampa | FL | 33611 | 265000 | 3 | 93 | d@example.com"
RUN_SERVE = (
    "import typer; from bot.cli.serve import register; "
    "app = typer.Typer(); register(app); app.command('noop')(lambda: None); app()"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str, process: subprocess.Popen[str], *, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited: {process.communicate()[0]}")
        try:
            requests.get(url, timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f}s")


@contextmanager
def started(args: list[str], env: dict[str, str], probe: str) -> Iterator[None]:
    process = subprocess.Popen(args, env=env, cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)  # fmt: skip
    try:
        wait_until_up(probe, process)
        yield
    finally:
        process.terminate()
        process.wait(timeout=10)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def run(*, commands: int, concurrency: int, text: str) -> int:
    fake = SlackFake()
    ghl_port, bot_port = free_port(), free_port()
    with tempfile.TemporaryDirectory() as folder, fake.serve():
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "GHL_"))}
        env |= {
            "PYTHONPATH": str(ROOT), "GHL_BASE_URL": f"http://127.0.0.1:{ghl_port}",
            "GHL_API_KEY": DEMO_TOKEN, "GHL_LOCATION_ID": DEMO_LOCATION_ID,
            "DATABASE_URL": f"sqlite:///{folder}/bench.db", "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": fake.api_url,
            "SLACK_DEALS_CHANNEL": "C0DEALS", "DEALFINDER_ROLES_FILE": str(EXAMPLE_ROLES_FILE),
            "DEALFINDER_LOG_LEVEL": "WARNING",
        }  # fmt: skip
        emulator = [sys.executable, "-m", "sandbox.ghl_emulator", "--demo", "--port", str(ghl_port)]
        bot = [sys.executable, "-c", RUN_SERVE, "serve", "--http", "--host", "127.0.0.1",
               "--port", str(bot_port)]  # fmt: skip
        with started(emulator, env, f"http://127.0.0.1:{ghl_port}/_emulator/stats"):
            sync = "from bot.cli.main import main; main()"  # `-m bot.cli.main` imports itself twice
            subprocess.run([sys.executable, "-c", sync, "sync-buyers"], env=env, cwd=ROOT,
                           check=True, capture_output=True)  # fmt: skip
            with started(bot, env, f"http://127.0.0.1:{bot_port}/healthz"):
                url = f"http://127.0.0.1:{bot_port}/slack/events"
                setup = SlackDriver(url, SECRET, fake)
                setup.slash_command(text=ADD, user_id="U0AGENT01")
                wait_for_answer(fake, "created in GHL")
                latencies, failed, wall = measure(url, fake, commands, concurrency, text)
                finished = wait_for_answers(fake, commands + 1)
    p50, p90, p99 = (percentile(latencies, q) for q in (0.50, 0.90, 0.99))
    print(f"{commands} signed '/deal {text}' commands, {concurrency} concurrent, bot in HTTP "
          "mode on waitress in its own process")  # fmt: skip
    print(f"ack latency: p50 {p50:.1f} ms  p90 {p90:.1f} ms  p99 {p99:.1f} ms  "
          f"max {max(latencies):.1f} ms  mean {statistics.fmean(latencies):.1f} ms")  # fmt: skip
    print(f"all acked in {wall:.2f} s; non-200 acks: {failed}; answers delivered through "
          f"response_urls: {finished - 1}/{commands}")  # fmt: skip
    ok = p99 < TARGET_P99_MS and failed == 0
    print(f"{'PASS' if ok else 'FAIL'}: p99 {p99:.1f} ms (target < {TARGET_P99_MS:.0f} ms)")
    return 0 if ok else 1


def measure(
    url: str, fake: SlackFake, commands: int, concurrency: int, text: str
) -> tuple[list[float], int, float]:
    local = threading.local()

    def send(n: int) -> tuple[float, int]:
        if not hasattr(local, "driver"):
            local.driver = SlackDriver(url, SECRET, fake)
        sent = local.driver.slash_command(text=text, user_id=USERS[n % len(USERS)])
        return sent.elapsed * 1000, sent.status

    started_at = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(send, range(commands)))
    wall = time.perf_counter() - started_at
    return [ms for ms, _ in results], sum(1 for _, s in results if s != 200), wall


def answered(fake: SlackFake) -> int:
    return sum(1 for m in fake.ephemerals() if m.via == "response_url")


def wait_for_answer(fake: SlackFake, needle: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not any(needle in m.text for m in fake.ephemerals()):
        if time.monotonic() > deadline:
            raise RuntimeError(f"no answer containing {needle!r}")
        time.sleep(0.05)


def wait_for_answers(fake: SlackFake, count: int, timeout: float = 180) -> int:
    """Let the work after the acks finish (GHL's rate limit paces it) before stopping."""
    deadline = time.monotonic() + timeout
    while answered(fake) < count and time.monotonic() < deadline:
        time.sleep(0.2)
    return answered(fake)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--text", default="show TPA-1001", help="what follows /deal")
    options = parser.parse_args()
    sys.exit(run(commands=options.commands, concurrency=options.concurrency, text=options.text))


if __name__ == "__main__":
    main()
