"""Deal import throughput for one GHL location at GHL's real limits, vs the seed's ~50/min.

Runs `services.importer.run_import` (every contact, opportunity, note, task, tag, hot-deal
workflow and broker alert) against the GHL emulator at 100 requests per 10 s, with the
client's default limiter (3 % margin: 97 per 10 s). Scores are mixed so about a quarter of
the properties are hot (8 calls: upsert, add tags, create, note, 3 tasks, workflow), a third
good (5: one task) and the rest below "good" (4). Tags are added, never sent in the upsert
(which would replace a CRM contact's own). The batch's own look-ups (5 map calls, 1 broker
contact, and 1 pipeline listing where deals hang on the agents' contacts) are counted too. The
emulator's location keeps GHL's default of one open opportunity per contact, so the packaged
mapping ("auto") gives each listing a contact of its own.
Target: >= 95 properties per minute with zero 429s.

    .venv/bin/python bench/import.py [--properties 300]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ghl.client import GHLClient
from sandbox.ghl_emulator import DEFAULT_TOKEN, DEMO_LOCATION_ID, Emulator, EmulatorConfig
from services.config import load_deal_config
from services.importer import run_import
from store.db import make_engine, migrate

SEED_PER_MINUTE = 50  # the seed's "Opportunities: ~50 per minute (with tasks/workflows)"
TARGET_PER_MINUTE = 95
LIMIT_PER_SECOND = 10.0  # GHL: 100 requests per 10 s per location
METROS = (
    ("Tampa", "FL", "813", ("33602", "33606", "33611")),
    ("Austin", "TX", "512", ("78701", "78704", "78745")),
    ("Phoenix", "AZ", "602", ("85004", "85008", "85016")),
    ("Columbus", "OH", "614", ("43201", "43206", "43215")),
    ("Denver", "CO", "303", ("80202", "80205", "80210")),
    ("Los Angeles", "CA", "213", ("90012", "90019", "90026")),
)


def batch_rows(count: int, *, seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for i in range(count):
        city, state, area, zips = METROS[i % len(METROS)]
        score = rng.choice((92, 95, 98)) if rng.random() < 0.25 else (
            rng.randint(75, 89) if rng.random() < 0.47 else rng.randint(30, 74))  # fmt: skip
        price = rng.randrange(150_000, 600_000, 1_000)
        rows.append({
            "mls_id": f"BENCH-{i:05d}", "address": f"{100 + i} Main St", "city": city,
            "state": state, "zip": rng.choice(zips), "list_price": price,
            "arv": price + 70_000, "est_profit": 40_000, "repair_cost": 20_000,
            "beds": rng.randint(2, 5), "baths": 2, "sqft": rng.randint(900, 2_600),
            "property_type": "single family", "deal_score": score, "days_on_market": 12,
            "agent_name": f"Seller {i}", "agent_email": f"bench.seller{i}@example.com",
            "agent_phone": f"+1{area}555{2000 + i:04d}",
            "analysis_notes": "Comps support the ARV; cosmetic rehab.",
        })  # fmt: skip
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--properties", type=int, default=300, help="~2 min at 300")
    parser.add_argument(
        "--no-prefetch", action="store_true", help="one search per property instead of a listing"
    )
    args = parser.parse_args()

    import json

    emulator = Emulator(EmulatorConfig())  # GHL's real limits: 100 per 10 s, 200,000 a day
    emulator.seed_demo(buyers=200, seed=1)
    config = load_deal_config()
    alerts = config.broker_alerts.model_copy(update={"sms_to_users": ["maria.lopez@example.com"]})
    config = config.model_copy(update={"broker_alerts": alerts})
    rows = batch_rows(args.properties)
    with tempfile.TemporaryDirectory() as folder, emulator.serve() as server:
        path = Path(folder) / "batch.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        engine = make_engine(f"sqlite:///{Path(folder) / 'bench.db'}")
        migrate(engine)
        client = GHLClient(token=DEFAULT_TOKEN, location_id=DEMO_LOCATION_ID, base_url=server.url)
        summary = run_import(
            path, client=client, engine=engine, config=config, prefetch=not args.no_prefetch
        )
        requests_sent = client.stats.requests
        engine.dispose()
    stats = emulator.stats
    per_minute = summary.per_minute
    share = requests_sent / summary.elapsed_seconds / LIMIT_PER_SECOND
    calls = summary.ghl_calls / len(rows)
    mix = Counter(r.stage_key for r in summary.results)
    how = "one search per property" if args.no_prefetch else "pipeline listed once"
    print(f"Deal import, one location, emulator at 100 req / 10 s; {len(rows)} properties; {how}")
    hot = sum(r.hot for r in summary.results)
    print(f"  results: {summary.counts()}; stages: {dict(mix)}; hot: {hot}")
    print(
        f"  wall time: {summary.elapsed_seconds:.1f} s -> {per_minute:.1f} properties/min "
        f"(seed: ~{SEED_PER_MINUTE}/min, {per_minute / SEED_PER_MINUTE:.1f}x)"
    )
    print(
        f"  GHL calls: {summary.ghl_calls} ({calls:.2f} per property, batch look-ups included); "
        f"HTTP requests {requests_sent}"
    )
    print(
        f"  share of the rate limit used: {share:.1%}; 429s from the limits: "
        f"{stats['rate_limited']['limit']}"
    )
    by_call = {k: sum(v.values()) for k, v in stats["requests"].items()}
    for name, count in sorted(by_call.items(), key=lambda kv: -kv[1]):
        print(f"    {count:>6}  {name}")
    ok = (
        summary.ok
        and per_minute >= TARGET_PER_MINUTE
        and stats["rate_limited"]["limit"] == 0
        and not stats["violations"]["items"]
    )
    print("PASS" if ok else "FAIL", f"(target: >= {TARGET_PER_MINUTE} properties/min, zero 429s)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
