"""Planning and recording the intent: who is texted now, who later (and when), who never, and
who already was. The time comes from freezegun or from `now=`; nothing here sleeps."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from freezegun import freeze_time

from store.models import OutboxStatus


def frozen_now(stamp: str) -> datetime:
    """`datetime.now(UTC)` under freezegun: the way a caller without a clock gets the time."""
    with freeze_time(stamp):
        return datetime.now(UTC)


@pytest.mark.parametrize(
    ("label", "buyer", "at_utc", "group", "send_at_utc", "local"),
    [
        # 01:30 EST on the US spring-forward day: 08:00 is already EDT, so 12:00 UTC, not 13:00.
        (
            "dst day, New York",
            {"area_code": "212"},
            "2027-03-14 06:30",
            "deferred",
            "2027-03-14 12:00",
            "2027-03-14 08:00-04:00",
        ),
        # The day before, 08:00 is still EST.
        (
            "winter, New York",
            {"area_code": "212"},
            "2027-03-13 06:30",
            "deferred",
            "2027-03-13 13:00",
            "2027-03-13 08:00-05:00",
        ),
        # A zone ahead of UTC (the contact's own timezone wins over the 212 area code):
        # 22:00 in Tokyo is quiet; 08:00 Tokyo is 23:00 UTC on the same UTC date.
        (
            "Tokyo, ahead of UTC",
            {"area_code": "212", "timezone": "Asia/Tokyo"},
            "2027-01-15 13:00",
            "deferred",
            "2027-01-15 23:00",
            "2027-01-16 08:00+09:00",
        ),
        # Phoenix keeps MST all year: 07:30 local in July is quiet, 08:00 is 15:00 UTC.
        (
            "Phoenix, no DST",
            {"area_code": "602"},
            "2027-07-15 14:30",
            "deferred",
            "2027-07-15 15:00",
            "2027-07-15 08:00-07:00",
        ),
        # 20:30 in Florida: past the state's 20:00 end (Fla. Stat. 501.616), next morning.
        (
            "Florida 20:00",
            {"area_code": "813", "state": "FL"},
            "2027-01-16 01:30",
            "deferred",
            "2027-01-16 13:00",
            "2027-01-16 08:00-05:00",
        ),
        # The same 20:30 in New York is inside the default 08:00-21:00 window.
        (
            "New York 20:30",
            {"area_code": "212", "state": "NY"},
            "2027-01-16 01:30",
            "send_now",
            "2027-01-16 01:30",
            "2027-01-15 20:30-05:00",
        ),
        # 208 spans Boise and Los Angeles: 08:00 must have come in both, so LA's 08:00.
        (
            "208, two zones",
            {"area_code": "208"},
            "2027-01-15 14:30",
            "deferred",
            "2027-01-15 16:00",
            "2027-01-15 09:00-07:00",
        ),
    ],
)
def test_quiet_hours_defer_by_the_buyers_own_clock(
    notify_world, label, buyer, at_utc, group, send_at_utc, local
):
    contact = notify_world.add_buyer(**buyer)
    now = frozen_now(at_utc)
    plan = notify_world.plan(notify_world.facts("MLS1"), [contact], now=now)
    (entry,) = plan.entries
    assert entry.group == group, entry.reason
    assert entry.send_at == datetime.fromisoformat(send_at_utc).replace(tzinfo=UTC)
    assert entry.local_send_at == datetime.fromisoformat(local)
    if group == "deferred":
        assert "quiet hours" in entry.reason and f"{entry.send_at:%H:%M} UTC" in entry.reason


def test_enqueue_writes_one_item_per_buyer_in_the_plans_state(notify_world):
    world = notify_world
    now_ok = world.add_buyer(first_name="Ana", area_code="212")
    later = world.add_buyer(first_name="Ben", area_code="310")  # 07:00 in Los Angeles
    no_consent = world.add_buyer(first_name="Cy", tags=("active_buyer",))
    dnd = world.add_buyer(first_name="Di", dnd_sms=True)
    opted_out = world.add_buyer(first_name="Ed", opted_out=True)
    no_phone = world.add_buyer(first_name="Flo", phone=None)
    prop = world.facts("MLS7")
    now = frozen_now("2027-01-15 15:00")
    plan, report = world.notify(
        prop, [now_ok, later, no_consent, dnd, opted_out, no_phone, "c_unknown"], now=now
    )
    assert [e.contact_id for e in plan.send_now] == [now_ok]
    assert [e.contact_id for e in plan.deferred] == [later]
    excluded = {e.contact_id: e.code for e in plan.excluded}
    assert excluded == {
        no_consent: "no_opt_in",
        dnd: "dnd_sms",
        opted_out: "opted_out",
        no_phone: "no_phone",
        "c_unknown": "unknown_buyer",
    }
    assert report.queued == [now_ok] and report.deferred == [later]
    assert sorted(report.excluded) == sorted(excluded)

    sent_item = world.item(now_ok, "MLS7")
    assert sent_item.status == OutboxStatus.PENDING and sent_item.kind == "sms"
    assert sent_item.payload["message"].startswith("DealFinder: Hi Ana, new deal: 12 Oak St")
    assert sent_item.payload["purpose"] == "buyer_match" and sent_item.payload["score"] == 100
    assert sent_item.payload["reasons"][0].startswith("budget 40/40")
    assert len(sent_item.payload["message"]) <= 320
    deferred_item = world.item(later, "MLS7")
    assert deferred_item.status == OutboxStatus.DEFERRED
    assert deferred_item.not_before == datetime(2027, 1, 15, 16, 0, tzinfo=UTC)
    # Never silently dropped: each exclusion is an item with its reason.
    for contact_id, code in excluded.items():
        item = world.item(contact_id, "MLS7")
        assert item.status == OutboxStatus.EXCLUDED
        assert item.last_error.startswith(f"{code}: ")
    assert world.texts() == []  # enqueueing sends nothing


def test_a_property_already_sent_is_skipped_and_never_sent_twice(notify_world):
    world = notify_world
    buyer = world.add_buyer()
    prop = world.facts("MLS1")
    now = frozen_now("2027-01-15 15:00")
    world.notify(prop, [buyer], now=now)
    world.deliver_all(now)
    later = frozen_now("2027-01-15 16:00")
    plan, report = world.notify(prop, [buyer], now=later)  # the same deal processed again
    (entry,) = plan.entries
    assert entry.group == "already" and entry.code == "recorded_sent"
    assert report.skipped == [buyer] and report.item_ids == {}
    world.deliver_all(later)
    assert len(world.texts(buyer)) == 1


def test_enqueue_twice_from_one_plan_creates_nothing_the_second_time(notify_world):
    world = notify_world
    buyer = world.add_buyer()
    prop = world.facts("MLS1")
    now = frozen_now("2027-01-15 15:00")
    plan, first = world.notify(prop, [buyer], now=now)
    from services.notify.notifier import enqueue_notifications

    again = enqueue_notifications(engine=world.engine, plan=plan, property=prop, now=now)
    assert first.queued == [buyer] and again.skipped == [buyer] and again.queued == []
    assert len(world.items(kind="sms")) == 1


def test_the_plan_counts_texts_already_sent_against_the_cap(notify_world):
    world = notify_world
    buyer = world.add_buyer()
    start = datetime(2027, 1, 15, 14, 0, tzinfo=UTC)
    for hour, mls in enumerate(("A", "B", "C")):
        moment = start.replace(hour=14 + hour)
        world.notify(world.facts(mls), [buyer], now=moment)
        world.deliver_all(moment)
    plan = world.plan(world.facts("D"), [buyer], now=start.replace(hour=17))
    (entry,) = plan.deferred
    assert entry.code == "daily_cap"
    assert entry.send_at == datetime(2027, 1, 16, 14, 0, tzinfo=UTC)  # the first ages out


def test_plan_as_dict_groups_for_json(notify_world):
    world = notify_world
    buyer = world.add_buyer(area_code="310")
    plan = world.plan(world.facts("MLS1"), [buyer], now=frozen_now("2027-01-15 12:00"))
    data = plan.as_dict()
    assert set(data["groups"]) == {"send_now", "deferred", "excluded", "already"}
    (entry,) = data["groups"]["deferred"]
    assert entry["send_at_utc"] == "2027-01-15T16:00:00+00:00"
    assert entry["send_at_local"] == "2027-01-15T08:00:00-08:00"
    assert entry["zone"] == "America/Los_Angeles"


def test_a_property_without_a_price_is_excluded_with_the_reason(notify_world):
    world = notify_world
    buyer = world.add_buyer()
    plan = world.plan(world.facts("MLS1", price=None), [buyer], now=frozen_now("2027-01-15 15:00"))
    (entry,) = plan.excluded
    assert entry.code == "message" and "list price" in entry.reason
