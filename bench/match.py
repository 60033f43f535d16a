"""Benchmark: one property against 100,000 buyers, index vs naive scoring.

Run: `.venv/bin/python bench/match.py [--buyers 100000] [--properties 200] [--seed 1]`.
Generates synthetic buyers as GHL custom-field text (parsed with `parse_buy_box`, as the sync
job would), builds a `BuyerIndex`, times `index.match` per property and `match_naively` on a
few properties, checks both return identical pages, measures the index's peak memory while it
is built (tracemalloc) and prints PASS/FAIL against the targets. Exit status: 0 pass, 1 a target
missed, 2 the index and the naive loop disagree.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from matching.buybox import parse_buy_box
from matching.index import BuyerIndex, match_naively
from matching.models import BuyerProfile, PropertyFacts

T = TypeVar("T")

TARGET_MEDIAN_MS = 20.0
TARGET_SPEEDUP = 50.0
TARGET_MEMORY_MB = 200.0

_TYPE_SPELLINGS = {
    "single_family": ["Single Family", "SFR", "single-family", "House"],
    "multi_family": ["Multi Family", "duplex", "Multifamily", "2-4 units"],
    "condo": ["Condo", "condominium"],
    "townhouse": ["Townhouse", "townhome"],
    "land": ["Land", "vacant lot"],
    "mobile_home": ["Mobile Home", "manufactured"],
    "commercial": ["Commercial", "retail"],
}
_TYPE_SHARE = {
    "single_family": 0.62,
    "multi_family": 0.30,
    "condo": 0.16,
    "townhouse": 0.14,
    "land": 0.08,
    "mobile_home": 0.05,
    "commercial": 0.03,
}
_STATES = ["FL", "TX", "GA", "AZ", "NC", "TN", "OH", "CA", "NV", "CO", "MI", "IN"]


@dataclass(frozen=True)
class Metro:
    """A market: its cities, ZIPs, state and typical price."""

    cities: list[str]
    zips: list[str]
    state: str
    base_price: int


def make_metros(rng: random.Random, count: int = 36) -> list[Metro]:
    """A few dozen metros with 3-8 cities and 20-70 ZIPs each."""
    prefixes = rng.sample(range(100, 999), count)
    metros = []
    for m, prefix in enumerate(prefixes):
        cities = [f"Metro{m} City"] + [f"Metro{m} Suburb {i}" for i in range(rng.randint(2, 7))]
        zips = sorted({f"{prefix}{rng.randint(0, 99):02d}" for _ in range(rng.randint(20, 70))})
        base = rng.choice([150, 190, 220, 260, 300, 350, 420, 500, 650, 800]) * 1_000
        metros.append(Metro(cities, zips, rng.choice(_STATES), base))
    return metros


def _popularity(count: int) -> list[float]:
    return [1 / (rank + 1) ** 0.8 for rank in range(count)]


def _money_text(rng: random.Random, amount: int) -> object:
    style = rng.random()
    if style < 0.3:
        return f"${amount // 1000}k"
    if style < 0.6:
        return f"{amount:,}"
    if style < 0.8:
        return float(amount)
    return str(amount)


def make_buyer_fields(rng: random.Random, metros: list[Metro]) -> dict[str, object]:
    """GHL custom fields of one synthetic buyer."""
    weights = _popularity(len(metros))
    chosen = rng.choices(metros, weights, k=2 if rng.random() < 0.12 else 1)
    entries: list[str] = []
    style = rng.random()
    for metro in chosen:
        if style < 0.65:
            entries += [f"{c}, {metro.state}" for c in rng.sample(metro.cities, rng.randint(1, 3))]
        if style >= 0.45:
            zips = rng.sample(metro.zips, min(len(metro.zips), rng.randint(2, 12)))
            entries += [
                z if rng.random() < 0.9 else f"{z}-{rng.randint(0, 9999):04d}" for z in zips
            ]
    centre = chosen[0].base_price * rng.lognormvariate(0, 0.35)
    low = round(centre * rng.uniform(0.55, 0.9), -4)
    high = round(centre * rng.uniform(1.05, 1.5), -4)
    shape = rng.random()
    fields: dict[str, object] = {"location_preference": "; ".join(entries)}
    if shape > 0.03:
        fields["budget_max"] = None if shape < 0.08 else _money_text(rng, int(high))
        fields["budget_min"] = None if shape < 0.16 else _money_text(rng, int(low))
    if rng.random() < 0.85:
        types = [t for t, share in _TYPE_SHARE.items() if rng.random() < share]
        fields["property_type_preference"] = ", ".join(
            rng.choice(_TYPE_SPELLINGS[t]) for t in types or ["single_family"]
        )
    if rng.random() < 0.6:
        fields["min_bedrooms"] = str(rng.choices([1, 2, 3, 4], [5, 25, 50, 20])[0])
    return fields


def make_buyers(rng: random.Random, metros: list[Metro], count: int) -> list[BuyerProfile]:
    """`count` matchable buyers, parsed from synthetic custom fields."""
    buyers = []
    while len(buyers) < count:
        parsed = parse_buy_box(make_buyer_fields(rng, metros))
        if parsed.buy_box is not None:
            n = len(buyers)
            buyers.append(BuyerProfile(f"contact-{n:06d}", f"Buyer {n}", parsed.buy_box))
    return buyers


def make_properties(rng: random.Random, metros: list[Metro], count: int) -> list[PropertyFacts]:
    """Listings spread over the metros like the buyers are."""
    weights = _popularity(len(metros))
    listings = []
    for n in range(count):
        metro = rng.choices(metros, weights)[0]
        price = int(round(metro.base_price * rng.lognormvariate(0, 0.45), -3))
        kind = rng.choices(list(_TYPE_SHARE), list(_TYPE_SHARE.values()))[0]
        listings.append(
            PropertyFacts(
                mls_id=f"MLS{n:05d}",
                address=f"{rng.randint(1, 9999)} Main St",
                city=rng.choice(metro.cities) if rng.random() < 0.92 else None,
                state=metro.state,
                zip=rng.choice(metro.zips),
                price=price if rng.random() < 0.98 else None,
                property_type=rng.choice(_TYPE_SPELLINGS[kind]),
                beds=rng.choice([1, 2, 3, 3, 3, 4, 4, 5]) if rng.random() < 0.97 else None,
            )
        )
    return listings


def _timed_ms(run: Callable[[], T]) -> tuple[float, T]:
    start = time.perf_counter()
    result = run()
    return (time.perf_counter() - start) * 1000, result


def _p95(values: list[float]) -> float:
    return sorted(values)[max(0, round(0.95 * len(values)) - 1)]


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; the exit status says whether the targets were met."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buyers", type=int, default=100_000)
    parser.add_argument("--properties", type=int, default=200)
    parser.add_argument("--naive", type=int, default=10, help="properties for the naive loop")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    metros = make_metros(rng)
    parse_ms, buyers = _timed_ms(lambda: make_buyers(rng, metros, args.buyers))
    listings = make_properties(rng, metros, args.properties)

    tracemalloc.start()
    BuyerIndex.build(buyers)
    index_mb = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    build_ms, index = _timed_ms(lambda: BuyerIndex.build(buyers))

    for listing in listings[:5]:  # warm-up: first queries materialise hot ZIP/city bitsets
        index.match(listing)
    index_times, totals = [], []
    for listing in listings:
        elapsed, page = _timed_ms(lambda listing=listing: index.match(listing))
        index_times.append(elapsed)
        totals.append(page.total)
    # At the default weights a buyer elsewhere whose budget, type and beds fit scores exactly 70.
    above_70 = [index.match(listing, min_score=71, limit=0).total for listing in listings]

    naive_times, identical = [], True
    for listing in listings[: args.naive]:
        elapsed, naive_page = _timed_ms(lambda listing=listing: match_naively(listing, buyers))
        naive_times.append(elapsed)
        identical &= naive_page == index.match(listing)

    update_ms, _ = _timed_ms(lambda: [index.replace(b) for b in buyers[:1000]])

    index_median = statistics.median(index_times)
    naive_median = statistics.median(naive_times)
    speedup = naive_median / index_median
    print(f"buyers {len(buyers):,} (parsed in {parse_ms / 1000:.1f} s), properties {len(listings)}")
    print(f"matches per property: median {statistics.median(totals):,.0f}, max {max(totals):,}")
    print(f"  of which above 70:  median {statistics.median(above_70):,.0f}, max {max(above_70):,}")
    print(f"{'':24}{'median ms':>12}{'p95 ms':>12}{'runs':>8}")
    print(f"{'index.match':24}{index_median:12.2f}{_p95(index_times):12.2f}{len(index_times):8}")
    print(
        f"{'naive score loop':24}{naive_median:12.2f}{_p95(naive_times):12.2f}{len(naive_times):8}"
    )
    print(f"speed-up (median)       {speedup:.0f}x")
    print(f"index build             {build_ms:.0f} ms, peak traced memory {index_mb:.1f} MB")
    print("                        (excludes the BuyerProfile objects the caller holds)")
    print(f"1,000 buyer replaces    {update_ms:.0f} ms")
    print(f"top results identical   {'yes' if identical else 'NO'}")
    checks = [
        (f"median <= {TARGET_MEDIAN_MS:g} ms", index_median <= TARGET_MEDIAN_MS),
        (f">= {TARGET_SPEEDUP:g}x faster than naive", speedup >= TARGET_SPEEDUP),
        (f"index < {TARGET_MEMORY_MB:g} MB", index_mb < TARGET_MEMORY_MB),
    ]
    for label, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {label}")
    if not identical:
        print("FAIL  index and naive results differ")
        return 2
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
