"""Who buys this property? One property against every buyer, exact and fast.

`BuyerIndex.match` returns exactly what `match_naively` (score every buyer, keep those at or
above min_score, sort by score desc then contact_id asc, slice a page) returns; tests compare the
two on random data. It gets there without a Python step per buyer, as follows.

Why it is exact. Three components are all-or-nothing: location (L), property type (T) and
bedrooms (D). For a property, each buyer has a *pattern* P = which of L, T, D it earns, worth
w(P) points, plus budget points b in 0..Wb. Score = w(P) + b. The buyers split into the 8
patterns x 3 budget tiers: full (b = Wb), partial (0 < b < Wb) and zero (b = 0); every buyer is
in exactly one cell. In a full or zero cell every buyer has the same, known score; in a partial
cell scores differ and each buyer is scored one by one with `scoring.budget_points`. A cell is
kept iff its scores can reach min_score: with need = min_score - w(P), the full cell iff
need <= Wb, the partial cell's buyers with b >= max(1, need), the zero cell iff need <= 0.
Nothing else is dropped, so the kept cells hold exactly the buyers scoring >= min_score.
At the defaults (40/30/20/10, 70) only these survive: L+T+D with b >= 10, L+T with b >= 20,
L+D with b >= 30, L alone or T+D with full budget. No cell survives without L or full budget.
(So at the defaults a buyer in another market whose budget, type and bedrooms all fit scores
exactly 70 and matches: a consequence of the seed's weights, not of the index.)

How the cells are found. Each cell is a set of buyers, held as a bitset (bit s = the buyer in
slot s; see `matching.bitsets`): L is the union of the inverted indexes ZIP -> buyers and
city -> buyers, T is "no type preference" | type -> buyers, D is "no minimum" | every
minimum <= beds. "b >= k" is a 2-D condition on (budget_min, budget_max) that
`scoring.budget_thresholds` turns into `budget_min <= lo and budget_max >= hi`, answered by two
`BoundIndex` range structures. These are the conditions the component functions of `scoring`
apply, so the cells match the scores; the per-buyer work left is the partial cells (buyers within
10 % of a budget bound) and scoring the page. A low min_score needs no fallback: it only keeps
more cells, still counted with bitset popcounts.

Ranking. Scores are at most 101 levels; levels are visited from 100 down, whole levels before
`offset` are only counted, and only the levels that hold the page are listed and ordered by
contact_id (heapq.nsmallest), then the page's buyers are scored in full for their reasons.
"""

from __future__ import annotations

import heapq
import threading
from collections.abc import Iterable, Iterator
from typing import Any, Protocol

from matching.bitsets import BitsetMap, SlotGroups, slots_of
from matching.budget_index import BoundIndex
from matching.cells import BudgetTiers, Level, score_levels
from matching.models import BuyBox, BuyerProfile, MatchPage, MatchResult, PropertyFacts
from matching.scoring import (
    DEFAULT_MIN_SCORE,
    DEFAULT_WEIGHTS,
    PropertyKeys,
    Weights,
    score,
    score_keys,
)

_MIN_DENSE = 256


class _SlotIndex(Protocol):
    """One of the index's key -> slots maps (`BitsetMap`, `SlotGroups`, `BoundIndex`)."""

    def add(self, key: Any, slot: int, /) -> None: ...

    def discard(self, key: Any, slot: int, /) -> None: ...


