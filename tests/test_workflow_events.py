"""`/ghl/workflow-events/<secret>` over real HTTP: GHL workflow webhooks for token-only
installs, fed to the same store and handlers as signed webhooks; bad input gets a clear 4xx
and changes nothing. Bodies are what the README's recipe makes GHL's Webhook action send
(its own fields plus the Custom Data the recipe adds) or a Custom Webhook's JSON body."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests
from freezegun import freeze_time

from bot.web.webhooks import process_webhook_events
from bot.web.workflow_events import WorkflowEventsApp
from tests.fixtures.events import opted_out, real_handlers, seen_keys, simulate, stored_events

SECRET = "wf-" + "k3Y" * 10  # 33 URL-safe characters
START = datetime(2027, 1, 15, 15, 0, tzinfo=UTC)


@pytest.fixture
def endpoint(notify_world, serve_wsgi) -> str:
    app = WorkflowEventsApp(
        engine=notify_world.engine, secret=SECRET, location_id=notify_world.client.location_id
    )
    return serve_wsgi(app) + "/ghl/workflow-events/"


def webhook_action(contact_id: str, **custom: str) -> dict:
    """What GHL's standard Webhook action posts on Customer Replied: the contact's standard
    fields, the location, the message, and the recipe's Custom Data."""
    return {
        "contact_id": contact_id,
        "first_name": "Sam",
        "phone": "+12125550101",
        "tags": "active_buyer,sms_opt_in",
        "location": {"id": "loc_demo", "name": "Demo Realty"},
        "message": {"type": 2, "body": custom.pop("text", "STOP")},
        "workflow": {"id": "wf1", "name": "DealFinder: Customer Replied"},
        "customData": custom,
    }


def handle(world) -> None:
    process_webhook_events(
        engine=world.engine, handlers=real_handlers(world), now=datetime.now(UTC)
    )


def test_a_stop_through_the_customer_replied_workflow_opts_the_buyer_out(notify_world, endpoint):
    world = notify_world
    with freeze_time(START):
        world.at(datetime.now(UTC))
        buyer = world.add_buyer()
        body = webhook_action(buyer, event="InboundMessage", contactId=buyer, locationId="loc_demo")
        answer = requests.post(endpoint + SECRET, json=body, timeout=10)
        assert answer.status_code == 200 and answer.json() == {"status": "accepted"}
        again = requests.post(endpoint + SECRET, json=body, timeout=10)  # a re-send
        assert again.json() == {"status": "duplicate"}
        handle(world)
    assert opted_out(world, buyer)
    (event,) = stored_events(world.engine)
    assert event.type == "InboundMessage" and event.payload["body"] == "STOP"
    assert event.webhook_id.startswith("wf:")


def test_a_custom_webhook_with_the_message_id_shares_its_key_with_the_other_paths(
    notify_world, endpoint
):
    world = notify_world
    buyer = world.add_buyer()
    body = {"event": "InboundMessage", "contactId": buyer, "body": "HELP", "messageId": "m-77"}
    assert requests.post(endpoint + SECRET, json=body, timeout=10).status_code == 200
    assert "msg:m-77" in seen_keys(world.engine)


def test_a_dnd_workflow_event_reads_the_contacts_dnd_from_ghl(notify_world, endpoint):
    world = notify_world
    with freeze_time(START):
        world.at(datetime.now(UTC))
        buyer = world.add_buyer()
        simulate(world, "contact", contactId=buyer, smsDnd=True)  # a user sets DND in GHL
        body = {"event": "ContactDndUpdate", "contactId": buyer, "locationId": "loc_demo"}
        assert requests.post(endpoint + SECRET, json=body, timeout=10).status_code == 200
        handle(world)
    assert opted_out(world, buyer)
    assert world.emulator.count("GET", "/contacts/{contactId}") >= 1


@pytest.mark.parametrize(
    ("event", "fields"),
    [
        ("ContactTagUpdate", {"contactId": "C"}),
        ("TaskComplete", {"contactId": "C", "taskTitle": "Call seller", "taskId": "t1"}),
        ("OpportunityStageUpdate", {"opportunityId": "o1"}),
        ("OpportunityStatusUpdate", {"opportunityId": "o1"}),
    ],
)
def test_each_recipe_maps_to_the_signed_webhooks_event(notify_world, endpoint, event, fields):
    answer = requests.post(
        endpoint + SECRET, json={"customData": {"event": event} | fields}, timeout=10
    )
    assert answer.status_code == 200
    (stored,) = stored_events(notify_world.engine)
    assert stored.type == event and stored.payload["locationId"] == "loc_demo"
    if "opportunityId" in fields:
        assert stored.payload["id"] == "o1"
    if event == "TaskComplete":
        assert (stored.payload["contactId"], stored.payload["title"]) == ("C", "Call seller")


