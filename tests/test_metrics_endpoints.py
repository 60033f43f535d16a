"""`/metrics` and `/readyz` over HTTP, mounted in the bot's own server (`bot.web.server`), after
real activity: GHL calls (with a 429), texts released, a job run, a webhook, a Slack ack."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import requests
from prometheus_client.parser import text_string_to_metric_families
from slack_bolt import App

from bot.ops.jobs import release_deferred_sms
from bot.ops.lease import TickLease
from bot.ops.scheduler import JobRunner, JobSpec
from bot.web.metrics import Metrics, Readiness, make_metrics_app, make_readyz_app
from bot.web.server import build_wsgi_app, start_http_in_thread
from ghl.client import GHLClient
from ghl.health import check_ghl
from sandbox.ghl_emulator import DEFAULT_TOKEN, DEMO_LOCATION_ID
from store import outbox
from store.db import make_engine, session_scope


def bolt_app() -> App:
    return App(token="xoxb-test", signing_secret="secret", token_verification_enabled=False)


def serve(routes):
    return start_http_in_thread(build_wsgi_app(bolt_app=bolt_app(), extra_routes=routes))


LOC = ("location", DEMO_LOCATION_ID)  # GHL series carry their location (issue 14)


def samples(text: str) -> dict[tuple[str, tuple], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_metrics_show_ghl_sms_jobs_webhooks_and_slack_acks(notify_world):
    world = notify_world
    metrics = Metrics()
    metrics.watch_ghl(world.client)
    metrics.watch_outbox(world.engine)
    world.emulator.queue_fault("GET", "/locations/*", "rate_limit")
    world.client.locations.get()  # a 429, waited out, then a 200
    buyer = world.add_buyer()
    night = world.at("2027-01-16 03:00")  # 22:00 in New York: deferred
    world.notify(world.facts("MLS1"), [buyer], now=night)
    morning = world.at("2027-01-16 13:00")  # 08:00
    world.notify(world.facts("MLS2"), [buyer], now=night)
    release_deferred_sms(
        engine=world.engine,
        client=world.client,
        rules=world.rules,
        config=world.config,
        now=morning,
        worker_id="w",
        metrics=metrics,
    )
    runner = JobRunner(lease=TickLease(world.engine, owner="a"), metrics=metrics)
    job = JobSpec(id="health_check", run=lambda now: None, every=timedelta(minutes=1))
    runner.run(job, now=morning)
    metrics.count_webhook("InboundMessage", "accepted")
    metrics.observe_ack_latency(0.2)

    with serve({"/metrics": make_metrics_app(metrics)}) as running:
        answer = requests.get(running.url + "/metrics", timeout=10)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/plain")
    found = samples(answer.text)
    assert found[("dealfinder_ghl_requests_total", (LOC, ("status", "429")))] == 1
    assert found[("dealfinder_ghl_requests_total", (LOC, ("status", "200")))] >= 3
    assert found[("dealfinder_ghl_rate_limited_total", (LOC,))] == 1
    assert found[("dealfinder_ghl_retries_total", (LOC,))] >= 1
    assert found[("dealfinder_ghl_burst_max", (LOC,))] == 10_000
    assert found[("dealfinder_ghl_daily_remaining", (LOC,))] > 0
    assert found[("dealfinder_sms_total", (("outcome", "sent"), ("reason", "")))] == 2
    assert found[("dealfinder_outbox_items", (("status", "sent"),))] >= 2
    assert found[("dealfinder_outbox_due", ())] >= 0
    assert found[("dealfinder_store_up", ())] == 1
    assert found[("dealfinder_job_runs_total", (("job", "health_check"), ("outcome", "ok")))] == 1
    webhook = (("outcome", "accepted"), ("type", "InboundMessage"))
    assert found[("dealfinder_webhook_events_total", webhook)] == 1
    assert found[("dealfinder_slack_ack_latency_seconds_count", ())] == 1
    assert found[("dealfinder_slack_ack_latency_seconds_bucket", (("le", "0.25"),))] == 1


def test_sms_outcomes_are_counted_by_reason(notify_world):
    """Intents recorded by day, delivered at night: the policy at send time defers one for
    quiet hours and excludes the buyer who has no consent tag; each is counted by reason."""
    world = notify_world
    metrics = Metrics()
    consenting = world.add_buyer()
    no_consent = world.add_buyer(tags=("active_buyer",))
    night = world.at("2027-01-16 03:00")  # 22:00 in New York
    with session_scope(world.engine) as session:
        for contact in (consenting, no_consent):
            payload = {
                "contact_id": contact,
                "message": "New deal: 12 Oak St",
                "mls_id": "MLS9",
                "purpose": "buyer_match",
            }
            outbox.enqueue(
                session=session,
                kind="sms",
                dedupe_key=f"sms:{contact}:MLS9",
                contact_id=contact,
                payload=payload,
                not_before=night,
                now=night,
            )
    release_deferred_sms(
        engine=world.engine,
        client=world.client,
        rules=world.rules,
        config=world.config,
        now=night,
        worker_id="w",
        metrics=metrics,
    )

    def sms(outcome: str, reason: str) -> float | None:
        labels = {"outcome": outcome, "reason": reason}
        return metrics.registry.get_sample_value("dealfinder_sms_total", labels)

    assert sms("deferred", "quiet_hours") == 1
    assert sms("excluded", "no_opt_in") == 1
    assert world.texts() == []


def readiness_for(engine, client, clock) -> Readiness:
    return Readiness(engine=engine, ghl_check=lambda: check_ghl(client), clock=clock)


def test_readyz_is_200_when_all_is_well_and_caches_ghl_for_30_seconds(
    sqlite_engine, seeded_emulator
):
    client = GHLClient(
        token=DEFAULT_TOKEN, location_id=DEMO_LOCATION_ID, base_url=seeded_emulator.url
    )
    now = [1000.0]
    readiness = readiness_for(sqlite_engine, client, lambda: now[0])
    with serve({"/readyz": make_readyz_app(readiness)}) as running:
        answers = [requests.get(running.url + "/readyz", timeout=10) for _ in range(5)]
        assert seeded_emulator.count("GET", "/locations/{locationId}") == 1
        now[0] += 30
        requests.get(running.url + "/readyz", timeout=10)
    assert [a.status_code for a in answers] == [200] * 5
    assert answers[0].json() == {"ready": True, "database": "ok", "ghl": "healthy", "reasons": []}
    assert seeded_emulator.count("GET", "/locations/{locationId}") == 2


def test_readyz_is_503_with_the_reason_when_the_database_is_gone(seeded_emulator):
    gone = make_engine("postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=2")
    client = GHLClient(
        token=DEFAULT_TOKEN, location_id=DEMO_LOCATION_ID, base_url=seeded_emulator.url
    )
    readiness = readiness_for(gone, client, lambda: 0.0)
    with serve({"/readyz": make_readyz_app(readiness)}) as running:
        answer = requests.get(running.url + "/readyz", timeout=10)
    assert answer.status_code == 503
    body = answer.json()
    assert body["ready"] is False and body["database"] == "unreachable"
    assert body["reasons"] == ["database unreachable (OperationalError)"]


def test_readyz_is_503_when_ghl_refuses_the_token(sqlite_engine, seeded_emulator):
    client = GHLClient(
        token="revoked-token-123", location_id=DEMO_LOCATION_ID, base_url=seeded_emulator.url
    )
    readiness = readiness_for(sqlite_engine, client, lambda: 0.0)
    ready, details = readiness.check()
    assert not ready and details["ghl"] == "down"
    assert details["reasons"][0].startswith("GHL: ")
    assert "revoked-token-123" not in json.dumps(details)


def test_build_ops_routes_mount_in_the_bot_server(sqlite_engine, seeded_emulator, ed25519_pair):
    from bot.ops.wiring import build_ops
    from bot.settings import load_settings
    from tests.fixtures.ops import signed_ed25519, webhook_body

    settings = load_settings(GHL_WEBHOOK_PUBLIC_KEY=ed25519_pair.public_pem)
    client = GHLClient(
        token=DEFAULT_TOKEN, location_id=DEMO_LOCATION_ID, base_url=seeded_emulator.url
    )
    ops = build_ops(settings, engine=sqlite_engine, client=client)
    assert sorted(ops.scheduler.specs) == [
        "buyer_refresh",
        "ghl_event_poll",
        "health_check",
        "hot_deal_workflows",
        "optout_reviews",
        "release_sms",
        "webhook_events",
        "webhook_prune",
    ]
    with serve(ops.routes()) as running:
        body = webhook_body("ContactUpdate", now=datetime.now(UTC))
        hook = requests.post(
            running.url + "/ghl/webhooks",
            data=body,
            headers=signed_ed25519(ed25519_pair, body),
            timeout=10,
        )
        ready = requests.get(running.url + "/readyz", timeout=10)
        scraped = requests.get(running.url + "/metrics", timeout=10).text
    assert hook.status_code == 200 and ready.status_code == 200
    assert 'dealfinder_webhook_events_total{outcome="accepted",type="ContactUpdate"} 1.0' in scraped


def test_the_bot_process_gets_one_ops_with_its_own_deal_alerts(
    sqlite_engine, seeded_emulator, slack_fake, ed25519_pair
):
    from slack_sdk import WebClient

    from bot.runtime import Runtime
    from bot.settings import load_settings
    from sandbox.slack_fake import BOT_TOKEN

    settings = load_settings(GHL_WEBHOOK_PUBLIC_KEY=ed25519_pair.public_pem)
    client = GHLClient(
        token=DEFAULT_TOKEN, location_id=DEMO_LOCATION_ID, base_url=seeded_emulator.url
    )
    web = WebClient(token=BOT_TOKEN, base_url=slack_fake.api_url)
    runtime = Runtime(settings, engine=sqlite_engine, ghl=client, web_client=web)
    services = runtime.services
    ops = runtime.ops
    assert runtime.ops is ops  # the routes and the started jobs share one Ops
    assert ops.context.handlers.alerts is services.alerts
    assert set(ops.routes()) == {
        "/ghl/webhooks",
        "/ghl/workflow-events/*",
        "/readyz",
        "/metrics",
    }