class BuyerIndex:
    """Buyers indexed for matching; kept current with `add`, `remove` and `replace`.

    `index = BuyerIndex.build(buyers)`; `index.match(facts, limit=20).results`.
    One lock covers updates and matches, so the sync job may update the index while Slack
    handlers match in other threads.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buyers: list[BuyerProfile | None] = []
        self._slot_of: dict[str, int] = {}
        self._free: list[int] = []
        self._live = 0
        self._zips: SlotGroups[str] = SlotGroups()
        self._cities: SlotGroups[str] = SlotGroups()
        self._types: BitsetMap[str | None] = BitsetMap()  # None: takes any type
        self._min_beds: BitsetMap[int | None] = BitsetMap()  # None: no minimum
        self._budget_min = BoundIndex()
        self._budget_max = BoundIndex()

    @classmethod
    def build(cls, buyers: Iterable[BuyerProfile]) -> BuyerIndex:
        """An index of these buyers (contact ids must be unique)."""
        index = cls()
        index._load(list(buyers))
        return index

    def __len__(self) -> int:
        return len(self._slot_of)

    def __contains__(self, contact_id: object) -> bool:
        return contact_id in self._slot_of

    def get(self, contact_id: str) -> BuyerProfile | None:
        """The indexed profile of a contact, if any."""
        slot = self._slot_of.get(contact_id)
        return None if slot is None else self._buyers[slot]

    def add(self, buyer: BuyerProfile) -> None:
        """Index a new buyer; a contact id already indexed is a ValueError (use `replace`)."""
        with self._lock:
            self._add(buyer)

    def remove(self, buyer: BuyerProfile | str) -> bool:
        """Drop a buyer (or contact id) from the index; False if it was not indexed."""
        with self._lock:
            return self._remove(buyer if isinstance(buyer, str) else buyer.contact_id)

    def replace(self, buyer: BuyerProfile) -> None:
        """Index a buyer's current profile, whether or not it was indexed before (sync)."""
        with self._lock:
            self._remove(buyer.contact_id)
            self._add(buyer)

    def _add(self, buyer: BuyerProfile) -> None:
        if buyer.contact_id in self._slot_of:
            raise ValueError(f"buyer {buyer.contact_id} is already indexed")
        slot = self._free.pop() if self._free else len(self._buyers)
        if slot == len(self._buyers):
            self._buyers.append(buyer)
            self._tune()
        else:
            self._buyers[slot] = buyer
        self._slot_of[buyer.contact_id] = slot
        self._live |= 1 << slot
        for index, key in self._postings(buyer.buy_box):
            index.add(key, slot)

    def _postings(self, box: BuyBox) -> Iterator[tuple[_SlotIndex, Any]]:
        """Every (index, key) a buyer's slot is filed under: `_add` files, `_remove` unfiles."""
        yield from ((self._zips, zip_code) for zip_code in box.zips)
        yield from ((self._cities, city) for city in box.cities)
        yield from ((self._types, type_key) for type_key in box.property_types or (None,))
        yield self._min_beds, box.min_bedrooms
        yield self._budget_min, box.budget_min
        yield self._budget_max, box.budget_max

    def _remove(self, contact_id: str) -> bool:
        slot = self._slot_of.pop(contact_id, None)
        if slot is None:
            return False
        indexed = self._buyers[slot]
        assert indexed is not None  # a slot in _slot_of always holds its buyer
        for index, key in self._postings(indexed.buy_box):
            index.discard(key, slot)
        self._live ^= 1 << slot
        self._buyers[slot] = None
        self._free.append(slot)
        return True

    def match(
        self,
        prop: PropertyFacts,
        *,
        min_score: int = DEFAULT_MIN_SCORE,
        limit: int = 20,
        offset: int = 0,
        weights: Weights = DEFAULT_WEIGHTS,
    ) -> MatchPage:
        """The buyers scoring at least min_score, best first, one page of them.

        `index.match(facts, limit=10).results[0].explain()` -> "100/100 — budget 40/40: ..."
        """
        if limit < 0 or offset < 0:
            raise ValueError("limit and offset must not be negative")
        keys = PropertyKeys.of(prop)
        with self._lock:
            levels = self._levels(keys, weights=weights, min_score=min_score)
            total = sum(level.count for level in levels.values())
            results = self._page(keys, levels, offset=offset, limit=limit, weights=weights)
        return MatchPage(tuple(results), total, offset, limit)

    def _levels(self, keys: PropertyKeys, *, weights: Weights, min_score: int) -> dict[int, Level]:
        typed = self._types.get(None)
        if keys.property_type is not None:
            typed |= self._types.get(keys.property_type)
        bedded = self._min_beds.get(None)
        for minimum, bits in self._min_beds.items():
            if minimum is not None and keys.beds is not None and minimum <= keys.beds:
                bedded |= bits
        budget = None
        if keys.price is not None:
            budget = BudgetTiers(
                price=keys.price,
                weight=weights.budget,
                budget_min=self._budget_min,
                budget_max=self._budget_max,
                box_of=lambda slot: self._profile(slot).buy_box,
            )
        return score_levels(
            live=self._live,
            located=self._zips.bits(keys.zip) | self._cities.bits(keys.city),
            typed=typed,
            bedded=bedded,
            budget=budget,
            weights=weights,
            min_score=min_score,
        )

    def _page(
        self,
        keys: PropertyKeys,
        levels: dict[int, Level],
        *,
        offset: int,
        limit: int,
        weights: Weights,
    ) -> list[MatchResult]:
        end = offset + limit
        seen = 0
        page: list[MatchResult] = []
        for points in sorted(levels, reverse=True):
            if seen >= end:
                break
            level = levels[points]
            count = level.count
            if seen + count > offset:
                slots = slots_of(level.bits) + level.scored
                ordered = heapq.nsmallest(end - seen, slots, key=self._contact_id)
                page.extend(
                    score_keys(keys, self._profile(slot), weights)
                    for slot in ordered[max(0, offset - seen) :]
                )
            seen += count
        return page

    def _contact_id(self, slot: int) -> str:
        return self._profile(slot).contact_id

    def _profile(self, slot: int) -> BuyerProfile:
        buyer = self._buyers[slot]
        assert buyer is not None  # only live slots are ever set in a cell
        return buyer

    def _load(self, buyers: list[BuyerProfile]) -> None:
        types: dict[str | None, list[int]] = {}
        min_beds: dict[int | None, list[int]] = {}
        for slot, buyer in enumerate(buyers):
            if self._slot_of.setdefault(buyer.contact_id, slot) != slot:
                raise ValueError(f"buyer {buyer.contact_id} appears twice")
            box = buyer.buy_box
            for zip_code in box.zips:
                self._zips.add(zip_code, slot)
            for city in box.cities:
                self._cities.add(city, slot)
            for type_key in box.property_types or (None,):
                types.setdefault(type_key, []).append(slot)
            min_beds.setdefault(box.min_bedrooms, []).append(slot)
        self._buyers = list(buyers)
        self._live = (1 << len(buyers)) - 1
        self._types.load(types)
        self._min_beds.load(min_beds)
        self._budget_min.load((b.buy_box.budget_min, s) for s, b in enumerate(buyers))
        self._budget_max.load((b.buy_box.budget_max, s) for s, b in enumerate(buyers))
        self._tune()

    def _tune(self) -> None:
        # A group keeps its own bitset from 1/64 of the slots (but at least 256 members): that
        # bounds those bitsets to 128 per membership-per-buyer, i.e. memory linear in buyers.
        dense_at = max(_MIN_DENSE, len(self._buyers) // 64)
        self._zips.dense_at = self._cities.dense_at = dense_at
        self._budget_min.set_dense_at(dense_at)
        self._budget_max.set_dense_at(dense_at)


def match_naively(
    prop: PropertyFacts,
    buyers: Iterable[BuyerProfile],
    *,
    min_score: int = DEFAULT_MIN_SCORE,
    limit: int = 20,
    offset: int = 0,
    weights: Weights = DEFAULT_WEIGHTS,
) -> MatchPage:
    """The reference `BuyerIndex.match` must equal: `score` every buyer, filter, sort, slice."""
    matched = [r for b in buyers if (r := score(prop, b, weights)).score >= min_score]
    matched.sort(key=lambda r: (-r.score, r.contact_id))
    return MatchPage(tuple(matched[offset : offset + limit]), len(matched), offset, limit)


__all__ = ["BuyerIndex", "match_naively"]
