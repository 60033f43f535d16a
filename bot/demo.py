"""`dealfinder demo`: DealFinder working end to end without a Slack workspace or GHL account.

It starts the GHL emulator (GHL API v2, strict against the official OpenAPI files) with a demo
sub-account, points the real GHL client at it over HTTP, and walks through what the product
does: health check, setup, buyer sync, matching, a deal created in GHL, an SMS, and the client
riding out injected faults. Nothing is faked above the HTTP line; the store is a throwaway
SQLite file so the user's own database is never touched.
"""

from __future__ import annotations

import logging
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from bot.settings import Settings
from ghl.client import GHLClient
from ghl.emulator import DEFAULT_TOKEN, DEMO_LOCATION_ID, Emulator, EmulatorConfig, Faults
from ghl.health import check_ghl
from ghl.retry import RetryPolicy

SAMPLE = {
    "mls_id": "TPA-24-001",
    "address": "4812 W Bay Vista Ave",
    "city": "Tampa",
    "state": "FL",
    "zip": "33611",
    "list_price": 265_000,
    "arv": 360_000,
    "repair_cost": 38_000,
    "est_profit": 41_000,
    "beds": 3,
    "baths": 2,
    "sqft": 1_480,
    "property_type": "single_family",
    "deal_score": 93,
    "days_on_market": 4,
    "seller_name": "Dana Whitfield",
    "seller_email": "dana.whitfield@example.com",
    "seller_phone": "+18135550142",
}


def _step(console: Console, title: str) -> None:
    console.print()
    console.rule(f"[bold]{title}")


