"""Contract: every GHL client method, run against the emulator, sends requests the official
OpenAPI files accept (the emulator validates each one; the fixture fails the test otherwise)
and reads the answers GHL's files describe."""

import filecmp
import inspect
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from freezegun import freeze_time

from ghl.client import GHLClient
from ghl.resources.base import Resource
from sandbox.ghl_emulator import DEFAULT_TOKEN, DEMO_LOCATION_ID

EXERCISED: set[str] = set()


class Recorder:
    """Wraps a resource and records which public methods a test called."""

    def __init__(self, resource, group):
        self._resource, self._group = resource, group

    def __getattr__(self, name):
        attr = getattr(self._resource, name)
        if callable(attr) and not name.startswith("_"):
            EXERCISED.add(f"{self._group}.{name}")
        return attr


@pytest.fixture
def ghl(seeded_emulator):
    client = GHLClient(
        token=DEFAULT_TOKEN, location_id=DEMO_LOCATION_ID, base_url=seeded_emulator.url
    )
    for group in ("contacts", "opportunities", "conversations", "locations", "users", "workflows"):
        setattr(client, group, Recorder(getattr(client, group), group))
    yield client
    client.close()


def _pipeline(ghl):
    pipeline = ghl.opportunities.pipelines()[0]
    return pipeline, pipeline.stages[0]


def test_location_groups(ghl):
    location = ghl.locations.get()
    assert location.id == DEMO_LOCATION_ID
    fields = ghl.locations.custom_fields(model="contact")
    assert {"budget_min", "budget_max", "min_bedrooms"} <= {f.key for f in fields}
    opp_fields = ghl.locations.custom_fields(model="opportunity")
    assert "deal_score" in {f.key for f in opp_fields}
    created = ghl.locations.create_custom_field(
        name="Lot Size", data_type="NUMERICAL", model="opportunity"
    )
    assert created.id and created.name == "Lot Size"
    assert "active_buyer" in {t.name for t in ghl.locations.tags()}
    assert ghl.locations.create_tag("contract_test").name == "contract_test"
    ghl.users.use_company(location.company_id)
    assert ghl.users.company_id() == "comp_demo"  # GET /users/search needs the company
    assert len(ghl.users.list()) >= 1 and not ghl.users.used_fallback
    assert {w.name for w in ghl.workflows.list()} >= {"Hot Deal Alert"}


def test_contact_lifecycle(ghl):
    result = ghl.contacts.upsert(
        {
            "firstName": "Sam",
            "lastName": "Seller",
            "email": "sam@example.com",
            "phone": "+18135550100",
            "tags": ["dealfinder"],
        }
    )
    assert result.new is True
    again = ghl.contacts.upsert({"email": "sam@example.com", "firstName": "Samuel"})
    assert again.new is False and again.contact.id == result.contact.id
    cid = result.contact.id
    assert ghl.contacts.get(cid).email == "sam@example.com"
    assert ghl.contacts.update(cid, {"city": "Tampa"}).city == "Tampa"
    assert "hot_deal" in ghl.contacts.add_tags(cid, ["hot_deal", "automated"])
    assert "hot_deal" not in ghl.contacts.remove_tags(cid, ["hot_deal"])
    assert ghl.contacts.set_sms_dnd(cid, active=True).sms_dnd is True
    # GHL's search is index-backed: a contact this new is not found yet, a few seconds on it is.
    assert ghl.contacts.find_by_email("sam@example.com") is None
    with freeze_time(datetime.now(UTC) + timedelta(seconds=5)):
        assert ghl.contacts.find_by_email("sam@example.com").id == cid

    note = ghl.contacts.add_note(cid, "Analysis: ARV $310k, repairs $40k")
    assert note.id and note.body.startswith("Analysis")
    assert [n.id for n in ghl.contacts.notes(cid)] == [note.id]

    due = datetime.now(UTC) + timedelta(hours=4)
    task = ghl.contacts.create_task(cid, title="Review hot deal", due=due, body="score 93")
    assert task.id and task.completed is False
    assert [t.title for t in ghl.contacts.tasks(cid)] == ["Review hot deal"]
    assert ghl.contacts.complete_task(cid, task.id).completed is True

    workflow = next(w for w in ghl.workflows.list() if w.name == "Hot Deal Alert")
    assert ghl.contacts.add_to_workflow(cid, workflow.id, event_start=datetime.now(UTC)) is True


