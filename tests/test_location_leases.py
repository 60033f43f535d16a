"""Location leases between worker processes (issue 14): a fair share each, renewal, takeover
after a worker stops renewing, and letting go of locations that are no longer active."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from store.location_leases import LocationLeases, lease_holders

T0 = datetime(2027, 1, 15, 15, 0, tzinfo=UTC)
LOCATIONS = [f"loc_{i}" for i in range(10)]


def _workers(engine, *names: str) -> list[LocationLeases]:
    return [LocationLeases(engine, holder=name, lease_seconds=30) for name in names]


def test_three_workers_share_ten_locations_without_overlap(engine):
    w1, w2, w3 = _workers(engine, "w1", "w2", "w3")
    for worker in (w1, w2, w3):  # every worker says it is alive before the shares settle
        worker.cycle(active=LOCATIONS, now=T0)
    held = [w.cycle(active=LOCATIONS, now=T0 + timedelta(seconds=s)).held
            for s, w in ((10, w1), (10, w2), (10, w3))]  # fmt: skip
    # w1 took all ten alone at first and gives back what is above ceil(10 / 3) = 4.
    assert sorted(loc for h in held for loc in h) == LOCATIONS
    assert [len(h) for h in held] == [4, 4, 2]
    assert set(lease_holders(engine, now=T0 + timedelta(seconds=11)).values()) == {"w1", "w2", "w3"}


def test_a_worker_that_stops_renewing_loses_its_locations_after_the_lease(engine):
    w1, w2 = _workers(engine, "w1", "w2")
    w1.cycle(active=LOCATIONS, now=T0)
    w2.cycle(active=LOCATIONS, now=T0)
    first = w1.cycle(active=LOCATIONS, now=T0 + timedelta(seconds=1))
    assert len(first.held) == 5
    # w1 dies. Within the lease its locations stay its own...
    assert len(w2.cycle(active=LOCATIONS, now=T0 + timedelta(seconds=20)).held) == 5
    # ...after it, w2 is the only live worker and takes them all, knowing whose they were.
    later = w2.cycle(active=LOCATIONS, now=T0 + timedelta(seconds=41))
    assert later.held == LOCATIONS and later.live_workers == 1
    assert later.taken_over == {loc: "w1" for loc in first.held}


def test_an_inactive_location_is_let_go_in_one_cycle_and_release_all_frees_the_rest(engine):
    (w1,) = _workers(engine, "w1")
    assert w1.cycle(active=["loc_a", "loc_b"], now=T0).held == ["loc_a", "loc_b"]
    cycle = w1.cycle(active=["loc_a"], now=T0 + timedelta(seconds=10))
    assert cycle.held == ["loc_a"] and cycle.released == ["loc_b"]
    w1.release_all(now=T0 + timedelta(seconds=11))
    assert lease_holders(engine, now=T0 + timedelta(seconds=11)) == {"loc_a": None, "loc_b": None}


def test_a_lease_must_last_some_time(engine):
    with pytest.raises(ValueError, match="lease_seconds"):
        LocationLeases(engine, holder="w1", lease_seconds=0)
