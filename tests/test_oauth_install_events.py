"""GHL's INSTALL and UNINSTALL webhooks, signed and posted to /ghl/webhooks over HTTP, then
processed by the webhook job: install records the location (name and time zone from GHL) and
posts the validator's table to #ops-alerts; uninstall erases the tokens, keeps the data, stops
GHL calls for the location and alerts once."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests
from freezegun import freeze_time
from slack_sdk import WebClient
from sqlalchemy import text

from bot.ops.lease import TickLease, read_job_record
from bot.ops.scheduler import JobRunner, JobSpec
from bot.ops.wiring import slack_poster
from bot.web.install_events import InstallEvents
from bot.web.metrics import Metrics
from bot.web.webhook_handlers import WebhookHandlers
from bot.web.webhook_verify import SignatureVerifier, load_ed25519_key
from bot.web.webhooks import make_webhook_app, process_webhook_events
from ghl.auth import GHLReinstallNeeded
from sandbox.ghl_emulator.oauth_state import InstallChoice
from sandbox.slack_fake import BOT_TOKEN
from services.config import load_deal_config
from store.buyers import upsert_buyer
from store.db import session_scope
from store.installs import get_install
from store.models_oauth import GrantStatus
from store.schemas import BuyerIn
from tests.fixtures.ops import signed_ed25519
from tests.oauth_world import OAuthWorld


class EventsWorld:
    def __init__(self, world: OAuthWorld, url: str, handlers: WebhookHandlers, pair) -> None:
        self.world, self.url, self.handlers, self.pair = world, url, handlers, pair

    def send(self, event_type: str, location_id: str | None, **extra) -> requests.Response:
        payload = {
            "type": event_type,
            "appId": "app_dealfinder",
            "versionId": "v1",
            "installType": "Location",
            "locationId": location_id,
            "companyId": "comp_demo",
            "userId": "user_1",
            "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "webhookId": f"wh-{uuid.uuid4().hex[:12]}",
        } | extra
        body = json.dumps(payload).encode()
        return requests.post(
            self.url, data=body, headers=signed_ed25519(self.pair, body), timeout=10
        )

    def process(self, *, later: timedelta = timedelta(0)):
        return process_webhook_events(
            engine=self.world.engine, handlers=self.handlers, now=datetime.now(UTC) + later
        )


@pytest.fixture
def events(
    seeded_emulator, db_url, slack_fake, slack_api_url, ed25519_pair, serve_wsgi
) -> Iterator[EventsWorld]:
    web = WebClient(token=BOT_TOKEN, base_url=slack_api_url)
    world = OAuthWorld.build(emulator=seeded_emulator, db_url=db_url, web_client=web)
    post = slack_poster(web, "#ops-alerts")
    install = InstallEvents(
        engine=world.engine,
        vault=world.parts.vault,
        client_for=world.parts.client_for,
        config=load_deal_config(None),
        post_ops=post,
    )
    handlers = WebhookHandlers(
        engine=world.engine,
        client=world.client("loc_demo"),
        config=load_deal_config(None),
        install_events=install.handle,
    )
    verifier = SignatureVerifier(ed25519_key=load_ed25519_key(ed25519_pair.public_pem))
    url = serve_wsgi(make_webhook_app(engine=world.engine, verifier=verifier))
    yield EventsWorld(world, url, handlers, ed25519_pair)
    world.close()


def ops(slack_fake) -> list[str]:
    return [m.text for m in slack_fake.messages("C0OPS")]


def test_install_event_records_the_location_and_posts_the_validator_table(events, slack_fake):
    assert events.world.install().status_code == 200

    assert events.send("INSTALL", "loc_demo").json() == {"status": "accepted"}
    report = events.process()

    assert report.processed == 1
    with session_scope(events.world.engine, readonly=True) as session:
        row = get_install(session=session, location_id="loc_demo")
    assert row is not None and row.status == "installed"
    assert row.name == "DealFinder Demo Realty" and row.timezone == "America/New_York"
    posted = [t for t in ops(slack_fake) if "DealFinder installed at" in t]
    assert len(posted) == 1
    assert "DealFinder Demo Realty (loc_demo)" in posted[0]
    assert "GHL token and location" in posted[0] and "GHL setup of" in posted[0]


def test_an_install_event_before_the_tokens_waits_for_them(events, slack_fake):
    events.send("INSTALL", "loc_demo")
    first = events.process()
    assert first.retrying == 1 and ops(slack_fake) == []

    assert events.world.install().status_code == 200
    again = events.process(later=timedelta(minutes=3))  # after the event's lease

    assert again.processed == 1
    assert len([t for t in ops(slack_fake) if "DealFinder installed at" in t]) == 1


def test_uninstall_erases_tokens_keeps_data_stops_calls_and_alerts_once(events, slack_fake):
    world = events.world
    assert world.install().status_code == 200
    with session_scope(world.engine) as session:
        upsert_buyer(
            session=session,
            now=datetime.now(UTC),
            buyer_in=BuyerIn(contact_id="c_1", location_id="loc_demo", name="Kept Buyer"),
        )

    events.send("UNINSTALL", "loc_demo")
    events.send("UNINSTALL", "loc_demo")  # GHL may tell us twice (two webhook ids)
    report = events.process()

    assert report.processed == 2
    assert world.parts.vault.status_of("loc_demo") == GrantStatus.UNINSTALLED
    with world.engine.connect() as conn:
        tokens = conn.execute(
            text(
                "SELECT access_token_enc, refresh_token_enc FROM "
                "ghl_oauth_grants WHERE key = 'loc_demo'"
            )
        ).one()
        buyers = conn.execute(text("SELECT count(*) FROM buyers WHERE location_id = 'loc_demo'"))
        kept = buyers.scalar()
    assert tuple(tokens) == (None, None) and kept == 1
    calls_before = world.emulator.count("GET", "/locations/{locationId}")
    with pytest.raises(GHLReinstallNeeded, match="uninstalled"):
        world.client("loc_demo").locations.get()
    assert world.emulator.count("GET", "/locations/{locationId}") == calls_before
    alerts = [t for t in ops(slack_fake) if "uninstalled at loc_demo" in t]
    assert len(alerts) == 1 and "kept" in alerts[0]


def test_uninstall_of_a_location_never_installed_changes_nothing(events, slack_fake):
    events.send("UNINSTALL", "loc_nowhere")
    assert events.process().processed == 1
    assert events.world.parts.vault.status_of("loc_nowhere") is None
    assert ops(slack_fake) == []


def test_a_reinstall_after_uninstall_works_again(events, slack_fake):
    world = events.world
    assert world.install().status_code == 200
    events.send("UNINSTALL", "loc_demo")
    events.process()

    world.emulator.state.oauth.choice = InstallChoice(location_id="loc_demo")
    assert world.install().status_code == 200

    assert world.parts.vault.status_of("loc_demo") == GrantStatus.ACTIVE
    assert world.client("loc_demo").locations.get().id == "loc_demo"


def test_a_process_that_was_using_the_location_stops_within_a_minute_of_uninstall(events):
    world = events.world
    assert world.install().status_code == 200
    client = world.client("loc_demo")
    client.locations.get()  # token held in this process's memory

    events.send("UNINSTALL", "loc_demo")
    events.process()

    with (
        freeze_time(datetime.now(UTC) + timedelta(seconds=61), tick=True),
        pytest.raises(GHLReinstallNeeded, match="uninstalled"),
    ):
        client.locations.get()


def test_jobs_for_an_uninstalled_location_are_skipped_not_failed(events):
    world = events.world
    assert world.install().status_code == 200
    events.send("UNINSTALL", "loc_demo")
    events.process()
    client = world.client("loc_demo")
    metrics = Metrics()
    runner = JobRunner(lease=TickLease(world.engine, owner="a"), metrics=metrics)
    job = JobSpec(
        id="buyer_refresh", run=lambda now: client.locations.get(), every=timedelta(minutes=1)
    )

    assert runner.run(job, now=datetime.now(UTC)) == "skipped"

    record = read_job_record(engine=world.engine, job_id="buyer_refresh")
    assert record is not None and record.consecutive_failures == 0