@pytest.mark.parametrize(
    ("path", "method", "body", "status", "reason"),
    [
        (
            "wrong-secret-" + "x" * 20,
            "POST",
            {"event": "ContactTagUpdate", "contactId": "C"},
            404,
            "not_found",
        ),
        ("", "POST", {"event": "ContactTagUpdate", "contactId": "C"}, 404, "not_found"),
        (
            SECRET + "/more",
            "POST",
            {"event": "ContactTagUpdate", "contactId": "C"},
            404,
            "not_found",
        ),
        (SECRET, "GET", None, 405, "POST only"),
        (SECRET, "POST", b"{not json", 400, "not JSON"),
        (SECRET, "POST", ["a", "list"], 400, "expected a JSON object"),
        (SECRET, "POST", {"contactId": "C"}, 400, "event must be one of"),
        (SECRET, "POST", {"event": "ContactDelete", "contactId": "C"}, 400, "event must be one of"),
        (SECRET, "POST", {"event": "InboundMessage", "contactId": "C"}, 400, "needs body"),
        (SECRET, "POST", {"event": "TaskComplete", "contactId": "C"}, 400, "needs taskTitle"),
        (SECRET, "POST", {"event": "OpportunityStageUpdate"}, 400, "needs opportunityId"),
        (
            SECRET,
            "POST",
            {"event": "ContactTagUpdate", "contactId": "C", "locationId": "other"},
            400,
            "not the location",
        ),
    ],
    ids=[
        "wrong secret",
        "no secret",
        "secret plus more",
        "GET",
        "not json",
        "not an object",
        "no event",
        "unknown event",
        "reply without body",
        "task without title",
        "opportunity without id",
        "another location",
    ],
)
def test_bad_input_gets_a_clear_4xx_and_changes_nothing(
    notify_world, endpoint, path, method, body, status, reason, caplog
):
    raw = body if isinstance(body, bytes) else None
    answer = requests.request(
        method, endpoint + path, json=None if raw else body, data=raw, timeout=10
    )
    assert answer.status_code == status and reason in answer.json()["error"]
    assert stored_events(notify_world.engine) == [] and seen_keys(notify_world.engine) == []
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("dealfinder")]
    assert not any(SECRET in line for line in ours) and SECRET not in answer.text


def test_without_a_configured_secret_the_endpoint_does_not_exist(notify_world, serve_wsgi):
    app = WorkflowEventsApp(engine=notify_world.engine, secret=None, location_id="loc_demo")
    url = serve_wsgi(app) + "/ghl/workflow-events/"
    for path in ("", "None", SECRET):
        answer = requests.post(
            url + path, json={"event": "ContactTagUpdate", "contactId": "C"}, timeout=10
        )
        assert answer.status_code == 404
    assert stored_events(notify_world.engine) == []


def test_a_workflow_re_send_later_is_a_new_event_but_within_minutes_the_same(
    notify_world, endpoint
):
    body = {"event": "ContactTagUpdate", "contactId": "C"}
    with freeze_time(START) as frozen:
        assert (
            requests.post(endpoint + SECRET, json=body, timeout=10).json()["status"] == "accepted"
        )
        frozen.tick(timedelta(seconds=30))
        assert (
            requests.post(endpoint + SECRET, json=body, timeout=10).json()["status"] == "duplicate"
        )
        frozen.tick(timedelta(minutes=10))
        assert (
            requests.post(endpoint + SECRET, json=body, timeout=10).json()["status"] == "accepted"
        )


