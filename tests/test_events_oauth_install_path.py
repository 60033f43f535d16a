"""Issue 11's first "must show" in one run: the app is installed through OAuth (GET
/ghl/install -> GHL's chooser -> /ghl/oauth/callback -> tokens stored encrypted), a buyer then
texts STOP in GHL, the emulator signs and sends the InboundMessage webhook to the bot's
/ghl/webhooks, and the buyer is opted out — every GHL call after the install made with the
install's OAuth token (renewed ahead of expiry, and again on GHL's 401 once it ran out). Real HTTP
every hop, the real store, time by freezegun."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cryptography.fernet import Fernet
from freezegun import freeze_time
from sqlalchemy import text

from bot.web.webhook_verify import SignatureVerifier
from bot.web.webhooks import make_webhook_app, process_webhook_events
from sandbox.ghl_emulator.webhook_keys import TEST_PUBLIC_KEY
from tests.fixtures.events import opted_out, real_handlers, simulate, stored_events
from tests.oauth_world import OAuthWorld

START = datetime(2027, 1, 15, 15, 0, tzinfo=UTC)  # 10:00 in New York


def test_an_oauth_install_then_a_signed_stop_opts_the_buyer_out(notify_world, serve_wsgi):
    world = notify_world
    world.emulator.config.stop_sets_dnd = False  # the InboundMessage alone must do it
    db_url = world.engine.url.render_as_string(hide_password=False)
    oauth = OAuthWorld.build(emulator=world.emulator, db_url=db_url)
    try:
        answer = oauth.install()
        assert answer.status_code == 200 and "Installed at loc_demo" in answer.text
        with world.engine.connect() as conn:
            (stored,) = conn.execute(text("SELECT access_token_enc FROM ghl_oauth_grants")).one()
        access = Fernet(oauth.key.encode()).decrypt(stored.encode()).decode()
        assert access in world.emulator.state.oauth.access and access not in stored

        world.client = oauth.client("loc_demo")  # from here on: the install's token
        verifier = SignatureVerifier.from_settings(public_key=TEST_PUBLIC_KEY, legacy_rsa=False)
        endpoint = serve_wsgi(make_webhook_app(engine=world.engine, verifier=verifier))
        world.emulator.webhooks.url = endpoint + "/ghl/webhooks"
        world.emulator.webhooks.jitter_s = 0.0
        with freeze_time(START) as frozen:
            world.at(datetime.now(UTC))
            buyer = world.add_buyer(first_name="Sam")
            world.emulator.state.oauth.expire()  # a day later: the access token ran out
            simulate(world, "inbound-sms", contactId=buyer, body="STOP")
            (attempt,) = world.emulator.webhooks.deliver_due()
            assert (attempt.event_type, attempt.status) == ("InboundMessage", 200)
            frozen.tick(timedelta(seconds=5))  # the webhook job's next tick
            report = process_webhook_events(
                engine=world.engine, handlers=real_handlers(world), now=datetime.now(UTC)
            )
        assert report.processed == 1
        assert opted_out(world, buyer)
        assert world.emulator.state.contacts[buyer].sms_blocked()  # DND set with the OAuth token
        (event,) = stored_events(world.engine)
        assert event.type == "InboundMessage" and event.status == "processed"
        assert world.emulator.state.oauth.count("authorization_code", "200") == 1
        # Renewed twice: before the first call after the clock moved past the token's day
        # (renewed ahead of expiry), and on GHL's 401 after the emulator expired it.
        assert world.emulator.state.oauth.count("refresh_token", "200") == 2
    finally:
        oauth.close()
