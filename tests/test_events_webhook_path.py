"""The signed-webhook path end to end: the GHL emulator emits a signed InboundMessage STOP to
the bot's running `/ghl/webhooks`, and the buyer is opted out; with the store down the answer
is 429, GHL's retry 10 simulated minutes later is accepted and processed once. Real HTTP both
ways, the real store (SQLite and PostgreSQL), time by freezegun; nothing sleeps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import text

from bot.web.webhook_verify import SignatureVerifier
from bot.web.webhooks import make_webhook_app, process_webhook_events
from sandbox.ghl_emulator.webhook_keys import TEST_PUBLIC_KEY
from tests.fixtures.events import opted_out, real_handlers, seen_keys, simulate, stored_events

START = datetime(2027, 1, 15, 15, 0, tzinfo=UTC)  # 10:00 in New York


def bot_webhooks(world, serve_wsgi) -> str:
    """The bot's webhook endpoint, configured with the emulator's test public key (as
    GHL_WEBHOOK_PUBLIC_KEY would be), served over HTTP; the emulator is told its URL."""
    verifier = SignatureVerifier.from_settings(public_key=TEST_PUBLIC_KEY, legacy_rsa=False)
    url = serve_wsgi(make_webhook_app(engine=world.engine, verifier=verifier)) + "/ghl/webhooks"
    world.emulator.webhooks.url = url
    world.emulator.webhooks.jitter_s = 0.0
    return url


def test_a_stop_texted_in_ghl_reaches_the_bot_signed_and_opts_the_buyer_out(
    notify_world, serve_wsgi
):
    world = notify_world
    world.emulator.config.stop_sets_dnd = False  # the InboundMessage alone must do it
    bot_webhooks(world, serve_wsgi)
    with freeze_time(START) as frozen:
        world.at(datetime.now(UTC))
        buyer = world.add_buyer(first_name="Sam")
        simulate(world, "inbound-sms", contactId=buyer, body="STOP")
        (attempt,) = world.emulator.webhooks.deliver_due()
        assert (attempt.event_type, attempt.status, attempt.final) == ("InboundMessage", 200, True)
        frozen.tick(timedelta(seconds=5))  # the webhook job's next tick
        process_webhook_events(
            engine=world.engine, handlers=real_handlers(world), now=datetime.now(UTC)
        )
    assert opted_out(world, buyer)
    (event,) = stored_events(world.engine)
    assert event.type == "InboundMessage" and event.status == "processed"
    assert event.payload["body"] == "STOP" and event.payload["messageId"]


def test_ghl_own_dnd_on_stop_arrives_as_contact_dnd_update_too(notify_world, serve_wsgi):
    world = notify_world
    bot_webhooks(world, serve_wsgi)
    with freeze_time(START):
        world.at(datetime.now(UTC))
        buyer = world.add_buyer()
        simulate(world, "inbound-sms", contactId=buyer, body="stop")
        attempts = world.emulator.webhooks.deliver_due()
    assert [(a.event_type, a.status) for a in attempts] == [
        ("InboundMessage", 200),
        ("ContactDndUpdate", 200),
    ]
    dnd = stored_events(world.engine)[1].payload
    assert dnd["id"] == buyer and dnd["dndSettings"]["SMS"]["status"] == "active"


def _webhook_tables_away(engine, *, away: bool) -> None:
    """Take the store's webhook tables away (renamed), or put them back: a real failure of
    the real store, not a mock; on PostgreSQL within the test's own schema."""
    pairs = [("webhook_seen", "webhook_seen_away"), ("webhook_events", "webhook_events_away")]
    with engine.begin() as conn:
        for name, hidden in pairs:
            old, new = (name, hidden) if away else (hidden, name)
            conn.execute(text(f"ALTER TABLE {old} RENAME TO {new}"))


