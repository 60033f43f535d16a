"""GHL events of every installed location are acted on at that location (issue 14): with the
app installed for an agency's locations, GHL sends all their events to one `/ghl/webhooks`;
a buyer of a location other than GHL_LOCATION_ID who texts STOP is opted out there, with that
location's own token, and an uninstalled location's event is still ignored. Real HTTP every
hop (the company install, the signed webhook, GHL calls), the real store and handlers as
`serve` wires them."""

from __future__ import annotations

from datetime import UTC, datetime

from freezegun import freeze_time

from bot.ops.wiring import build_ops
from bot.web.webhook_verify import SignatureVerifier
from bot.web.webhooks import make_webhook_app, process_webhook_events
from sandbox.ghl_emulator.oauth_state import InstallChoice
from sandbox.ghl_emulator.webhook_keys import TEST_PUBLIC_KEY
from services.buyer_sync import sync_buyers
from services.events.outcomes import Ignored
from store.db import session_scope
from store.installs import record_uninstall
from tests.fixtures.events import opted_out, simulate, stored_events
from tests.oauth_world import OAuthWorld

START = datetime(2027, 1, 15, 15, 0, tzinfo=UTC)  # 10:00 in New York


def _bay_buyer(client) -> str:
    contact = client.contacts.upsert(
        {
            "firstName": "Bea",
            "lastName": "Buyer",
            "phone": "+15105550142",
            "tags": ["active_buyer", "sms_opt_in"],
        }
    ).contact
    return contact.id


def test_a_stop_at_another_installed_location_opts_the_buyer_out_there(notify_world, serve_wsgi):
    world = notify_world
    world.emulator.config.stop_sets_dnd = False  # the InboundMessage alone must do it
    world.emulator.seed_demo(buyers=1, seed=3, location_id="loc_b")
    world.emulator.state.oauth.choice = InstallChoice(
        user_type="Company", company_id="comp_1", locations=("loc_demo", "loc_b")
    )
    db_url = world.engine.url.render_as_string(hide_password=False)
    oauth = OAuthWorld.build(emulator=world.emulator, db_url=db_url)
    try:
        assert oauth.install().status_code == 200
        bay = oauth.client("loc_b")
        verifier = SignatureVerifier.from_settings(public_key=TEST_PUBLIC_KEY, legacy_rsa=False)
        endpoint = serve_wsgi(make_webhook_app(engine=world.engine, verifier=verifier))
        world.emulator.webhooks.url = endpoint + "/ghl/webhooks"
        world.emulator.webhooks.jitter_s = 0.0
        settings = oauth.settings.model_copy(update={"ghl_location_id": "loc_demo"})
        ops = build_ops(
            settings, engine=world.engine, client=oauth.client("loc_demo"),
            config=world.config, rules=world.rules, oauth=oauth.parts,
        )  # fmt: skip
        with freeze_time(START) as frozen:
            world.at(datetime.now(UTC))
            bea = _bay_buyer(bay)
            frozen.tick(5)  # GHL's search finds a new contact seconds after it was made
            world.at(datetime.now(UTC))
            sync_buyers(client=bay, engine=world.engine, config=world.config, full=True)
            assert not opted_out(world, bea)  # loc_b's buyer, in the store
            dana = world.add_buyer(first_name="Dana")  # loc_demo's own buyer
            simulate(world, "inbound-sms", contactId=bea, body="STOP")
            simulate(world, "inbound-sms", contactId=dana, body="STOP")
            attempts = world.emulator.webhooks.deliver_due()
            assert [a.status for a in attempts] == [200, 200]
            report = process_webhook_events(
                engine=world.engine, handlers=ops.context.handlers, now=datetime.now(UTC)
            )
        assert report.processed == 2
        assert opted_out(world, bea) and opted_out(world, dana)
        # DND set in GHL at loc_b, with loc_b's own install token
        assert world.emulator.state.contacts[bea].sms_blocked()
        assert [e.status for e in stored_events(world.engine)] == ["processed", "processed"]

        # The same STOP again is answered at loc_b; once loc_b is uninstalled, its events
        # are another location's again, and ignored.
        [stop_at_b] = [
            e for e in stored_events(world.engine) if e.payload.get("locationId") == "loc_b"
        ]
        handlers = ops.context.handlers
        assert handlers.handle("InboundMessage", stop_at_b.payload, START) == "opt_out"
        with session_scope(world.engine) as session:
            record_uninstall(session=session, location_id="loc_b", now=START)
        outcome = handlers.handle("InboundMessage", stop_at_b.payload, START)
        assert outcome == Ignored.OTHER_LOCATION.describe()
    finally:
        oauth.close()