def test_serve_mounts_the_endpoint_from_settings_and_polling_can_be_turned_off(
    sqlite_engine, seeded_emulator
):
    from slack_bolt import App

    from bot.ops.jobs import JOB_POLL
    from bot.ops.wiring import build_ops
    from bot.settings import load_settings
    from bot.web.server import build_wsgi_app, start_http_in_thread
    from ghl.client import GHLClient
    from sandbox.ghl_emulator import DEFAULT_TOKEN, DEMO_LOCATION_ID

    client = GHLClient(
        token=DEFAULT_TOKEN, location_id=DEMO_LOCATION_ID, base_url=seeded_emulator.url
    )
    settings = load_settings(DEALFINDER_WORKFLOW_WEBHOOK_SECRET=SECRET)
    ops = build_ops(settings, engine=sqlite_engine, client=client)
    assert JOB_POLL in ops.scheduler.specs  # polling is on by default ("auto")
    bolt = App(token="xoxb-test", signing_secret="secret", token_verification_enabled=False)
    body = {"event": "ContactTagUpdate", "contactId": "C"}
    with start_http_in_thread(build_wsgi_app(bolt_app=bolt, extra_routes=ops.routes())) as run:
        good = requests.post(f"{run.url}/ghl/workflow-events/{SECRET}", json=body, timeout=10)
        bad = requests.post(f"{run.url}/ghl/workflow-events/{SECRET[:-1]}", json=body, timeout=10)
    assert good.status_code == 200 and bad.status_code == 404
    assert bad.json() == {"error": "not_found"}  # the same answer as for any unknown path
    off = build_ops(load_settings(DEALFINDER_POLLING="off"), engine=sqlite_engine, client=client)
    assert JOB_POLL not in off.scheduler.specs


@pytest.mark.parametrize("secret", ["short", "has spaces in it but is long enough ok", "x" * 23])
def test_a_weak_secret_is_refused_at_start_naming_the_setting(secret):
    from bot.settings import ConfigError, load_settings

    with pytest.raises(ConfigError) as raised:
        load_settings(DEALFINDER_WORKFLOW_WEBHOOK_SECRET=secret)
    assert "DEALFINDER_WORKFLOW_WEBHOOK_SECRET" in str(raised.value)
    assert secret not in str(raised.value)  # never echoed


def test_the_webhook_actions_own_opportunity_fields_are_enough(notify_world, endpoint):
    """GHL's Webhook action sends an opportunity trigger's record at the root (`id` beside
    `pipeline_id`, "Webhook Action Data Format Guide"): the recipe needs only the event."""
    body = {
        "contact_id": "C",
        "id": "o9",
        "pipeline_id": "p1",
        "pipleline_stage": "Offer Made",  # sic, GHL's spelling
        "status": "open",
        "location": {"id": "loc_demo"},
        "customData": {"event": "OpportunityStageUpdate"},
    }
    assert requests.post(endpoint + SECRET, json=body, timeout=10).status_code == 200
    (stored,) = stored_events(notify_world.engine)
    assert (stored.type, stored.payload["id"]) == ("OpportunityStageUpdate", "o9")


@pytest.mark.parametrize("first", ["workflow", "polling"])
def test_a_reply_is_handled_once_whether_the_workflow_or_polling_brings_it_first(
    notify_world, endpoint, first
):
    """The workflow's body carries no message id: the same words from the same contact within
    minutes are one reply across the two paths (and polling still keys it by its id)."""
    from bot.ops.polling import poll_events

    world = notify_world
    world.emulator.config.stop_sets_dnd = False
    with freeze_time(START) as frozen:
        world.at(datetime.now(UTC))
        buyer = world.add_buyer()
        poll = dict(engine=world.engine, client=world.client, handlers=None, mode="on")
        poll_events(now=datetime.now(UTC), **poll)
        simulate(world, "inbound-sms", contactId=buyer, body="Is it still available?")
        body = webhook_action(buyer, text="Is it still available?", event="InboundMessage")
        if first == "workflow":
            assert requests.post(endpoint + SECRET, json=body, timeout=10).json() == {
                "status": "accepted"
            }
        frozen.tick(timedelta(minutes=1))
        world.at(datetime.now(UTC))
        polled = poll_events(now=datetime.now(UTC), **poll)
        if first == "polling":
            assert polled.stored >= 1
            assert requests.post(endpoint + SECRET, json=body, timeout=10).json() == {
                "status": "duplicate"
            }
        else:
            assert [e.type for e in stored_events(world.engine)].count("InboundMessage") == 1
        frozen.tick(timedelta(minutes=15))  # the same words much later: a new reply
        world.at(datetime.now(UTC))
        assert requests.post(endpoint + SECRET, json=body, timeout=10).json() == {
            "status": "accepted"
        }
    replies = [e for e in stored_events(world.engine) if e.type == "InboundMessage"]
    assert len(replies) == 2


def test_the_secret_is_masked_should_it_reach_a_log_line(notify_world):
    from ghl.redact import redact

    WorkflowEventsApp(engine=notify_world.engine, secret=SECRET, location_id="loc_demo")
    assert SECRET not in redact(f"POST /ghl/workflow-events/{SECRET} 404")
