"""Polling, the event path that needs nothing set up: with webhooks off a STOP texted in GHL is
honoured within 2 simulated minutes by the registered job; one message is handled once across
paths; polling steps aside while an event path delivers; its idle cost is measured against
GHL's limit (100 requests / 10 s = 600 a minute). Real emulator over HTTP, real store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time

from bot.ops.jobs import JOB_POLL, OpsContext, build_job_specs
from bot.ops.polling import PollMode, cursor_key, poll_events, polling_due
from bot.web.webhook_verify import SignatureVerifier
from bot.web.webhooks import make_webhook_app
from sandbox.ghl_emulator.webhook_keys import TEST_PUBLIC_KEY
from store.db import session_scope
from store.state import get_sync_state
from store.webhooks import note_delivery
from tests.fixtures.events import opted_out, real_handlers, simulate, stored_events

pytestmark = pytest.mark.slow  # simulated minutes of polling

START = datetime(2027, 1, 15, 15, 0, tzinfo=UTC)  # 10:00 in New York
T = datetime(2027, 1, 15, 12, 0, tzinfo=UTC)
GHL_PER_MINUTE = 600  # 100 requests per 10 s per location (ghl-api README, "Limits")


@pytest.mark.parametrize(
    ("mode", "last", "due"),
    [
        ("auto", None, True),  # nothing ever came by webhook or workflow
        ("auto", timedelta(minutes=3), False),
        ("auto", timedelta(minutes=10), True),
        ("on", timedelta(seconds=1), True),
        ("off", None, False),
    ],
)
def test_polling_due(mode: PollMode, last, due):
    deliveries = {} if last is None else {"webhook": T - last}
    assert (
        polling_due(mode=mode, deliveries=deliveries, now=T, quiet_after=timedelta(minutes=10))
        is due
    )


def poll_job(world):
    """The job as `bot.ops.jobs` registers it (webhooks off: no URL is given to the emulator)."""
    ctx = OpsContext(
        engine=world.engine,
        client=world.client,
        config=world.config,
        rules=world.rules,
        handlers=real_handlers(world),
        post_ops=lambda text: True,
    )
    (spec,) = [s for s in build_job_specs(ctx) if s.id == JOB_POLL]
    assert spec.every == timedelta(minutes=1)
    return spec


def test_with_webhooks_off_a_stop_is_honoured_within_two_minutes_by_polling(notify_world_any):
    world = notify_world_any
    world.emulator.config.stop_sets_dnd = False  # the message itself, not GHL's DND
    job = poll_job(world)
    with freeze_time(START) as frozen:
        world.at(datetime.now(UTC))
        buyer = world.add_buyer(first_name="Sam")
        job.run(datetime.now(UTC))  # the first run sets the cursor
        frozen.tick(timedelta(seconds=20))
        world.at(datetime.now(UTC))
        simulate(world, "inbound-sms", contactId=buyer, body="STOP")  # reaches GHL now
        reached = datetime.now(UTC)
        while not opted_out(world, buyer) and datetime.now(UTC) - reached < timedelta(minutes=2):
            frozen.tick(timedelta(minutes=1))
            world.at(datetime.now(UTC))
            job.run(datetime.now(UTC))
        assert opted_out(world, buyer)
        assert datetime.now(UTC) - reached <= timedelta(minutes=2)
        for _ in range(3):  # later runs find it again in their overlap: never handled twice
            frozen.tick(timedelta(minutes=1))
            world.at(datetime.now(UTC))
            job.run(datetime.now(UTC))
    (event,) = [e for e in stored_events(world.engine) if e.type == "InboundMessage"]
    assert event.payload["body"] == "STOP" and event.status == "processed"
    assert len([m for m in world.texts(buyer) if "unsubscribed" in m.body]) == 1


def test_a_dnd_set_in_ghl_by_hand_is_seen_by_polling(notify_world):
    world = notify_world
    with freeze_time(START) as frozen:
        world.at(datetime.now(UTC))
        buyer = world.add_buyer()
        poll_events(engine=world.engine, client=world.client, handlers=None, now=datetime.now(UTC))
        simulate(world, "contact", contactId=buyer, smsDnd=True)
        frozen.tick(timedelta(minutes=1))
        world.at(datetime.now(UTC))
        report = poll_events(
            engine=world.engine,
            client=world.client,
            handlers=real_handlers(world),
            now=datetime.now(UTC),
        )
        assert report.stored == 1  # ContactDndUpdate; the tags did not change
        with session_scope(world.engine, readonly=True) as session:
            cursor = get_sync_state(session=session, key=cursor_key(world.client.location_id))
        assert cursor.value["contacts_at"] == datetime.now(UTC).isoformat()  # moved on
    assert opted_out(world, buyer)


def test_a_message_is_handled_once_whether_the_webhook_or_polling_brings_it_first(
    notify_world, serve_wsgi
):
    world = notify_world
    world.emulator.config.stop_sets_dnd = False
    verifier = SignatureVerifier.from_settings(public_key=TEST_PUBLIC_KEY, legacy_rsa=False)
    world.emulator.webhooks.url = serve_wsgi(
        make_webhook_app(engine=world.engine, verifier=verifier)
    )
    with freeze_time(START) as frozen:
        world.at(datetime.now(UTC))
        first, second = world.add_buyer(first_name="Ann"), world.add_buyer(first_name="Bo")
        poll = dict(engine=world.engine, client=world.client, handlers=None, mode="on")
        poll_events(now=datetime.now(UTC), **poll)
        simulate(world, "inbound-sms", contactId=first, body="Is it still available?")
        world.emulator.webhooks.deliver_due()  # webhook first ...
        frozen.tick(timedelta(minutes=1))
        world.at(datetime.now(UTC))
        assert poll_events(now=datetime.now(UTC), **poll).stored == 0  # ... polling finds it known
        simulate(world, "inbound-sms", contactId=second, body="Which street?")
        frozen.tick(timedelta(minutes=1))
        world.at(datetime.now(UTC))
        assert poll_events(now=datetime.now(UTC), **poll).stored == 1  # polling first ...
        (late,) = world.emulator.webhooks.deliver_due()
        assert late.status == 200  # ... the webhook is acknowledged as a duplicate
    inbound = [e for e in stored_events(world.engine) if e.type == "InboundMessage"]
    bodies = sorted(e.payload["body"] for e in inbound)
    assert bodies == ["Is it still available?", "Which street?"]


def test_polling_steps_aside_while_webhooks_deliver(notify_world):
    world = notify_world
    with freeze_time(START) as frozen:
        world.at(datetime.now(UTC))
        with session_scope(world.engine) as session:
            note_delivery(session=session, path="webhook", now=datetime.now(UTC))
        calls = world.client.stats.calls
        frozen.tick(timedelta(minutes=5))
        report = poll_events(
            engine=world.engine, client=world.client, handlers=None, now=datetime.now(UTC)
        )
        assert not report.ran and world.client.stats.calls == calls  # no GHL request at all
        frozen.tick(timedelta(minutes=5))  # 10 minutes without a webhook: GHL is read again
        assert poll_events(
            engine=world.engine, client=world.client, handlers=None, now=datetime.now(UTC)
        ).ran


def test_idle_polling_costs_at_most_five_percent_of_ghls_rate_limit(notify_world, capsys):
    """Measured: requests per minute at the emulator over 30 idle minutes, with 50 buyers and
    their old conversations in the location (README, "Measured")."""
    world = notify_world
    job = poll_job(world)
    with freeze_time(START) as frozen:
        world.at(datetime.now(UTC))
        buyers = [world.add_buyer(first_name=f"B{n}") for n in range(50)]
        for buyer in buyers[:20]:
            simulate(world, "inbound-sms", contactId=buyer, body="Thanks")
        frozen.tick(timedelta(minutes=5))
        world.at(datetime.now(UTC))
        job.run(datetime.now(UTC))  # catches up with the above
        counted = world.emulator.stats["total"]  # every request the emulator answered
        minutes = 30
        for _ in range(minutes):
            frozen.tick(timedelta(minutes=1))
            world.at(datetime.now(UTC))
            job.run(datetime.now(UTC))
        per_minute = (world.emulator.stats["total"] - counted) / minutes
    share = per_minute / GHL_PER_MINUTE
    with capsys.disabled():
        print(f"\nidle polling: {per_minute:.2f} requests/min = {share:.2%} of GHL's 600/min")
    assert per_minute <= 2.0  # one conversation search, one contact search
    assert share <= 0.05


def test_the_first_run_only_sets_the_cursor_and_unchanged_buyers_raise_nothing(notify_world):
    world = notify_world
    with freeze_time(START) as frozen:
        world.at(datetime.now(UTC))
        buyer = world.add_buyer()
        first = poll_events(
            engine=world.engine, client=world.client, handlers=None, now=datetime.now(UTC)
        )
        assert first.ran and first.calls == 0  # history before the first run is not replayed
        world.client.contacts.update(buyer, {"firstName": "Dana-Lee"})  # neither DND nor tags
        frozen.tick(timedelta(minutes=1))
        world.at(datetime.now(UTC))
        report = poll_events(
            engine=world.engine, client=world.client, handlers=None, now=datetime.now(UTC)
        )
    assert (report.contacts, report.stored) == (1, 0)
    assert stored_events(world.engine) == []


def test_a_busy_minute_is_read_across_pages_and_an_old_cursor_looks_back_12_hours_at_most(
    notify_world,
):
    """25 buyers text in within a minute: the conversation search pages (`startAfterDate`, the
    last conversation's last-message date) and every text is stored once. A cursor a day old
    (polling was off while webhooks delivered) is read from 12 hours back only."""
    from store.state import set_sync_state

    world = notify_world
    with freeze_time(START) as frozen:
        world.at(datetime.now(UTC))
        buyers = [world.add_buyer(first_name=f"B{n}") for n in range(25)]
        poll = dict(engine=world.engine, client=world.client, handlers=None, mode="on")
        poll_events(now=datetime.now(UTC), **poll)
        for buyer in buyers:
            frozen.tick(timedelta(seconds=2))
            world.at(datetime.now(UTC))
            simulate(world, "inbound-sms", contactId=buyer, body="Interested")
        frozen.tick(timedelta(seconds=10))
        world.at(datetime.now(UTC))
        report = poll_events(now=datetime.now(UTC), **poll)
        assert report.messages == 25 and report.stored >= 25
        assert world.emulator.count("GET", "/conversations/search") == 2  # 20, then 5

        frozen.tick(timedelta(days=1))
        world.at(datetime.now(UTC))
        with session_scope(world.engine) as session:
            old = {"messages_ms": 0, "contacts_at": "2027-01-01T00:00:00+00:00"}
            set_sync_state(session=session, key=cursor_key(world.client.location_id), value=old)
        again = poll_events(now=datetime.now(UTC), **poll)
    assert again.messages == 0  # yesterday's texts are not read again
    inbound = [e for e in stored_events(world.engine) if e.type == "InboundMessage"]
    assert len(inbound) == 25 and len({e.payload["messageId"] for e in inbound}) == 25
