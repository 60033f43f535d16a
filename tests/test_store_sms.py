"""The SMS cap's rolling window on both engines: a slot frees exactly one window after it was
taken, released slots free at once, confirmed ones never. Concurrency: test_store_concurrency."""

from datetime import UTC, datetime, timedelta

from freezegun import freeze_time

from store import sms
from store.db import session_scope
from store.types import utcnow

T0 = datetime(2024, 6, 1, 8, 0, tzinfo=UTC)


def reserve(engine, contact_id="c1", cap=3, **kw):
    with session_scope(engine) as session:
        return sms.reserve_sms_slot(
            session=session, contact_id=contact_id, now=utcnow(), cap=cap, **kw
        )


def test_cap_per_contact(engine):
    with freeze_time(T0):
        slots = [reserve(engine, mls_id=f"M{i}", outbox_id=i) for i in range(4)]
        other = reserve(engine, contact_id="c2")
    assert [s is not None for s in slots] == [True, True, True, False]
    assert (slots[0].contact_id, slots[0].mls_id, slots[0].outbox_id) == ("c1", "M0", 0)
    assert slots[0].sent_at == T0 and slots[0].message_id is None
    assert other is not None


def test_a_slot_frees_exactly_one_window_after_it_was_taken(engine):
    with freeze_time(T0) as clock:
        for _ in range(3):
            assert reserve(engine) is not None
            clock.tick(timedelta(hours=1))
        # Full since T0+2h; the T0 slot is the first to age out.
        with session_scope(engine) as session:
            free_at = sms.next_slot_free_at(session=session, contact_id="c1", now=utcnow(), cap=3)
        assert free_at == T0 + timedelta(hours=24)
        clock.move_to(free_at - timedelta(microseconds=1))
        assert reserve(engine) is None
        with session_scope(engine) as session:
            assert sms.sms_count(session=session, contact_id="c1", now=utcnow()) == 3
        clock.move_to(free_at)
        with session_scope(engine) as session:
            assert sms.sms_count(session=session, contact_id="c1", now=utcnow()) == 2
            assert (
                sms.next_slot_free_at(session=session, contact_id="c1", now=utcnow(), cap=3) is None
            )
        assert reserve(engine) is not None
        assert reserve(engine) is None


def test_next_slot_free_at_when_over_the_cap(engine):
    # A lowered cap (or slots from before the cap was lowered) needs several to age out.
    with freeze_time(T0) as clock:
        for _ in range(4):
            reserve(engine, cap=10)
            clock.tick(timedelta(minutes=10))
        with session_scope(engine) as session:
            free_at = sms.next_slot_free_at(session=session, contact_id="c1", now=utcnow(), cap=2)
    assert free_at == T0 + timedelta(minutes=20, hours=24)  # the 3rd oldest ages out


def test_custom_window(engine):
    window = timedelta(hours=1)
    with freeze_time(T0) as clock:
        assert reserve(engine, cap=1, window=window) is not None
        clock.tick(timedelta(minutes=59))
        assert reserve(engine, cap=1, window=window) is None
        clock.tick(timedelta(minutes=1))
        assert reserve(engine, cap=1, window=window) is not None


def test_release_frees_an_unconfirmed_slot_only(engine):
    with freeze_time(T0):
        kept, failed = reserve(engine, cap=2), reserve(engine, cap=2)
        assert reserve(engine, cap=2) is None
        with session_scope(engine) as session:
            assert sms.confirm_sms_slot(session=session, slot_id=kept.id, message_id="msg1")
            assert not sms.release_sms_slot(session=session, slot_id=kept.id)  # GHL sent it
            assert sms.release_sms_slot(session=session, slot_id=failed.id)
            assert not sms.release_sms_slot(session=session, slot_id=failed.id)
        again = reserve(engine, cap=2)
        assert again is not None and reserve(engine, cap=2) is None
        with session_scope(engine) as session:
            assert session.get(type(kept), kept.id).message_id == "msg1"
            assert not sms.confirm_sms_slot(session=session, slot_id=failed.id, message_id="x")


def test_zero_cap_allows_nothing(engine):
    with freeze_time(T0):
        assert reserve(engine, cap=0) is None
