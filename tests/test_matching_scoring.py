"""Scoring rules: parameter tables for each component, hypothesis for the invariants."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from matching.models import BuyBox, BuyerProfile, MatchResult, PropertyFacts, ScoreComponent
from matching.scoring import (
    DEFAULT_WEIGHTS,
    PropertyKeys,
    Weights,
    budget_component,
    budget_points,
    budget_thresholds,
    location_component,
    score,
)


def facts(**changes: object) -> PropertyFacts:
    """A Tampa single-family listing; tests change what they look at."""
    base = PropertyFacts("MLS1", "1 Main St", "Tampa", "FL", "33602", 245_000, "Single Family", 3)
    return replace(base, **changes)


def buyer(**box: object) -> BuyerProfile:
    return BuyerProfile("c-1", "Jane Buyer", BuyBox(**box))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("price", "low", "high", "points"),
    [
        (245_000, 200_000, 300_000, 40),
        (200_000, 200_000, 300_000, 40),  # bounds are inclusive
        (300_000, 200_000, 300_000, 40),
        (900_000, None, None, 40),  # missing bounds are open
        (10, None, 300_000, 40),
        (9_000_000, 200_000, None, 40),
        (300_001, 200_000, 300_000, 39),
        (309_000, 200_000, 300_000, 28),  # 3 % over: 40 * 0.7
        (315_000, 200_000, 300_000, 20),  # 5 % over: half
        (329_999, 200_000, 300_000, 0),  # 9.99... % over: floor(0.013) = 0
        (330_000, 200_000, 300_000, 0),  # 10 % over
        (500_000, 200_000, 300_000, 0),
        (190_000, 200_000, 300_000, 20),  # 5 % under
        (180_000, 200_000, 300_000, 0),  # 10 % under
        (None, 200_000, 300_000, 0),  # price unknown
        (0, None, None, 0),  # a $0 list price is unknown, not a bargain
        (-5, None, None, 0),
    ],
)
def test_budget_points(price: int | None, low: int | None, high: int | None, points: int) -> None:
    assert budget_points(price, low, high, 40) == points


@pytest.mark.parametrize(
    ("price", "low", "high", "reason"),
    [
        (245_000, 200_000, 300_000, "$245,000 is within budget $200,000–$300,000"),
        (245_000, None, 300_000, "$245,000 is within budget up to $300,000"),
        (245_000, 200_000, None, "$245,000 is within budget from $200,000"),
        (245_000, None, None, "$245,000: buyer has no budget limits"),
        (309_000, 200_000, 300_000, "$309,000 is 3.0% over budget max $300,000"),
        (190_000, 200_000, 300_000, "$190,000 is 5.0% under budget min $200,000"),
        (None, 200_000, 300_000, "list price unknown"),
    ],
)
def test_budget_reasons(price: int | None, low: int | None, high: int | None, reason: str) -> None:
    box = BuyBox(budget_min=low, budget_max=high)
    assert budget_component(price, box, 40).reason == reason


@pytest.mark.parametrize(
    ("prop", "box", "points", "reason"),
    [
        (facts(), {"zips": frozenset({"33602"})}, 30, "33602 is a preferred ZIP"),
        (facts(zip="33602-1234"), {"zips": frozenset({"33602"})}, 30, "33602 is a preferred ZIP"),
        (
            facts(city=" TAMPA, fl"),
            {"cities": frozenset({"tampa"})},
            30,
            "TAMPA, fl is a preferred city",
        ),
        (
            facts(),
            {"cities": frozenset({"austin"}), "zips": frozenset({"78704"})},
            0,
            "Tampa is not in preferred locations (Austin, 78704)",
        ),
        (facts(), {"budget_max": 10**6}, 0, "buyer has no preferred locations"),
        (
            facts(city=None, zip=None),
            {"cities": frozenset({"tampa"})},
            0,
            "property location unknown",
        ),
        (
            facts(),
            {"cities": frozenset(f"c{i}" for i in range(7))},
            0,
            "Tampa is not in preferred locations (C0, C1, C2, C3, C4 +2 more)",
        ),
    ],
)
def test_location(prop: PropertyFacts, box: dict, points: int, reason: str) -> None:
    component = location_component(PropertyKeys.of(prop), BuyBox(**box), 30)
    assert (component.points, component.reason) == (points, reason)


@pytest.mark.parametrize(
    ("prop_type", "types", "points", "reason"),
    [
        ("Single Family", {"single_family"}, 20, "single family is a preferred type"),
        ("SFR", {"single_family", "condo"}, 20, "single family is a preferred type"),
        (
            "condo",
            {"single_family", "multi_family"},
            0,
            "condo is not a preferred type (multi family, single family)",
        ),
        ("condo", set(), 20, "buyer takes any property type"),
        (None, set(), 20, "buyer takes any property type"),
        (None, {"condo"}, 0, "property type unknown"),
        ("castle", {"condo"}, 0, "property type unknown"),
    ],
)
def test_property_type(prop_type: str | None, types: set, points: int, reason: str) -> None:
    result = score(facts(property_type=prop_type), buyer(property_types=frozenset(types)))
    component = result.components[2]
    assert (component.name, component.points, component.reason) == ("property_type", points, reason)


@pytest.mark.parametrize(
    ("beds", "minimum", "points", "reason"),
    [
        (3, 2, 10, "3 bd meets minimum 2"),
        (2, 2, 10, "2 bd meets minimum 2"),
        (1, 2, 0, "1 bd is below minimum 2"),
        (None, 2, 0, "bedrooms unknown"),
        (None, None, 10, "no bedroom minimum"),
        (0, None, 10, "no bedroom minimum"),
    ],
)
def test_bedrooms(beds: int | None, minimum: int | None, points: int, reason: str) -> None:
    component = score(facts(beds=beds), buyer(min_bedrooms=minimum)).components[3]
    assert (component.name, component.points, component.reason) == ("bedrooms", points, reason)


def test_score_sums_components_and_explains_in_one_line() -> None:
    result = score(
        facts(price=309_000),
        buyer(
            budget_min=200_000,
            budget_max=300_000,
            cities=frozenset({"tampa"}),
            property_types=frozenset({"condo"}),
            min_bedrooms=2,
        ),
    )
    assert result.score == 28 + 30 + 0 + 10
    assert result.explain() == (
        "68/100 — budget 28/40: $309,000 is 3.0% over budget max $300,000; "
        "location 30/30: Tampa is a preferred city; "
        "property type 0/20: single family is not a preferred type (condo); "
        "bedrooms 10/10: 3 bd meets minimum 2"
    )


def test_weights_are_configurable_and_must_sum_to_100() -> None:
    weights = Weights(budget=25, location=25, property_type=25, bedrooms=25)
    result = score(facts(), buyer(cities=frozenset({"tampa"})), weights)
    assert [c.max_points for c in result.components] == [25, 25, 25, 25]
    assert result.score == 100
    with pytest.raises(ValueError):
        Weights(budget=50)
    with pytest.raises(ValueError):
        Weights(budget=-10, location=80)


@pytest.mark.parametrize(
    ("price", "points"), [(245_000.0, 40), (309_000.4, 28), (float("nan"), 0), (float("inf"), 0)]
)
def test_float_list_prices_are_whole_dollars(price: float, points: int) -> None:
    box = {"budget_min": 200_000, "budget_max": 300_000}
    result = score(facts(price=price), buyer(**box))
    assert result.components[0].points == points
    assert isinstance(result.score, int)


def test_match_result_rejects_a_score_that_is_not_the_sum() -> None:
    component = ScoreComponent("budget", 40, 40, "ok")
    with pytest.raises(ValueError):
        MatchResult("c-1", 41, (component,))


# Hypothesis: small domains so that matches, misses and boundaries all happen often.
CITIES = ["Tampa", "St. Petersburg", "Austin", "Ft Myers"]
ZIPS = ["33602", "33603", "78704", "33901"]
TYPES = ["single_family", "multi_family", "condo", "land"]

prices = st.one_of(st.none(), st.integers(min_value=-10, max_value=2_000_000))
amounts = st.integers(min_value=1, max_value=2_000_000)


@st.composite
def buy_boxes(draw: st.DrawFn) -> BuyBox:
    low, high = draw(st.one_of(st.none(), amounts)), draw(st.one_of(st.none(), amounts))
    if low is not None and high is not None and low > high:
        low, high = high, low
    return BuyBox(
        budget_min=low,
        budget_max=high,
        cities=frozenset(draw(st.sets(st.sampled_from(["tampa", "saint petersburg", "austin"])))),
        zips=frozenset(draw(st.sets(st.sampled_from(ZIPS)))),
        property_types=frozenset(draw(st.sets(st.sampled_from(TYPES)))),
        min_bedrooms=draw(st.one_of(st.none(), st.integers(0, 6))),
    )


@st.composite
def properties(draw: st.DrawFn) -> PropertyFacts:
    return PropertyFacts(
        mls_id="MLS",
        address="1 Main St",
        city=draw(st.one_of(st.none(), st.sampled_from(CITIES))),
        state="FL",
        zip=draw(st.one_of(st.none(), st.sampled_from([*ZIPS, "33602-0001"]))),
        price=draw(prices),
        property_type=draw(st.one_of(st.none(), st.sampled_from([*TYPES, "SFR", "castle"]))),
        beds=draw(st.one_of(st.none(), st.integers(0, 6))),
    )


@st.composite
def weight_sets(draw: st.DrawFn) -> Weights:
    cuts = sorted(draw(st.lists(st.integers(0, 100), min_size=3, max_size=3)))
    parts = [cuts[0], cuts[1] - cuts[0], cuts[2] - cuts[1], 100 - cuts[2]]
    return Weights(*parts)


@pytest.mark.slow  # over 0.5 s: the full run only (README, 'fast lane')
@settings(max_examples=200, deadline=None)
@given(properties(), buy_boxes(), weight_sets())
def test_score_is_the_bounded_sum_of_bounded_components(
    prop: PropertyFacts, box: BuyBox, weights: Weights
) -> None:
    result = score(prop, BuyerProfile("c", "n", box), weights)
    assert 0 <= result.score <= 100
    assert result.score == sum(c.points for c in result.components)
    assert [c.name for c in result.components] == [
        "budget",
        "location",
        "property_type",
        "bedrooms",
    ]
    for component, weight in zip(
        result.components,
        (weights.budget, weights.location, weights.property_type, weights.bedrooms),
        strict=True,
    ):
        assert 0 <= component.points <= component.max_points == weight
        assert component.reason


@pytest.mark.slow  # over 0.5 s: the full run only (README, 'fast lane')
@settings(max_examples=150, deadline=None)
@given(properties(), buy_boxes(), st.integers(min_value=1, max_value=2_000_000))
def test_moving_the_price_into_the_range_never_lowers_the_score(
    prop: PropertyFacts, box: BuyBox, price: int
) -> None:
    low, high = box.budget_min or 1, box.budget_max or 2_000_000
    inside = min(max(price, low), high)
    before = score(replace(prop, price=price), BuyerProfile("c", "n", box)).score
    after = score(replace(prop, price=inside), BuyerProfile("c", "n", box)).score
    assert after >= before
    assert (
        score(replace(prop, price=inside), BuyerProfile("c", "n", box)).components[0].points == 40
    )


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 3_000_000), st.integers(1, 3_000_000), st.integers(1, 3_000_000))
def test_budget_points_never_rise_as_the_price_moves_away(a: int, b: int, distance: int) -> None:
    low, high = sorted((a, b))
    for price in (high + distance, high + distance + 1), (low - distance, low - distance - 1):
        near, far = price
        if far > 0:
            assert budget_points(far, low, high, 40) <= budget_points(near, low, high, 40)


@pytest.mark.slow  # over 0.5 s: the full run only (README, 'fast lane')
@settings(max_examples=150, deadline=None)
@given(properties(), buy_boxes())
def test_fitting_location_type_or_bedrooms_never_lowers_the_score(
    prop: PropertyFacts, box: BuyBox
) -> None:
    keys = PropertyKeys.of(prop)
    before = score(prop, BuyerProfile("c", "n", box)).score
    widened = []
    if keys.zip is not None:
        widened.append(replace(box, zips=box.zips | {keys.zip}))
    if keys.property_type is not None:
        widened.append(replace(box, property_types=box.property_types | {keys.property_type}))
    if keys.beds is not None:
        widened.append(replace(box, min_bedrooms=max(0, keys.beds)))
    for better in widened:
        assert score(prop, BuyerProfile("c", "n", better)).score >= before
    if prop.beds is not None:
        assert score(replace(prop, beds=prop.beds + 1), BuyerProfile("c", "n", box)).score >= before


@settings(max_examples=600, deadline=None)
@given(
    st.integers(1, 5_000_000),
    st.one_of(st.none(), st.integers(0, 5_000_000)),
    st.one_of(st.none(), st.integers(1, 5_000_000)),
    st.integers(1, 100),
    st.data(),
)
@pytest.mark.slow  # over 0.5 s: the full run only (README, 'fast lane')
def test_budget_thresholds_are_exactly_the_points_condition(
    price: int, low: int | None, high: int | None, weight: int, data: st.DataObject
) -> None:
    # BuyerIndex finds "budget points >= k" buyers through these thresholds; any off-by-one
    # here would silently drop or add matches.
    assume(low is None or high is None or low <= high)
    points = data.draw(st.integers(1, weight))
    lo, hi = budget_thresholds(price, points, weight)
    by_threshold = (low is None or low <= lo) and (high is None or high >= hi)
    assert (budget_points(price, low, high, weight) >= points) == by_threshold


@pytest.mark.parametrize("weight", [1, 7, 40, 100])
def test_budget_thresholds_at_the_edges(weight: int) -> None:
    # Exhaustive around one price: every bound within 12 % of it, every point level.
    price = 1_000
    for points in range(1, weight + 1):
        lo, hi = budget_thresholds(price, points, weight)
        for bound in range(880, 1_121):
            low_ok = budget_points(price, bound, None, weight) >= points
            high_ok = budget_points(price, None, bound, weight) >= points
            assert (low_ok, high_ok) == (bound <= lo, bound >= hi), (points, bound)


def test_default_weights() -> None:
    assert Weights(40, 30, 20, 10) == DEFAULT_WEIGHTS