def run_demo(
    *, settings: Settings, console: Console, buyers: int = 200, faults: bool = True
) -> None:
    """Run the sandbox tour; everything it creates lives in memory and a temporary folder."""
    from services.buyer_sync import sync_buyers
    from services.config import load_deal_config
    from services.matcher import BuyerMatcher, facts_from_mapping
    from store.db import make_engine, migrate

    emulator = Emulator(EmulatorConfig())
    emulator.seed_demo(buyers=buyers, seed=1)
    workdir = Path(tempfile.mkdtemp(prefix="dealfinder-demo-"))
    engine = make_engine(f"sqlite:///{workdir / 'demo.db'}")
    migrate(engine)
    config = load_deal_config(settings.mapping_file)

    with emulator.serve() as server:
        console.print(
            Panel.fit(
                f"GHL emulator (API v2, validated against GHL's OpenAPI files) at {server.url}\n"
                f"location [bold]{DEMO_LOCATION_ID}[/], token [bold]{DEFAULT_TOKEN}[/] — "
                f"{buyers} demo buyers, 4 agents, pipeline '{config.pipeline.name}'",
                title="DealFinder sandbox",
            )
        )
        client = GHLClient(
            token=DEFAULT_TOKEN,
            location_id=DEMO_LOCATION_ID,
            base_url=server.url,
            retry=RetryPolicy(max_retries=4, base_delay=0.2),
        )

        _step(console, "1. Health check (one cheap real call)")
        console.print(check_ghl(client).render())

        _step(console, "2. What is set up in GHL")
        pipeline = next(
            p for p in client.opportunities.pipelines() if p.name == config.pipeline.name
        )
        console.print(f"pipeline: {pipeline.name}: " + " → ".join(s.name for s in pipeline.stages))
        fields = client.locations.custom_fields(model="all")
        console.print(
            f"custom fields: {len(fields)} ({', '.join(sorted(f.key for f in fields)[:8])}, ...)"
        )
        console.print(
            "agents: " + ", ".join(f"{u.first_name} {u.last_name}" for u in client.users.list())
        )
        console.print("workflows: " + ", ".join(w.name for w in client.workflows.list()))

        _step(console, "3. Buyer sync (pages through every contact tagged active_buyer)")
        report = sync_buyers(client=client, engine=engine, config=config)
        console.print(report.summary() + f" — {report.ghl_calls} GHL calls")
        for contact_id, reason in list(report.excluded.items())[:4]:
            console.print(f"  kept out: {contact_id}: {reason}")

        _step(
            console,
            f"4. Who buys {SAMPLE['address']}, {SAMPLE['city']} (${SAMPLE['list_price']:,})?",
        )
        matcher = BuyerMatcher(engine=engine, location_id=DEMO_LOCATION_ID)
        outcome = matcher.match(
            facts_from_mapping(SAMPLE), min_score=settings.match_min_score, limit=5
        )
        table = Table(show_header=True)
        for col in ("buyer", "score", "why"):
            table.add_column(col, overflow="fold")
        for r in outcome.page.results:
            buyer = outcome.buyers.get(r.contact_id)
            table.add_row(
                buyer.name if buyer else r.contact_id,
                str(r.score),
                "; ".join(c.reason for c in r.components),
            )
        console.print(table)
        console.print(
            f"{outcome.page.total} buyers at >= {settings.match_min_score}; {outcome.freshness()}"
        )

        _step(console, "5. The deal in GHL: seller contact, opportunity, note, task, workflow")
        seller = client.contacts.upsert(
            {
                "firstName": "Dana",
                "lastName": "Whitfield",
                "email": SAMPLE["seller_email"],
                "phone": SAMPLE["seller_phone"],
                "tags": ["automated", "dealfinder", "hot_deal"],
            }
        ).contact
        field_ids = {f.key: f.id for f in client.locations.custom_fields(model="opportunity")}
        hot = pipeline.stage_named(config.pipeline.stages["hot"])
        opportunity = client.opportunities.create(
            {
                "pipelineId": pipeline.id,
                "pipelineStageId": hot.id if hot else pipeline.stages[0].id,
                "contactId": seller.id,
                "name": f"{SAMPLE['mls_id']} — {SAMPLE['address']}",
                "monetaryValue": SAMPLE["list_price"],
                "customFields": [
                    {"id": field_ids[k], "field_value": str(SAMPLE[k])}
                    for k in ("mls_id", "deal_score", "list_price", "arv", "est_profit")
                    if k in field_ids
                ],
            }
        )
        client.contacts.add_note(
            seller.id, "Hot deal (93/100): ARV $360k, repairs $38k, profit $41k"
        )
        task = client.contacts.create_task(
            seller.id, title="Review hot deal", due=datetime.now(UTC) + timedelta(hours=4)
        )
        workflow = next(
            w for w in client.workflows.list() if w.name == config.workflows["hot_deal"]
        )
        client.contacts.add_to_workflow(seller.id, workflow.id)
        console.print(
            f"opportunity {opportunity.id} in '{hot.name if hot else '?'}', "
            f"task '{task.title}', workflow '{workflow.name}'"
        )
        console.print(f"open in GHL: {client.opportunity_url(opportunity.id)}")

        if outcome.page.results:
            _step(
                console,
                "6. One SMS to the best-matched buyer (conversations API, Version 2021-04-15)",
            )
            top = outcome.page.results[0]
            sent = client.conversations.send_sms(
                top.contact_id,
                f"New deal: {SAMPLE['address']}, {SAMPLE['city']} — ${SAMPLE['list_price']:,}, "
                f"{SAMPLE['beds']} bd. Reply STOP to opt out",
            )
            console.print(f"sent message {sent.message_id} to {top.contact_id}")

        if faults:
            _step(
                console,
                "7. Faults on: 15 % 5xx, 10 % 429 without Retry-After, 5 % dropped connections",
            )
            emulator.set_faults(
                Faults(server_error=0.15, rate_limit_no_retry_after=0.10, drop=0.05, seed=7)
            )
            before = client.stats.retries
            transport_log = logging.getLogger("dealfinder.ghl")
            level = transport_log.level
            transport_log.setLevel(logging.WARNING)  # one line per retry would drown the tour
            try:
                for contact in list(emulator.state.contacts.values())[:40]:
                    client.contacts.get(contact.id)
            finally:
                transport_log.setLevel(level)
                emulator.set_faults(Faults())
            console.print(
                f"40 reads, all answered; {client.stats.retries - before} retries absorbed "
                "the injected faults"
            )

        _step(console, "Summary")
        stats = emulator.stats
        room = client.remaining()
        console.print(
            f"GHL calls {client.stats.calls} ({client.stats.requests} HTTP requests, "
            f"{client.stats.retries} retries); 429s from our own pacing: "
            f"{stats['rate_limited'].get('limit', 0)}; burst headroom {room.burst_remaining}/"
            f"{room.burst_max}, daily {room.daily_remaining:,}/{room.daily_max:,}; "
            f"spec violations: {stats['violations']['request']} request, "
            f"{stats['violations']['response']} response"
        )
        console.print(
            f"demo store: {workdir / 'demo.db'}  •  run your own emulator: "
            "dealfinder emulator --port 8765"
        )