def test_contact_search_pages_through_every_buyer(ghl, seeded_emulator):
    buyers = list(
        ghl.contacts.search(filters=[ghl.contacts.tag_filter("active_buyer")], page_limit=7)
    )
    expected = [c for c in seeded_emulator.state.contacts.values() if "active_buyer" in c.tags]
    assert len(buyers) == len(expected) >= 20
    assert len({b.id for b in buyers}) == len(buyers)  # no duplicates across pages
    page, total = ghl.contacts.search_page(
        filters=[ghl.contacts.tag_filter("active_buyer")], page_limit=5
    )
    assert len(page) == 5 and total == len(expected)
    since = ghl.contacts.updated_since_filter(datetime.now(UTC) + timedelta(days=1))
    assert list(ghl.contacts.search(filters=[since])) == []


def test_opportunity_lifecycle(ghl):
    pipeline, stage = _pipeline(ghl)
    contact = ghl.contacts.upsert({"email": "owner@example.com", "firstName": "Olive"}).contact
    fields = {f.key: f.id for f in ghl.locations.custom_fields(model="opportunity")}
    opp = ghl.opportunities.create(
        {
            "pipelineId": pipeline.id,
            "pipelineStageId": stage.id,
            "contactId": contact.id,
            "name": "MLS-1001 — 12 Oak St",
            "monetaryValue": 245000,
            "customFields": [
                {"id": fields["deal_score"], "field_value": "93"},
                {"id": fields["mls_id"], "field_value": "MLS-1001"},
            ],
        }
    )
    assert opp.id and opp.contact_id == contact.id and opp.pipeline_id == pipeline.id
    fetched = ghl.opportunities.get(opp.id)  # {id, type, fieldValueNumber | fieldValueString}
    assert (
        fetched.field(fields["deal_score"]) == 93 and fetched.field(fields["mls_id"]) == "MLS-1001"
    )
    assert ghl.opportunities.get(opp.id).name == "MLS-1001 — 12 Oak St"
    hot = pipeline.stage_named("Hot Deal")
    assert ghl.opportunities.update(opp.id, {"pipelineStageId": hot.id}).pipeline_stage_id == hot.id
    assert ghl.opportunities.update_status(opp.id, "won") is True
    lagged = freeze_time(datetime.now(UTC) + timedelta(seconds=5))  # past GHL's search lag
    lagged.start()
    found = ghl.opportunities.find(
        contact_id=contact.id, pipeline_id=pipeline.id, name="MLS-1001 — 12 Oak St"
    )
    assert found.id == opp.id
    items, total = ghl.opportunities.search_page(pipeline_id=pipeline.id)
    assert total >= 1 and opp.id in {o.id for o in items}
    assert opp.id in {o.id for o in ghl.opportunities.search(q="MLS-1001")}
    lagged.stop()
    other = ghl.contacts.upsert({"email": "other@example.com"}).contact
    made = ghl.opportunities.create_once(
        {"pipelineId": pipeline.id, "contactId": other.id, "name": "Once"},
        find=lambda body: pytest.fail("no unknown outcome here, so no look"),
    )
    assert made.name == "Once" and made.contact_id == other.id
    upserted = ghl.opportunities.upsert(
        {"pipelineId": pipeline.id, "name": "Upserted deal", "status": "open", "id": opp.id}
    )
    assert upserted.opportunity.id == opp.id


