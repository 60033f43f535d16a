"""The values matching works on: a buyer's buy box, a property's facts, and explained scores.

All are frozen, slotted dataclasses: the index holds one `BuyerProfile` per buyer (100,000 of
them), so they stay small and hashable. Buy boxes hold *normalised* keys (see
`matching.normalise`); build them with `matching.buybox.parse_buy_box` or `build_buy_box`, which
normalise and validate, rather than by hand.
"""

from __future__ import annotations

from dataclasses import dataclass

COMPONENT_NAMES = ("budget", "location", "property_type", "bedrooms")


@dataclass(frozen=True, slots=True)
class BuyBox:
    """What a buyer buys: a budget range, where, which property types and how many bedrooms.

    A missing budget bound is open. Empty `cities`/`zips` means no preferred location (the
    location component then scores 0); empty `property_types` means any type.
    """

    budget_min: int | None = None
    budget_max: int | None = None
    cities: frozenset[str] = frozenset()
    zips: frozenset[str] = frozenset()
    property_types: frozenset[str] = frozenset()
    min_bedrooms: int | None = None

    def __post_init__(self) -> None:
        # Scoring divides by the budget bounds and relies on min <= max (only one side of the
        # range can be missed); reject boxes that would break that instead of mis-scoring.
        if self.budget_min is not None and self.budget_min < 0:
            raise ValueError(f"budget_min {self.budget_min} is negative")
        if self.budget_max is not None and self.budget_max < 1:
            raise ValueError(f"budget_max {self.budget_max} is below 1")
        if (
            self.budget_min is not None
            and self.budget_max is not None
            and self.budget_min > self.budget_max
        ):
            raise ValueError(f"budget_min {self.budget_min} is above budget_max {self.budget_max}")
        if self.min_bedrooms is not None and self.min_bedrooms < 0:
            raise ValueError(f"min_bedrooms {self.min_bedrooms} is negative")


@dataclass(frozen=True, slots=True)
class BuyerProfile:
    """The part of a buyer matching needs; the store keeps the rest (phone, tags, opt-out)."""

    contact_id: str
    name: str
    buy_box: BuyBox


@dataclass(frozen=True, slots=True)
class PropertyFacts:
    """A listing as matching sees it. Text fields are raw; scoring normalises them."""

    mls_id: str
    address: str
    city: str | None
    state: str | None
    zip: str | None
    price: int | None  # list price in whole dollars
    property_type: str | None
    beds: int | None


@dataclass(frozen=True, slots=True)
class ScoreComponent:
    """One part of a score, with the sentence an agent reads to see why."""

    name: str  # one of COMPONENT_NAMES
    points: int
    max_points: int
    reason: str


@dataclass(frozen=True, slots=True)
class MatchResult:
    """How well one buyer fits one property: 0-100, as the sum of explained components."""

    contact_id: str
    score: int
    components: tuple[ScoreComponent, ...]

    def __post_init__(self) -> None:
        if self.score != sum(c.points for c in self.components) or not 0 <= self.score <= 100:
            raise ValueError(f"score {self.score} is not the sum of its components in 0..100")

    def explain(self) -> str:
        """One line for an agent, e.g. `85/100 — budget 40/40: $245,000 is within ...; ...`."""
        parts = (
            f"{c.name.replace('_', ' ')} {c.points}/{c.max_points}: {c.reason}"
            for c in self.components
        )
        return f"{self.score}/100 — " + "; ".join(parts)


@dataclass(frozen=True, slots=True)
class MatchPage:
    """One page of ranked matches (score desc, then contact_id asc) and how many matched."""

    results: tuple[MatchResult, ...]
    total: int
    offset: int
    limit: int

    @property
    def has_more(self) -> bool:
        """Whether a later page holds more matches."""
        return self.offset + len(self.results) < self.total
