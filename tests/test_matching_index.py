"""BuyerIndex must return exactly what scoring every buyer returns; plus paging and updates."""

from __future__ import annotations

import importlib.util
import random
import sys
import tracemalloc
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matching.index import BuyerIndex, match_naively
from matching.models import BuyBox, BuyerProfile, PropertyFacts
from matching.scoring import Weights
from tests.test_matching_scoring import buy_boxes, properties, weight_sets

CITIES = ["tampa", "brandon", "austin", "saint petersburg", "fort myers", "ocala"]
ZIPS = ["33602", "33603", "33510", "78704", "78701", "33901", "34470", "33701", "33702", "02134"]
TYPES = ["single_family", "multi_family", "condo", "townhouse", "land", "mobile_home"]
ANCHORS = [90_000, 200_000, 250_000, 1_000_000]
# Bounds at, just inside and just outside the 10 % falloff of the anchor prices.
FACTORS = [0.85, 0.9, 0.909, 0.91, 0.95, 0.999, 1.0, 1.001, 1.05, 1.1, 1.11, 1.2]


def random_box(rng: random.Random) -> BuyBox:
    anchor = rng.choice(ANCHORS)
    low = round(anchor * rng.choice(FACTORS)) if rng.random() < 0.8 else None
    high = round(anchor * rng.choice(FACTORS)) if rng.random() < 0.8 else None
    if low is not None and high is not None and low > high:
        low, high = high, low
    return BuyBox(
        budget_min=low,
        budget_max=high,
        cities=frozenset(rng.sample(CITIES, rng.choice([0, 0, 1, 1, 2]))),
        zips=frozenset(rng.sample(ZIPS, rng.choice([0, 1, 2, 3]))),
        property_types=frozenset(rng.sample(TYPES, rng.choice([0, 1, 1, 2, 3]))),
        min_bedrooms=rng.choice([None, None, 1, 2, 3, 4]),
    )


def random_buyers(rng: random.Random, count: int, prefix: str = "c") -> list[BuyerProfile]:
    ids = rng.sample(range(10 * count), count)  # ids not in slot order: ranking must sort them
    return [BuyerProfile(f"{prefix}{i:06d}", f"Buyer {i}", random_box(rng)) for i in ids]


def random_property(rng: random.Random) -> PropertyFacts:
    anchor = rng.choice(ANCHORS)
    return PropertyFacts(
        mls_id="MLS",
        address="1 Main St",
        city=rng.choice([*CITIES, "St. Petersburg, FL", "Miami", None]),
        state="FL",
        zip=rng.choice([*ZIPS, "33602-4321", "2134", "10001", None]),
        price=rng.choice(
            [round(anchor * rng.choice(FACTORS)), anchor, None, rng.randrange(1, 2 * 10**6)]
        ),
        property_type=rng.choice([*TYPES, "SFR", "commercial", None]),
        beds=rng.choice([None, 0, 1, 2, 3, 4, 5]),
    )


QUERIES = [  # (min_score, limit, offset, weights)
    (70, 20, 0, Weights()),
    (70, 5, 7, Weights()),
    (69, 40, 0, Weights()),  # location alone needs 39 budget points: just over a bound
    (89, 20, 0, Weights()),
    (85, 50, 0, Weights()),
    (100, 10, 0, Weights()),
    (40, 15, 30, Weights()),
    (0, 10, 995, Weights()),  # everyone matches
    (60, 10, 3, Weights(budget=10, location=50, property_type=25, bedrooms=15)),
    (55, 25, 0, Weights(budget=0, location=40, property_type=40, bedrooms=20)),
    (80, 20, 0, Weights(budget=100, location=0, property_type=0, bedrooms=0)),
]


@pytest.mark.slow  # 2,500 buyers x 40 properties
def test_index_equals_scoring_every_buyer_on_random_data() -> None:
    rng = random.Random(20240611)
    buyers = random_buyers(rng, 2_500)
    index = BuyerIndex.build(buyers)
    compared = 0
    for round_ in range(40):
        prop = random_property(rng)
        min_score, limit, offset, weights = QUERIES[round_ % len(QUERIES)]
        query = {"min_score": min_score, "limit": limit, "offset": offset, "weights": weights}
        expected = match_naively(prop, buyers, **query)
        assert index.match(prop, **query) == expected, (prop, query)
        compared += len(expected.results)
    assert compared > 300  # the comparison covered real matches, not empty pages


