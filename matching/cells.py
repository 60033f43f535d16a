"""The cell arithmetic behind `BuyerIndex.match`: buyers grouped by score, as bitsets.

Why this is exact is argued in `matching.index`; in short, buyers split into cells by which
all-or-nothing components they earn (location, type, bedrooms) and by budget tier (full,
partial, zero), every cell that can reach min_score is kept, and only partial-budget buyers are
scored one by one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from matching.bitsets import slots_of
from matching.budget_index import BoundIndex
from matching.models import BuyBox
from matching.scoring import Weights, budget_points, budget_thresholds


@dataclass(slots=True)
class Level:
    """The buyers with one score: whole cells as a bitset plus buyers scored one by one."""

    bits: int = 0
    scored: list[int] = field(default_factory=list)

    @property
    def count(self) -> int:
        """How many buyers have this score."""
        return self.bits.bit_count() + len(self.scored)


class BudgetTiers:
    """Which buyers earn at least k budget points for one list price (cached per k)."""

    def __init__(
        self,
        *,
        price: int,
        weight: int,
        budget_min: BoundIndex,
        budget_max: BoundIndex,
        box_of: Callable[[int], BuyBox],
    ) -> None:
        self._price = price
        self._weight = weight
        self._budget_min = budget_min
        self._budget_max = budget_max
        self._box_of = box_of
        self._cache: dict[int, int] = {}

    def at_least(self, points: int) -> int:
        """Bitset of buyers with budget points >= points (1 <= points <= weight)."""
        bits = self._cache.get(points)
        if bits is None:
            lo, hi = budget_thresholds(self._price, points, self._weight)
            bits = self._budget_min.at_most(lo) & self._budget_max.at_least(hi)
            self._cache[points] = bits
        return bits

    def points_of(self, slot: int) -> int:
        """The budget points of one buyer, exactly as `scoring` computes them."""
        box = self._box_of(slot)
        return budget_points(self._price, box.budget_min, box.budget_max, self._weight)


def score_levels(
    *,
    live: int,
    located: int,
    typed: int,
    bedded: int,
    budget: BudgetTiers | None,
    weights: Weights,
    min_score: int,
) -> dict[int, Level]:
    """Score -> buyers with that score, for every score >= min_score.

    `located`, `typed` and `bedded` are the bitsets of buyers earning the location, property
    type and bedroom points; `budget` is None when the list price is unknown (no budget points).
    """
    levels: dict[int, Level] = {}
    for loc_points, loc_bits in ((weights.location, located), (0, live ^ located)):
        for type_points, type_bits in ((weights.property_type, typed), (0, live ^ typed)):
            for bed_points, bed_bits in ((weights.bedrooms, bedded), (0, live ^ bedded)):
                fixed = loc_points + type_points + bed_points
                need = min_score - fixed
                if need > weights.budget:
                    continue  # even a full budget cannot lift this pattern to min_score
                cell = loc_bits & type_bits & bed_bits
                if cell:
                    _split_by_budget(
                        cell, live=live, fixed=fixed, need=need, budget=budget,
                        weight=weights.budget, levels=levels,
                    )  # fmt: skip
    return levels


def _split_by_budget(
    cell: int,
    *,
    live: int,
    fixed: int,
    need: int,
    budget: BudgetTiers | None,
    weight: int,
    levels: dict[int, Level],
) -> None:
    """File one pattern's buyers under their scores: fixed + their budget points."""
    if budget is None or weight == 0:
        # Every buyer here earns 0 budget points (which is the whole weight when it is 0).
        if need <= 0:
            levels.setdefault(fixed, Level()).bits |= cell
        return
    full = cell & budget.at_least(weight)
    if full:
        levels.setdefault(fixed + weight, Level()).bits |= full
    if need < weight:
        # B(k) contains B(weight), so the XOR is the buyers with k <= points < weight.
        partial = cell & (budget.at_least(max(1, need)) ^ budget.at_least(weight))
        for slot in slots_of(partial) if partial else ():
            levels.setdefault(fixed + budget.points_of(slot), Level()).scored.append(slot)
    if need <= 0:
        zero = cell & (live ^ budget.at_least(1))
        if zero:
            levels.setdefault(fixed, Level()).bits |= zero
