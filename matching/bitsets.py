"""Sets of buyer slots as Python ints, for `BuyerIndex`.

Bit `s` of an int stands for the buyer in slot `s`. For 100,000 buyers a set is a 12.5 kB int;
`&`, `|` and `bit_count()` on it run in C in a few microseconds, whatever the set's size, which
is what lets one property be matched against every buyer without a Python loop per buyer.
Clearing a bit uses `^` on a bit known to be set: `x & ~bit` builds a negative int and is ten
times slower.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable
from typing import Generic, TypeVar

_NONZERO_BYTE = re.compile(rb"[^\x00]")
_BITS_OF_BYTE = tuple(tuple(i for i in range(8) if byte >> i & 1) for byte in range(256))
_MIN_DENSE = 256

K = TypeVar("K", bound=Hashable)


def bits_from_slots(slots: Iterable[int]) -> int:
    """The bitset of some slots: `bits_from_slots([0, 3]) == 0b1001`."""
    slots = slots if isinstance(slots, list | set | frozenset | tuple) else list(slots)
    if not slots:
        return 0
    buffer = bytearray((max(slots) >> 3) + 1)
    for slot in slots:
        buffer[slot >> 3] |= 1 << (slot & 7)
    return int.from_bytes(buffer, "little")


def slots_of(bits: int) -> list[int]:
    """The slots set in a bitset, ascending: `slots_of(0b1001) == [0, 3]`."""
    data = bits.to_bytes((bits.bit_length() + 7) >> 3, "little")
    slots: list[int] = []
    # The regex skips zero bytes in C; sparse sets cost what they hold, not 12.5 kB of bytes.
    for found in _NONZERO_BYTE.finditer(data):
        base = found.start() << 3
        slots.extend(base + bit for bit in _BITS_OF_BYTE[data[found.start()]])
    return slots


class BitsetMap(Generic[K]):
    """A few keys (property types, bedroom minimums, budget bands), each with a bitset."""

    __slots__ = ("_bits",)

    def __init__(self) -> None:
        self._bits: dict[K, int] = {}

    def add(self, key: K, slot: int) -> None:
        """Set the slot's bit under a key."""
        self._bits[key] = self._bits.get(key, 0) | (1 << slot)

    def discard(self, key: K, slot: int) -> None:
        """Clear the slot's bit under a key; the caller knows it is set."""
        bits = self._bits[key] ^ (1 << slot)
        if bits:
            self._bits[key] = bits
        else:
            del self._bits[key]

    def get(self, key: K) -> int:
        """The bitset under a key (0 when none)."""
        return self._bits.get(key, 0)

    def items(self) -> Iterable[tuple[K, int]]:
        """Keys and their non-empty bitsets."""
        return self._bits.items()

    def load(self, groups: dict[K, list[int]]) -> None:
        """Set many bits at once (building an index: one conversion per key, not per bit)."""
        for key, slots in groups.items():
            self._bits[key] = self._bits.get(key, 0) | bits_from_slots(slots)


class SlotGroups(Generic[K]):
    """Many keys (ZIPs, cities, budget amounts), each with the set of slots under it.

    Small groups stay Python sets and become bitsets when asked for; a group that grows to
    `dense_at` members also keeps its bitset, so hot keys (a metro's main city, a round budget
    like $200,000) cost one lookup per query. Only groups of at least dense_at / 2 members keep
    a bitset, so their memory is bounded by 2 * memberships / dense_at bitsets.
    """

    __slots__ = ("_dense", "_sets", "dense_at")

    def __init__(self) -> None:
        self._sets: dict[K, set[int]] = {}
        self._dense: dict[K, int] = {}
        self.dense_at = _MIN_DENSE

    def __len__(self) -> int:
        return len(self._sets)

    def add(self, key: K, slot: int) -> None:
        """Put a slot under a key."""
        self._sets.setdefault(key, set()).add(slot)
        if key in self._dense:
            self._dense[key] |= 1 << slot

    def discard(self, key: K, slot: int) -> None:
        """Take a slot from under a key; the caller knows it is there."""
        members = self._sets[key]
        members.remove(slot)
        if key in self._dense:
            self._dense[key] ^= 1 << slot
            if len(members) < self.dense_at // 2:
                del self._dense[key]
        if not members:
            del self._sets[key]

    def __contains__(self, key: object) -> bool:
        return key in self._sets

    def bits(self, *keys: K | None) -> int:
        """The union of the groups under some keys, as a bitset."""
        union = 0
        loose: list[int] = []
        for key in keys:
            if key is None:
                continue
            members = self._sets.get(key)
            if not members:
                continue
            dense = self._dense.get(key)
            if dense is None and len(members) >= self.dense_at:
                dense = self._dense[key] = bits_from_slots(members)
            if dense is None:
                loose.extend(members)
            else:
                union |= dense
        return union | bits_from_slots(loose) if loose else union