def test_index_stays_exact_through_adds_removes_and_replaces() -> None:
    rng = random.Random(7)
    buyers = {b.contact_id: b for b in random_buyers(rng, 800)}
    everyone = list(buyers.values())
    index = BuyerIndex.build(everyone[:500])
    for buyer in everyone[500:]:
        index.add(buyer)
    for contact_id in rng.sample(sorted(buyers), 250):
        assert index.remove(contact_id)
        del buyers[contact_id]
    for contact_id in rng.sample(sorted(buyers), 150):
        buyers[contact_id] = replace(buyers[contact_id], buy_box=random_box(rng))
        index.replace(buyers[contact_id])
    for buyer in random_buyers(rng, 100, prefix="n"):  # reuses the freed slots
        index.add(buyer)
        buyers[buyer.contact_id] = buyer
    assert len(index) == len(buyers)
    for round_ in range(30):
        prop = random_property(rng)
        min_score, limit, offset, weights = QUERIES[round_ % len(QUERIES)]
        query = {"min_score": min_score, "limit": limit, "offset": offset, "weights": weights}
        assert index.match(prop, **query) == match_naively(prop, buyers.values(), **query)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(buy_boxes(), max_size=25),
    properties(),
    weight_sets(),
    st.integers(-5, 105),
    st.integers(0, 30),
)
def test_index_equals_naive_for_any_small_input(
    boxes: list[BuyBox], prop: PropertyFacts, weights: Weights, min_score: int, offset: int
) -> None:
    buyers = [BuyerProfile(f"c{i:02d}", "n", box) for i, box in enumerate(boxes)]
    query = {"min_score": min_score, "limit": 7, "offset": offset, "weights": weights}
    assert BuyerIndex.build(buyers).match(prop, **query) == match_naively(prop, buyers, **query)


def test_pages_walk_the_whole_ranking_without_gaps() -> None:
    rng = random.Random(11)
    buyers = random_buyers(rng, 400)
    index = BuyerIndex.build(buyers)
    prop = PropertyFacts("MLS", "1 Main", "Tampa", "FL", "33602", 250_000, "SFR", 3)
    full = match_naively(prop, buyers, min_score=50, limit=1_000)
    assert full.total > 40
    walked, offset = [], 0
    while True:
        page = index.match(prop, min_score=50, limit=9, offset=offset)
        assert page.total == full.total
        walked.extend(page.results)
        if not page.has_more:
            break
        offset += 9
    assert walked == list(full.results)
    ranking = [(-r.score, r.contact_id) for r in walked]
    assert ranking == sorted(ranking)
    assert index.match(prop, min_score=50, limit=0) == replace(full, results=(), limit=0)
    assert index.match(prop, min_score=50, offset=full.total).results == ()


def test_ties_are_ranked_by_contact_id() -> None:
    box = BuyBox(cities=frozenset({"tampa"}))
    buyers = [BuyerProfile(cid, "n", box) for cid in ["b", "c", "a", "e", "d"]]
    prop = PropertyFacts("MLS", "1 Main", "Tampa", "FL", None, 250_000, None, None)
    page = BuyerIndex.build(buyers).match(prop, limit=3, offset=1)
    assert [r.contact_id for r in page.results] == ["b", "c", "d"]
    assert {r.score for r in page.results} == {100}


def test_unknown_price_and_empty_index() -> None:
    buyers = [BuyerProfile("a", "n", BuyBox(budget_max=300_000, cities=frozenset({"tampa"})))]
    prop = PropertyFacts("MLS", "1 Main", "Tampa", "FL", None, None, "condo", 2)
    index = BuyerIndex.build(buyers)
    page = index.match(prop, min_score=60)
    assert [(r.contact_id, r.score) for r in page.results] == [("a", 60)]
    assert page.results[0].components[0].reason == "list price unknown"
    assert BuyerIndex().match(prop, min_score=0).total == 0


def test_add_remove_replace_contract() -> None:
    box = BuyBox(cities=frozenset({"tampa"}))
    index = BuyerIndex.build([BuyerProfile("a", "n", box)])
    with pytest.raises(ValueError):
        index.add(BuyerProfile("a", "n", box))
    with pytest.raises(ValueError):
        BuyerIndex.build([BuyerProfile("a", "n", box), BuyerProfile("a", "m", box)])
    assert not index.remove("zz")
    index.replace(BuyerProfile("b", "n", box))  # replace of an unknown buyer adds it
    assert "b" in index and len(index) == 2
    moved = BuyerProfile("a", "n", BuyBox(cities=frozenset({"austin"})))
    index.replace(moved)
    assert index.get("a") == moved
    prop = PropertyFacts("MLS", "1 Main", "Tampa", "FL", None, 1, None, None)
    # At 70 "a" would still match: budget, any type and no bedroom minimum make exactly 70.
    assert [r.contact_id for r in index.match(prop, min_score=71).results] == ["b"]
    assert index.remove(moved) and index.get("a") is None
    with pytest.raises(ValueError):
        index.match(prop, limit=-1)


@pytest.mark.slow  # over 0.5 s: the full run only (README, 'fast lane')
def test_index_memory_grows_linearly_within_budget() -> None:
    # The bench measures 100,000 buyers against 200 MB; here 20,000 must stay under a fifth.
    buyers = random_buyers(random.Random(5), 20_000)
    tracemalloc.start()
    try:
        BuyerIndex.build(buyers)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 40 * 2**20


def test_bench_runs_and_agrees_with_naive(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = Path(__file__).resolve().parents[1] / "bench" / "match.py"
    spec = importlib.util.spec_from_file_location("bench_match", path)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, bench)  # dataclasses look their module up
    spec.loader.exec_module(bench)
    status = bench.main(["--buyers", "2000", "--properties", "20", "--naive", "3"])
    out = capsys.readouterr().out
    assert status in (0, 1)  # 2 would mean the index and the naive loop disagree
    assert "top results identical   yes" in out
    assert "index.match" in out and "speed-up" in out
