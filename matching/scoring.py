"""How well a buyer fits a property: a 0-100 score as the sum of four explained components.

The rules (pure functions of the property and the buy box, default weights 40/30/20/10):
- budget: full points when budget_min <= price <= budget_max (inclusive; a missing bound is
  open). Partial credit falls off linearly to 0 at 10 % *of the missed bound* outside the range:
  points = floor(W * (1 - distance / (bound / 10))). 3 % over a $300,000 maximum earns
  floor(40 * 0.7) = 28 of 40. An unknown (or non-positive) list price earns 0.
- location: full points when the property's ZIP is one of the buyer's ZIPs or its city is one
  of the buyer's cities (normalised keys); otherwise 0, including a buyer with no locations.
- property type: full points when the type is one of the buyer's types, or the buyer has no
  type preference (they take any type, as a missing budget bound takes any price); otherwise 0,
  including an unknown property type.
- bedrooms: full points when beds >= min_bedrooms or the buyer has no minimum; beds unknown
  against a minimum earns 0 ("bedrooms unknown").

`BuyerIndex` depends on these exact definitions (see `budget_thresholds`); change them together.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from matching.models import BuyBox, BuyerProfile, MatchResult, PropertyFacts, ScoreComponent
from matching.normalise import (
    city_label,
    normalise_city,
    normalise_property_type,
    normalise_zip,
    type_label,
)

_LISTED = 5  # preferred locations/types named in a reason before "+N more"


@dataclass(frozen=True, slots=True)
class Weights:
    """Points per component; they sum to 100 so a score reads as a percentage."""

    budget: int = 40
    location: int = 30
    property_type: int = 20
    bedrooms: int = 10

    def __post_init__(self) -> None:
        parts = (self.budget, self.location, self.property_type, self.bedrooms)
        if min(parts) < 0 or sum(parts) != 100:
            raise ValueError(f"weights must be non-negative and sum to 100, got {parts}")


DEFAULT_WEIGHTS = Weights()
DEFAULT_MIN_SCORE = 70


@dataclass(frozen=True, slots=True)
class PropertyKeys:
    """A property's normalised matching keys, computed once per property."""

    city: str | None
    zip: str | None
    property_type: str | None
    price: int | None
    beds: int | None
    city_text: str  # the city as listed, for reasons

    @classmethod
    def of(cls, facts: PropertyFacts) -> PropertyKeys:
        """Normalise a property's facts for matching."""
        price = facts.price
        if isinstance(price, float):  # GHL MONETORY fields arrive as floats: 245000.0
            price = round(price) if math.isfinite(price) else None
        price = price if price is not None and price > 0 else None
        return cls(
            city=normalise_city(facts.city),
            zip=normalise_zip(facts.zip),
            property_type=normalise_property_type(facts.property_type),
            price=price,
            beds=facts.beds,
            city_text=(facts.city or "").strip(),
        )


def score(
    prop: PropertyFacts, buyer: BuyerProfile, weights: Weights = DEFAULT_WEIGHTS
) -> MatchResult:
    """Score one buyer against one property, with a reason per component.

    `score(facts, buyer).explain()` -> "85/100 — budget 40/40: $245,000 is within ...; ..."
    """
    return score_keys(PropertyKeys.of(prop), buyer, weights)


def score_keys(keys: PropertyKeys, buyer: BuyerProfile, weights: Weights) -> MatchResult:
    """`score` for a property already normalised (the index scores many buyers per property)."""
    box = buyer.buy_box
    components = (
        budget_component(keys.price, box, weights.budget),
        location_component(keys, box, weights.location),
        property_type_component(keys.property_type, box, weights.property_type),
        bedrooms_component(keys.beds, box, weights.bedrooms),
    )
    return MatchResult(buyer.contact_id, sum(c.points for c in components), components)