def test_send_sms_uses_the_conversations_version(ghl, seeded_emulator):
    contact = ghl.contacts.upsert({"email": "buyer@example.com", "phone": "+15125550123"}).contact
    sent = ghl.conversations.send_sms(
        contact.id, "New deal: 12 Oak St, $245,000. Reply STOP to opt out"
    )
    assert sent.message_id and sent.conversation_id
    assert [m.body for m in seeded_emulator.state.messages if m.contact_id == contact.id] == [
        "New deal: 12 Oak St, $245,000. Reply STOP to opt out"
    ]


def test_conversation_reads_find_what_was_sent(ghl):
    contact = ghl.contacts.upsert({"email": "reader@example.com", "phone": "+15125550177"}).contact
    before = datetime.now(UTC) - timedelta(minutes=1)
    sent = ghl.conversations.send_sms(contact.id, "Deal A. Reply STOP to opt out")
    ghl.conversations.send_sms(contact.id, "Deal B. Reply STOP to opt out")
    conversations = ghl.conversations.search(contact_id=contact.id)
    assert [c.id for c in conversations] == [sent.conversation_id]
    page = ghl.conversations.messages(sent.conversation_id, limit=1)
    assert [m.body for m in page.messages] == ["Deal B. Reply STOP to opt out"]  # newest first
    later = ghl.conversations.messages(
        sent.conversation_id, limit=1, last_message_id=page.last_message_id
    )
    assert [m.body for m in later.messages] == ["Deal A. Reply STOP to opt out"]
    recent = list(ghl.conversations.recent_messages(contact.id, since=before))
    assert {m.body for m in recent} == {
        "Deal A. Reply STOP to opt out",
        "Deal B. Reply STOP to opt out",
    }
    assert (
        list(
            ghl.conversations.recent_messages(
                contact.id, since=datetime.now(UTC) + timedelta(hours=1)
            )
        )
        == []
    )


def test_recently_active_pages_conversations_by_their_latest_message(ghl):
    """Polling's read: conversations newest-first, paged by `startAfterDate` (epoch ms)."""
    first = ghl.contacts.upsert({"email": "early@example.com", "phone": "+15125550181"}).contact
    second = ghl.contacts.upsert({"email": "later@example.com", "phone": "+15125550182"}).contact
    ghl.conversations.send_sms(first.id, "Deal A. Reply STOP to opt out")
    ghl.conversations.send_sms(second.id, "Deal B. Reply STOP to opt out")
    page = ghl.conversations.recently_active(limit=1)
    assert [c.contact_id for c in page] == [second.id]
    assert page[0].last_message_date is not None
    older = ghl.conversations.recently_active(limit=5, start_after=page[0].last_message_date)
    assert [c.contact_id for c in older] == [first.id]


def test_every_client_method_is_exercised():
    """Runs last in this module: the tests above must cover every public resource method."""
    public = set()
    for group in ("contacts", "opportunities", "conversations", "locations", "users", "workflows"):
        cls = type(getattr(GHLClient(token="t" * 8, location_id="l"), group))
        for name, _member in inspect.getmembers(cls, inspect.isfunction):
            if (
                not name.startswith("_")
                and name not in dir(Resource)
                and not isinstance(inspect.getattr_static(cls, name), staticmethod)
            ):
                public.add(f"{group}.{name}")
    assert public - EXERCISED == set()


def test_vendored_openapi_files_match_shared():
    """The emulator carries GHL's files verbatim; they must not drift from ../shared."""
    shared = Path(__file__).resolve().parents[2] / "shared" / "ghl-api"
    vendored = Path(__file__).resolve().parents[1] / "sandbox" / "ghl_emulator" / "openapi"
    if not shared.exists():
        pytest.fail(f"expected the shared reference files at {shared}")
    for sub in ("apps", "common"):
        cmp = filecmp.dircmp(shared / sub, vendored / sub)
        assert not cmp.diff_files and not cmp.left_only, (sub, cmp.diff_files, cmp.left_only)
