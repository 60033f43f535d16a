"""The index's building blocks: bitset helpers, slot groups and the budget bound index."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matching.bitsets import BitsetMap, SlotGroups, bits_from_slots, slots_of
from matching.budget_index import BoundIndex, band_of


@settings(max_examples=200, deadline=None)
@given(st.sets(st.integers(0, 5_000)))
def test_slots_round_trip(slots: set[int]) -> None:
    bits = bits_from_slots(slots)
    assert bits == sum(1 << s for s in slots)
    assert slots_of(bits) == sorted(slots)


def test_bitset_map_add_discard_load() -> None:
    groups: BitsetMap[str] = BitsetMap()
    groups.add("condo", 3)
    groups.load({"condo": [5], "land": [1, 2]})
    assert groups.get("condo") == 0b101000
    groups.discard("condo", 3)
    groups.discard("condo", 5)
    assert groups.get("condo") == 0
    assert dict(groups.items()) == {"land": 0b110}


def test_slot_groups_turn_dense_and_back() -> None:
    groups: SlotGroups[str] = SlotGroups()
    groups.dense_at = 4
    for slot in range(6):
        groups.add("tampa", slot)
    groups.add("austin", 9)
    assert groups.bits("tampa") == 0b111111  # now kept as a bitset
    groups.add("tampa", 7)
    assert groups.bits("tampa", "austin", "nowhere", None) == 0b1010111111
    for slot in (0, 1, 2, 3, 4):  # below dense_at / 2: the bitset is dropped, the set remains
        groups.discard("tampa", slot)
    assert groups.bits("tampa") == (1 << 5) | (1 << 7)
    groups.discard("tampa", 5)
    groups.discard("tampa", 7)
    assert "tampa" not in groups and groups.bits("tampa") == 0


def test_bands_are_monotone() -> None:
    amounts = sorted(random.Random(3).randrange(0, 2 * 10**9) for _ in range(2_000))
    bands = [band_of(a) for a in [0, 1, 9_999, 10_000, 10_001, *amounts, 10**12]]
    assert bands == sorted(bands)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_bound_index_agrees_with_brute_force(data: st.DataObject) -> None:
    # Amounts cluster on a few values (as round budgets do) and spread over many bands.
    amount = st.one_of(
        st.none(),
        st.sampled_from([150_000, 200_000, 203_000, 250_000]),
        st.integers(0, 3_000_000),
        st.integers(10**9, 2 * 10**9),
    )
    bounds = data.draw(st.lists(amount, max_size=120))
    index = BoundIndex()
    index.set_dense_at(3)
    loaded = len(bounds) // 2
    index.load((a, s) for s, a in enumerate(bounds[:loaded]))
    for slot in range(loaded, len(bounds)):
        index.add(bounds[slot], slot)
    removed = data.draw(st.sets(st.integers(0, max(0, len(bounds) - 1))))
    for slot in removed & set(range(len(bounds))):
        index.discard(bounds[slot], slot)
    live = {s: a for s, a in enumerate(bounds) if s not in removed}
    for limit in data.draw(st.lists(st.integers(0, 2 * 10**9), min_size=1, max_size=8)):
        below = {s for s, a in live.items() if a is None or a <= limit}
        above = {s for s, a in live.items() if a is None or a >= limit}
        assert slots_of(index.at_most(limit)) == sorted(below)
        assert slots_of(index.at_least(limit)) == sorted(above)


@pytest.mark.parametrize("limit", [199_999, 200_000, 200_001, 203_000])
def test_bound_index_edges_within_one_band(limit: int) -> None:
    index = BoundIndex()
    for slot, amount in enumerate([199_999, 200_000, 200_001, 203_000, None]):
        index.add(amount, slot)
    amounts = [199_999, 200_000, 200_001, 203_000]
    assert slots_of(index.at_most(limit)) == [s for s, a in enumerate(amounts) if a <= limit] + [4]
    assert slots_of(index.at_least(limit)) == [s for s, a in enumerate(amounts) if a >= limit] + [4]
