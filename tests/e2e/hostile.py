"""Shared pieces of the property-based hostile-input suite (tests/e2e/test_hostile_*.py).

`run_property(name, check)` runs a hypothesis property with the suite's settings (10,000
examples, no deadline, derandomized so CI sees the same inputs every run) and prints the
figures the README's Measured table quotes: inputs tried and wall time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

EXAMPLES = int(__import__("os").environ.get("HOSTILE_EXAMPLES", "10000"))

SUITE = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


class Tally:
    """Counts the inputs a property really saw (explicit examples included)."""

    def __init__(self) -> None:
        self.inputs = 0

    def __call__(self) -> None:
        self.inputs += 1


def run_property(name: str, check: Callable[[], None], tally: Tally) -> tuple[int, float]:
    """Run `check` (a @given function), print and return (inputs tried, seconds)."""
    started = time.perf_counter()
    check()
    seconds = time.perf_counter() - started
    print(f"\n{name}: {tally.inputs:,} generated inputs, 0 crashes, {seconds:.1f} s")
    return tally.inputs, seconds


# Values a careless export or an attacker puts where a field belongs. Drawn by index, so
# hypothesis' reports do not print a 70,000-character list.
_NASTY = [
    "", " ", "\x00", "NaN", "Infinity", "-inf", "1e999", "-1e999", "1e-999", "9" * 400,
    "0x1F", "$1,250,000", "1_000",
    "\u0661\u0662\u0663",  # Arabic-Indic digits: int() takes them
    "\U0001d7d7\U0001d7d7",  # mathematical digits: int() takes them too
    "\u00bd", "\u00b2", "<!channel>", "*bold* _it_", "' OR 1=1 --", "../../etc/passwd",
    "a/b?c=d#e", "%00%2e%2e", "\ud800", "\u202eRTL", "\U0001f3e0" * 50, "x" * 20_000,
]  # fmt: skip
NASTY_TEXT = st.integers(0, len(_NASTY) - 1).map(_NASTY.__getitem__)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers().map(lambda n: n * 10**380),  # far past any int64 or float
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    NASTY_TEXT,
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)


def sometimes(field_values: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """A record with each of `field_values`' keys kept, dropped or replaced by a hostile value."""
    keep_or_replace = {k: st.one_of(st.just(v), JSON_VALUES) for k, v in field_values.items()}
    return st.fixed_dictionaries({}, optional=keep_or_replace)