def budget_points(
    price: int | None, budget_min: int | None, budget_max: int | None, weight: int
) -> int:
    """Budget points: `weight` inside the range, linear falloff to 0 at 10 % outside it."""
    if price is None or price <= 0:
        return 0
    if budget_max is not None and price > budget_max:
        # weight * (1 - (price - max) / (max / 10)), in integers so the index can invert it.
        return max(0, weight * (11 * budget_max - 10 * price) // budget_max)
    if budget_min is not None and price < budget_min:
        return max(0, weight * (10 * price - 9 * budget_min) // budget_min)
    return weight


def budget_thresholds(price: int, points: int, weight: int) -> tuple[int, int]:
    """The bounds (lo, hi) with: budget_points >= points  <=>  min <= lo and max >= hi.

    For 1 <= points <= weight and price > 0; a missing bound always passes. Derivation: above
    the range, floor(W(11max - 10p)/max) >= k  <=>  max(11W - k) >= 10Wp; below it,
    floor(W(10p - 9min)/min) >= k  <=>  min(9W + k) <= 10Wp. Both thresholds lie on the far side
    of the price, so they also hold for bounds the price is within. Only one side can be
    missed because min <= max.
    """
    lo = 10 * weight * price // (9 * weight + points)
    hi = -(-10 * weight * price // (11 * weight - points))
    return lo, hi


def budget_component(price: int | None, box: BuyBox, weight: int) -> ScoreComponent:
    """The budget component and its reason."""
    points = budget_points(price, box.budget_min, box.budget_max, weight)
    low, high = box.budget_min, box.budget_max
    if price is None or price <= 0:
        reason = "list price unknown"
    elif high is not None and price > high:
        reason = f"{_money(price)} is {_percent(price - high, high)} over budget max {_money(high)}"
    elif low is not None and price < low:
        reason = f"{_money(price)} is {_percent(low - price, low)} under budget min {_money(low)}"
    elif low is None and high is None:
        reason = f"{_money(price)}: buyer has no budget limits"
    else:
        reason = f"{_money(price)} is within budget {_budget_range(low, high)}"
    return ScoreComponent("budget", points, weight, reason)


def location_component(keys: PropertyKeys, box: BuyBox, weight: int) -> ScoreComponent:
    """The location component and its reason."""
    where = keys.city_text or keys.zip or "location unknown"
    if keys.zip is not None and keys.zip in box.zips:
        return ScoreComponent("location", weight, weight, f"{keys.zip} is a preferred ZIP")
    if keys.city is not None and keys.city in box.cities:
        return ScoreComponent("location", weight, weight, f"{where} is a preferred city")
    if not box.cities and not box.zips:
        return ScoreComponent("location", 0, weight, "buyer has no preferred locations")
    if keys.city is None and keys.zip is None:
        return ScoreComponent("location", 0, weight, "property location unknown")
    preferred = [city_label(c) for c in sorted(box.cities)] + sorted(box.zips)
    reason = f"{where} is not in preferred locations ({_listing(preferred)})"
    return ScoreComponent("location", 0, weight, reason)


def property_type_component(prop_type: str | None, box: BuyBox, weight: int) -> ScoreComponent:
    """The property type component and its reason."""
    if not box.property_types:
        return ScoreComponent("property_type", weight, weight, "buyer takes any property type")
    if prop_type is None:
        return ScoreComponent("property_type", 0, weight, "property type unknown")
    label = type_label(prop_type)
    if prop_type in box.property_types:
        return ScoreComponent("property_type", weight, weight, f"{label} is a preferred type")
    preferred = _listing([type_label(t) for t in sorted(box.property_types)])
    reason = f"{label} is not a preferred type ({preferred})"
    return ScoreComponent("property_type", 0, weight, reason)


def bedrooms_component(beds: int | None, box: BuyBox, weight: int) -> ScoreComponent:
    """The bedrooms component and its reason."""
    minimum = box.min_bedrooms
    if minimum is None:
        return ScoreComponent("bedrooms", weight, weight, "no bedroom minimum")
    if beds is None:
        return ScoreComponent("bedrooms", 0, weight, "bedrooms unknown")
    if beds >= minimum:
        return ScoreComponent("bedrooms", weight, weight, f"{beds} bd meets minimum {minimum}")
    return ScoreComponent("bedrooms", 0, weight, f"{beds} bd is below minimum {minimum}")


def _money(amount: int) -> str:
    return f"${amount:,}"


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%"


def _budget_range(low: int | None, high: int | None) -> str:
    if low is None:
        return f"up to {_money(high or 0)}"
    if high is None:
        return f"from {_money(low)}"
    return f"{_money(low)}–{_money(high)}"


def _listing(items: list[str]) -> str:
    shown = ", ".join(items[:_LISTED])
    return shown if len(items) <= _LISTED else f"{shown} +{len(items) - _LISTED} more"
