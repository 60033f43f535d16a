"""One side of buyers' budgets (all minimums or all maximums) by amount, for `BuyerIndex`.

Answers "which buyers have a bound <= v (or >= v), or no bound at all" as a bitset, for any v,
while buyers come and go. Amounts fall into fixed bands 2 % wide ($10,000 to $1B; everything
below is one band, everything above another), bands into blocks of 24. A query ORs the whole
blocks and whole bands on the passing side of v and checks the amounts in v's own band one by
one; the band function is monotone (`bisect` over sorted edges), so a band below v's band only
holds amounts below v. Cost: at most ~25 block ORs, 23 band ORs and v's band, whatever the
number of buyers; the bands are fixed, so adding a buyer touches one band and one block.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable

from matching.bitsets import BitsetMap, SlotGroups, bits_from_slots

_BLOCK = 24


def _edges(start: int = 10_000, stop: int = 1_000_000_000, ratio: float = 1.02) -> list[int]:
    edges = [start]
    while edges[-1] < stop:
        edges.append(max(edges[-1] + 1, round(edges[-1] * ratio)))
    return edges


_EDGES = _edges()


def band_of(amount: int) -> int:
    """The band an amount falls in (monotone: a <= b implies band_of(a) <= band_of(b))."""
    return bisect_right(_EDGES, amount)


class BoundIndex:
    """Budget bounds of one side, for `at_most` / `at_least` queries as bitsets."""

    __slots__ = ("_amounts", "_band_amounts", "_bands", "_blocks", "open")

    def __init__(self) -> None:
        self.open = 0  # buyers without this bound: they pass every query
        self._bands: BitsetMap[int] = BitsetMap()
        self._blocks: BitsetMap[int] = BitsetMap()
        self._amounts: SlotGroups[int] = SlotGroups()
        self._band_amounts: dict[int, set[int]] = {}

    def set_dense_at(self, members: int) -> None:
        """Group size from which an amount keeps its own bitset (see `SlotGroups`)."""
        self._amounts.dense_at = members

    def add(self, amount: int | None, slot: int) -> None:
        """Record a buyer's bound (None: no bound)."""
        if amount is None:
            self.open |= 1 << slot
            return
        band = band_of(amount)
        self._bands.add(band, slot)
        self._blocks.add(band // _BLOCK, slot)
        self._amounts.add(amount, slot)
        self._band_amounts.setdefault(band, set()).add(amount)

    def discard(self, amount: int | None, slot: int) -> None:
        """Forget a buyer's bound; the caller passes the amount it added."""
        if amount is None:
            self.open ^= 1 << slot
            return
        band = band_of(amount)
        self._bands.discard(band, slot)
        self._blocks.discard(band // _BLOCK, slot)
        self._amounts.discard(amount, slot)
        if amount not in self._amounts:
            amounts = self._band_amounts[band]
            amounts.discard(amount)
            if not amounts:
                del self._band_amounts[band]

    def load(self, bounds: Iterable[tuple[int | None, int]]) -> None:
        """Record many (amount, slot) pairs at once, converting each band to bits once."""
        open_slots: list[int] = []
        bands: dict[int, list[int]] = {}
        blocks: dict[int, list[int]] = {}
        for amount, slot in bounds:
            if amount is None:
                open_slots.append(slot)
                continue
            band = band_of(amount)
            bands.setdefault(band, []).append(slot)
            blocks.setdefault(band // _BLOCK, []).append(slot)
            self._amounts.add(amount, slot)
            self._band_amounts.setdefault(band, set()).add(amount)
        self.open |= bits_from_slots(open_slots)
        self._bands.load(bands)
        self._blocks.load(blocks)

    def at_most(self, limit: int) -> int:
        """Buyers whose bound is <= limit, or who have none."""
        band = band_of(limit)
        block = band // _BLOCK
        bits = self.open
        for key, block_bits in self._blocks.items():
            if key < block:
                bits |= block_bits
        for key in range(block * _BLOCK, band):
            bits |= self._bands.get(key)
        edge = [a for a in self._band_amounts.get(band, ()) if a <= limit]
        return bits | self._amounts.bits(*edge) if edge else bits

    def at_least(self, limit: int) -> int:
        """Buyers whose bound is >= limit, or who have none."""
        band = band_of(limit)
        block = band // _BLOCK
        bits = self.open
        for key, block_bits in self._blocks.items():
            if key > block:
                bits |= block_bits
        for key in range(band + 1, (block + 1) * _BLOCK):
            bits |= self._bands.get(key)
        edge = [a for a in self._band_amounts.get(band, ()) if a >= limit]
        return bits | self._amounts.bits(*edge) if edge else bits
