"""Benchmark: the intake API under load, as deployed — how fast it answers, and how fast the
accepted properties become worked GHL deals.

Run: `.venv/bin/python bench/intake.py [--singles 100] [--concurrency 10] [--batch 100]`.

Three processes: the GHL emulator (`python -m sandbox.ghl_emulator --demo`, real limits: 100 calls
per 10 s), the bot (`serve --http`: waitress, the intake API and its worker, a throwaway SQLite
store) and this one, which plays Slack (the fake) and the analysis module: `--singles` one-record
POSTs from `--concurrency` threads, then one POST of `--batch` records, then each record sent again.
Prints the answer latencies, the time until the worker has worked every record, and checks one
opportunity per property and one Slack card per hot deal. Exit status: 0 when every POST got 202,
every record was worked and nothing was made twice."""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.slack_ack import RUN_SERVE, free_port, percentile, started
from bot.slack.roles import EXAMPLE_ROLES_FILE
from sandbox.ghl_emulator import DEMO_LOCATION_ID, DEMO_TOKEN
from sandbox.slack_fake import BOT_TOKEN, SlackFake
from services.config import load_deal_config
from services.pipeline.rules import is_named_for
from tests.fixtures.pipeline import property_row

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "bench-intake-token-0123456789abcdef"  # noqa: S105 - a throwaway token


def post(url: str, body: object) -> tuple[float, int]:
    began = time.perf_counter()
    answer = requests.post(url, json=body, headers={"Authorization": f"Bearer {TOKEN}"},
                           timeout=60)  # fmt: skip
    return (time.perf_counter() - began) * 1000, answer.status_code


def worked(database: Path) -> tuple[int, int]:
    """(intake items worked, intake items in all) from the bot's store."""
    with sqlite3.connect(database) as db:
        done, total = db.execute(
            "select sum(status in ('sent', 'failed')), count(*) from outbox where kind='intake'"
        ).fetchone()
    return int(done or 0), int(total)


def run(*, singles: int, concurrency: int, batch: int) -> int:
    fake = SlackFake()
    ghl_port, bot_port = free_port(), free_port()
    with tempfile.TemporaryDirectory() as folder, fake.serve():
        database = Path(folder) / "bench.db"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "GHL_"))}
        env |= {
            "PYTHONPATH": str(ROOT), "GHL_BASE_URL": f"http://127.0.0.1:{ghl_port}",
            "GHL_API_KEY": DEMO_TOKEN, "GHL_LOCATION_ID": DEMO_LOCATION_ID,
            "DATABASE_URL": f"sqlite:///{database}", "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": "bench-secret", "SLACK_API_URL": fake.api_url,
            "SLACK_DEALS_CHANNEL": "C0DEALS", "DEALFINDER_ROLES_FILE": str(EXAMPLE_ROLES_FILE),
            "DEALFINDER_LOG_LEVEL": "WARNING", "DEALFINDER_API_TOKEN": f"bench:{TOKEN}",
            "DEALFINDER_API_RATE_PER_MINUTE": "100000", "DEALFINDER_API_MAX_BODY": "10000000",
        }  # fmt: skip
        emulator = [sys.executable, "-m", "sandbox.ghl_emulator", "--demo", "--port", str(ghl_port)]
        bot = [sys.executable, "-c", RUN_SERVE, "serve", "--http", "--host", "127.0.0.1",
               "--port", str(bot_port)]  # fmt: skip
        with started(emulator, env, f"http://127.0.0.1:{ghl_port}/_emulator/stats"):
            with started(bot, env, f"http://127.0.0.1:{bot_port}/healthz"):
                url = f"http://127.0.0.1:{bot_port}/api/properties"
                rows = [property_row(i) for i in range(singles + batch)]
                began = time.perf_counter()
                with ThreadPoolExecutor(concurrency) as pool:
                    single = list(pool.map(lambda row: post(url, row), rows[:singles]))
                batch_ms, batch_status = post(url, rows[singles:])
                resent = [post(url, rows[i]) for i in range(0, len(rows), 25)]
                while (counts := worked(database))[0] < counts[1]:
                    time.sleep(0.5)
                elapsed = time.perf_counter() - began
                state = requests.get(
                    f"http://127.0.0.1:{ghl_port}/_emulator/state", timeout=30
                ).json()
            cards = [m for m in fake.messages("C0DEALS") if "deal:" in str(m.blocks)]
    latencies = [ms for ms, _ in single]
    statuses = [s for _, s in single + resent] + [batch_status]
    hot = sum(1 for row in rows if row["deal_score"] >= 90)
    links = counts[1]
    # One opportunity per property scoring at least thresholds.min_import, none below.
    names = [o.get("name") or "" for o in state["opportunities"]]
    floor = load_deal_config(None).thresholds.min_import
    wrong = sorted(
        row["mls_id"]
        for row in rows
        if sum(is_named_for(n, row["mls_id"]) for n in names) != (row["deal_score"] >= floor)
    )
    print(f"{singles} one-record POSTs, {concurrency} concurrent; one POST of {batch}; "
          f"{len(resent)} records sent again")  # fmt: skip
    slow = [i for i, ms in enumerate(latencies) if ms > 1000]
    print(f"answers over 1 s: {len(slow)} (request numbers {slow[:10]})")
    print(f"answer latency (single): p50 {percentile(latencies, 0.5):.1f} ms  "
          f"p90 {percentile(latencies, 0.9):.1f} ms  p99 {percentile(latencies, 0.99):.1f} ms; "
          f"the {batch}-record POST: {batch_ms:.0f} ms")  # fmt: skip
    print(f"all {links} queue items worked {elapsed:.1f} s after the first POST: "
          f"{len(rows) / elapsed * 60:.1f} properties/min")  # fmt: skip
    print(f"opportunities {len(names)} for {len(rows)} properties (wrong count: {wrong}); "
          f"hot deals {hot}, Slack cards {len(cards)}")  # fmt: skip
    ok = set(statuses) == {202} and links == len(rows) and not wrong and len(cards) == hot
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--singles", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--batch", type=int, default=100)
    options = parser.parse_args()
    sys.exit(run(singles=options.singles, concurrency=options.concurrency, batch=options.batch))


if __name__ == "__main__":
    main()
