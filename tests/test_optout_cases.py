"""The opt-out recogniser over its table of phrasings (tests/data/optout_cases.csv): English
and Spanish, each row's outcome (opt-out, possible opt-out, not) and the buyer's language."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from matching.notify import read_inbound

CASES = Path(__file__).parent / "data" / "optout_cases.csv"
with CASES.open(encoding="utf-8", newline="") as handle:
    ROWS = list(csv.DictReader(handle))


def test_the_table_covers_both_languages_and_all_three_outcomes() -> None:
    assert len(ROWS) >= 150
    seen = Counter((row["language"], row["kind"]) for row in ROWS)
    for language in ("en", "es"):
        for kind in ("opt_out", "possible_opt_out", "other"):
            assert seen[language, kind] >= 8, (language, kind)


@pytest.mark.parametrize("row", ROWS, ids=[f"{n}:{r['body'][:30]}" for n, r in enumerate(ROWS)])
def test_each_phrasing(row: dict[str, str]) -> None:
    reading = read_inbound(row["body"])
    assert (reading.kind, reading.language) == (row["kind"], row["language"]), reading.why
