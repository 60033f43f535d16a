"""bench/agency.py's arithmetic: the window every location worked in, rates, the aggregate
percentage of N x 10 req/s, how far apart the locations' shares are, CPU from clock ticks."""

from __future__ import annotations

import math

import pytest

from bench.agency_figures import (
    Sample,
    aggregate_percent,
    busy_window,
    count_at,
    cpu_percent,
    share_spread_percent,
    window_rates,
)


def samples_of(rows: list[tuple[float, dict[str, int]]]) -> list[Sample]:
    return [Sample(at=at, requests=counts, rate_limited={}) for at, counts in rows]


def test_a_sample_reads_the_emulators_per_location_stats():
    stats = {
        "total": 9,
        "locations": {
            "loc_a": {"requests": 7, "statuses": {"200": 6, "429": 1}, "rate_limited": 1},
            "loc_b": {"requests": 2, "statuses": {"200": 2}, "rate_limited": 0},
        },
    }
    sample = Sample.of(stats, at=3.5)
    assert sample.requests == {"loc_a": 7, "loc_b": 2}
    assert sample.rate_limited == {"loc_a": 1, "loc_b": 0}
    assert Sample.of({"total": 0}, at=0).requests == {}


def test_the_busy_window_starts_when_all_call_and_ends_when_the_first_is_done_in_whole_spans():
    rows = [(0.0, {"a": 0, "b": 0}), (1.0, {"a": 5, "b": 0}), (2.0, {"a": 15, "b": 8})]
    rows += [(2.0 + t, {"a": 15 + 10 * t, "b": 8 + 10 * t}) for t in range(1, 26)]  # to 27 s
    rows += [(28.0, {"a": 265, "b": 260}), (29.0, {"a": 265, "b": 270})]  # a is done at 27 s
    start, end = busy_window(samples_of(rows), ["a", "b"])
    assert start == 2.0
    assert end == 22.0  # 25 s side by side -> two whole 10 s spans


def test_no_busy_window_when_a_location_never_called_or_they_overlapped_too_briefly():
    never = samples_of([(0.0, {"a": 1}), (30.0, {"a": 300})])
    with pytest.raises(ValueError, match="every location"):
        busy_window(never, ["a", "b"])
    brief = samples_of([(0.0, {"a": 1, "b": 1}), (5.0, {"a": 50, "b": 50})])
    with pytest.raises(ValueError, match="less than 10 s"):
        busy_window(brief, ["a", "b"])


def test_counts_between_samples_are_read_linearly():
    samples = samples_of([(0.0, {"a": 0}), (10.0, {"a": 100}), (20.0, {"a": 100})])
    assert count_at(samples, 2.5, "a") == 25.0
    assert count_at(samples, 10.0, "a") == 100.0
    assert count_at(samples, 15.0, "a") == 100.0
    assert count_at(samples, 99.0, "a") == 100.0  # after the last sample: the last count


def test_window_rates_per_location():
    samples = samples_of([(0.0, {"a": 0, "b": 0}), (20.0, {"a": 194, "b": 160})])
    assert window_rates(samples, start=0.0, end=20.0) == {"a": 9.7, "b": 8.0}
    assert window_rates(samples, start=0.0, end=10.0, locations=["b"]) == {"b": 8.0}
    with pytest.raises(ValueError, match="end after"):
        window_rates(samples, start=5.0, end=5.0)


@pytest.mark.parametrize(
    ("rates", "aggregate", "spread"),
    [
        ({f"loc{i}": 10.0 for i in range(10)}, 100.0, 0.0),
        ({f"loc{i}": 9.7 for i in range(10)}, 97.0, 0.0),
        ({"a": 9.0, "b": 7.5}, 82.5, 20.0),
        ({"a": 6.0, "b": 0.0}, 30.0, math.inf),
    ],
    ids=["at-the-limit", "client-margin", "uneven", "one-starved"],
)
def test_aggregate_percent_and_share_spread(rates, aggregate, spread):
    assert aggregate_percent(rates) == pytest.approx(aggregate)
    assert share_spread_percent(rates) == pytest.approx(spread)


def test_aggregate_and_spread_need_locations():
    with pytest.raises(ValueError):
        aggregate_percent({})
    with pytest.raises(ValueError):
        share_spread_percent({})


def test_cpu_percent_from_clock_ticks():
    assert cpu_percent(ticks=150, seconds=30.0) == pytest.approx(5.0)
    assert cpu_percent(ticks=250, seconds=10.0, ticks_per_second=250) == pytest.approx(10.0)
    with pytest.raises(ValueError):
        cpu_percent(ticks=1, seconds=0)