def test_store_down_429_then_ghls_retry_ten_minutes_later_is_accepted_and_processed_once(
    notify_world_any, serve_wsgi
):
    world = notify_world_any
    world.emulator.config.stop_sets_dnd = False
    bot_webhooks(world, serve_wsgi)
    handlers = real_handlers(world)
    with freeze_time(START) as frozen:
        world.at(datetime.now(UTC))
        buyer = world.add_buyer(first_name="Sam")
        simulate(world, "inbound-sms", contactId=buyer, body="STOP")

        _webhook_tables_away(world.engine, away=True)
        (first,) = world.emulator.webhooks.deliver_due()
        assert (first.status, first.final) == (429, False)  # GHL will retry
        _webhook_tables_away(world.engine, away=False)  # the store is back
        assert stored_events(world.engine) == [] and seen_keys(world.engine) == []

        frozen.tick(timedelta(minutes=9))
        world.at(datetime.now(UTC))
        assert world.emulator.webhooks.deliver_due() == []  # not due before 10 minutes
        frozen.tick(timedelta(minutes=1))
        world.at(datetime.now(UTC))
        (retry,) = world.emulator.webhooks.deliver_due()
        assert retry.webhook_id == first.webhook_id  # the same signed body, 10 minutes old
        assert (retry.status, retry.final) == (200, True)

        for _ in range(3):  # the job's next ticks: processed once, never again
            frozen.tick(timedelta(seconds=5))
            process_webhook_events(engine=world.engine, handlers=handlers, now=datetime.now(UTC))
    assert opted_out(world, buyer)
    (event,) = stored_events(world.engine)
    assert event.status == "processed" and event.attempts == 1
    confirmations = [m for m in world.texts(buyer) if "unsubscribed" in m.body]
    assert len(confirmations) == 1


@pytest.mark.parametrize(
    ("age", "status"),
    [(timedelta(minutes=70), 200), (timedelta(hours=2, minutes=1), 400)],
    ids=["GHL's last retry", "older than any retry"],
)
def test_a_signed_delivery_is_judged_by_ghls_retry_horizon(notify_world, serve_wsgi, age, status):
    world = notify_world
    world.emulator.config.stop_sets_dnd = False
    bot_webhooks(world, serve_wsgi)
    with freeze_time(START) as frozen:
        world.at(datetime.now(UTC))
        buyer = world.add_buyer()
        simulate(world, "inbound-sms", contactId=buyer, body="STOP")
        frozen.tick(age)  # the delivery reaches the bot this late (its body keeps its time)
        (attempt,) = world.emulator.webhooks.deliver_due()
    assert attempt.status == status
    assert len(stored_events(world.engine)) == (1 if status == 200 else 0)
    assert len(seen_keys(world.engine)) == (2 if status == 200 else 0)  # webhookId + message


def test_the_served_bot_takes_the_emulators_signed_stop_and_its_job_opts_the_buyer_out(
    notify_world,
):
    """As `dealfinder serve` wires it: settings with the emulator's test key, the operations
    routes in the bot's HTTP server (waitress), the registered webhook job."""
    from slack_bolt import App

    from bot.ops.jobs import JOB_WEBHOOKS
    from bot.ops.wiring import build_ops
    from bot.settings import load_settings
    from bot.web.server import build_wsgi_app, start_http_in_thread

    world = notify_world
    world.emulator.config.stop_sets_dnd = False
    ops = build_ops(
        load_settings(GHL_WEBHOOK_PUBLIC_KEY=TEST_PUBLIC_KEY),
        engine=world.engine,
        client=world.client,
    )
    (job,) = [s for s in ops.scheduler.specs.values() if s.id == JOB_WEBHOOKS]
    bolt = App(token="xoxb-test", signing_secret="secret", token_verification_enabled=False)
    with freeze_time(START) as frozen:
        world.at(datetime.now(UTC))
        buyer = world.add_buyer(first_name="Sam")
        with start_http_in_thread(build_wsgi_app(bolt_app=bolt, extra_routes=ops.routes())) as bot:
            world.emulator.webhooks.url = bot.url + "/ghl/webhooks"
            simulate(world, "inbound-sms", contactId=buyer, body="STOP")
            (attempt,) = world.emulator.webhooks.deliver_due()
        frozen.tick(timedelta(seconds=5))
        job.run(datetime.now(UTC))
    assert attempt.status == 200
    assert opted_out(world, buyer)
