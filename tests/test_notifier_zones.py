"""Zones through the real notifier and the GHL emulator: territory buyers are texted on their
own clock, and a contact whose GHL zone is "EST" is held by their New York phone's EDT."""

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
    ("phone", "zone", "night_utc", "morning_utc"),
    [
        # 22:00 local the evening before, then the local 08:00 (no DST in any of them).
        ("+17875550101", "America/Puerto_Rico", "2027-07-16 02:00", "2027-07-16 12:00"),
        ("+16714720101", "Pacific/Guam", "2027-07-15 12:00", "2027-07-15 22:00"),
        ("+13407740101", "America/St_Thomas", "2027-07-16 02:00", "2027-07-16 12:00"),
    ],
)
def test_a_territory_buyer_is_texted_at_their_own_0800(
    notify_world, phone, zone, night_utc, morning_utc
):
    world = notify_world
    buyer = world.add_buyer(phone=phone)
    night = frozen_now(night_utc)
    plan, _ = world.notify(world.facts("MLS1"), [buyer], now=night)
    (entry,) = plan.entries
    assert entry.group == "deferred", entry.reason
    assert entry.zone == zone
    morning = datetime.fromisoformat(morning_utc).replace(tzinfo=UTC)
    assert entry.send_at == morning and entry.local_send_at.hour == 8
    world.deliver_all(night)
    assert world.texts(buyer) == []
    world.deliver_all(frozen_now(morning_utc))
    assert len(world.texts(buyer)) == 1
    assert world.item(buyer, "MLS1").status == OutboxStatus.SENT


def test_an_est_contact_with_a_new_york_phone_is_not_texted_at_2130_edt(notify_world):
    world = notify_world
    trusting = world.add_buyer(first_name="Eve", area_code="212", timezone="EST")
    plain = world.add_buyer(first_name="Pat", area_code="212")
    evening = frozen_now("2027-07-16 00:30")  # 20:30 EDT, 19:30 EST: both clocks allow it
    world.notify(world.facts("MLS1"), [trusting, plain], now=evening)
    world.deliver_all(evening)
    assert len(world.texts(trusting)) == 1 and len(world.texts(plain)) == 1

    late = frozen_now("2027-07-16 01:30")  # 21:30 EDT: quiet in New York, 20:30 "EST"
    plan = world.plan(world.facts("MLS2"), [trusting], now=late)
    (entry,) = plan.entries
    assert entry.group == "deferred", entry.reason
    assert "fixed offset" in entry.reason
    # 08:00 EST is 09:00 EDT: the stricter clock opens the window.
    assert entry.send_at == datetime(2027, 7, 16, 13, 0, tzinfo=UTC)
