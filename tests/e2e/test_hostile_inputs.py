"""Property-based hostile input: the slash-command grammar and the import readers.

Each property sees 10,000 generated inputs (derandomized: the same ones on every run) and must
never raise: a bad command is a `Malformed` with a reason, a bad record a `RecordError` with
its line. Crashes found here were fixed in the product; each one stays as an `@example`.

    python -m pytest tests/e2e/test_hostile_inputs.py -s    # prints inputs tried and time
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bot.slack.listeners.grammar import Malformed, Parsed
from bot.slack.listeners.registry import COMMANDS, parse_command
from services.property import PropertyRecord
from services.property_files import RecordError, read_records
from tests.e2e.hostile import (
    EXAMPLES,
    JSON_VALUES,
    NASTY_TEXT,
    SUITE,
    Tally,
    run_property,
    sometimes,
)

# 10,000 inputs each take minutes on a small machine: past the suite's 120 s default.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

GOOD_RECORD = {
    "mls_id": "TB240000", "address": "100 Bayshore Blvd", "city": "Tampa", "state": "FL",
    "zip": "33602", "list_price": 265000, "arv": 350000, "est_profit": 29000,
    "repair_cost": 21000, "beds": 2, "baths": 1.5, "sqft": 1100,
    "property_type": "Single Family", "deal_score": 95, "days_on_market": 0,
    "agent_name": "Linda Park", "agent_email": "linda.park0@example.com",
    "agent_phone": "+18135552000", "analysis_notes": "Motivated seller relocating.",
}  # fmt: skip

# -- the slash-command grammar -------------------------------------------------------------------

WORDS = st.sampled_from(
    ["help", "add", "show", "match", "notify", "hot", "health", "validate", "outbox", "HELP",
     "Add", "|", "||", "TB-1", "5", "0", "26", "-1", "999999999999999999999", "١", "²"]
)  # fmt: skip
ADD_LINES = st.lists(st.one_of(NASTY_TEXT, st.text(max_size=20), st.just("")), max_size=12).map(
    lambda parts: "add " + " | ".join(parts)
)
GOOD_ADD = "add TB-9 | 1 Main St | Tampa | FL | 33602 | 250000 | 3 | 91 | a@b.co"
COMMAND_TEXT = st.one_of(
    st.text(max_size=300),
    st.lists(st.one_of(WORDS, NASTY_TEXT, st.text(max_size=12)), max_size=8).map(" ".join),
    ADD_LINES,
    st.builds(
        lambda i, junk: [*GOOD_ADD.split(" | ")[:i], junk, *GOOD_ADD.split(" | ")[i + 1 :]],
        st.integers(0, 8),
        st.one_of(NASTY_TEXT, st.text(max_size=30)),
    ).map(" | ".join),
)


def test_the_grammar_never_crashes() -> None:
    tally = Tally()

    @SUITE
    @given(command=st.one_of(st.sampled_from(COMMANDS), st.text(max_size=10)), text=COMMAND_TEXT)
    @example(command="/deal", text=GOOD_ADD)
    def check(command: str, text: str) -> None:
        tally()
        result = parse_command(command, text)
        assert isinstance(result, Parsed | Malformed)
        if isinstance(result, Malformed):
            assert result.problem and len(result.problem) < 2_000
        elif result.action == "add":
            assert isinstance(result.args["record"], PropertyRecord)

    inputs, _ = run_property("slash-command grammar", check, tally)
    assert inputs >= EXAMPLES


# -- the import readers --------------------------------------------------------------------------

RECORDS = sometimes(GOOD_RECORD)
ROWS = st.lists(st.one_of(RECORDS, JSON_VALUES), max_size=5)


def _json_bytes(value: Any, indent: int | None) -> bytes:
    return json.dumps(value, indent=indent, allow_nan=True).encode("utf-8", "surrogatepass")


def _csv_bytes(header: list[str], rows: list[list[str]]) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(header)
    writer.writerows(rows)
    return text.getvalue().encode("utf-8", "surrogatepass")


def _mangled(data: bytes, cut: int, junk: bytes) -> bytes:
    """A file broken the way transfers break them: cut short and something spliced in."""
    cut = cut % (len(data) + 1)
    return data[:cut] + junk + data[cut:]


JSON_FILES = st.one_of(
    st.builds(_json_bytes, st.one_of(ROWS, RECORDS, JSON_VALUES), st.sampled_from([None, 2])),
    st.builds(_mangled, st.builds(_json_bytes, ROWS, st.just(2)), st.integers(0, 10**6),
              st.binary(max_size=20)),
    st.binary(max_size=300),
)  # fmt: skip
JSONL_FILES = st.one_of(
    st.lists(st.one_of(st.builds(_json_bytes, st.one_of(RECORDS, JSON_VALUES), st.none()),
                       st.binary(max_size=40)), max_size=6).map(b"\n".join),
    st.binary(max_size=300),
)  # fmt: skip
CELLS = st.one_of(
    NASTY_TEXT, st.text(max_size=20), st.sampled_from([str(v) for v in GOOD_RECORD.values()])
)
HEADERS = st.lists(st.one_of(st.sampled_from(list(GOOD_RECORD)), st.text(max_size=10)), max_size=22)
CSV_FILES = st.one_of(
    st.builds(_csv_bytes, HEADERS, st.lists(st.lists(CELLS, max_size=22), max_size=5)),
    st.builds(_csv_bytes, st.just(list(GOOD_RECORD)),
              st.lists(st.lists(CELLS, min_size=19, max_size=19), max_size=5)),
    st.builds(_mangled, st.builds(_csv_bytes, st.just(list(GOOD_RECORD)),
                                  st.just([[str(v) for v in GOOD_RECORD.values()]])),
              st.integers(0, 10**6), st.binary(max_size=20)),
    st.binary(max_size=300),
)  # fmt: skip
FILES = st.one_of(
    st.tuples(st.just(".json"), JSON_FILES),
    st.tuples(st.just(".jsonl"), JSONL_FILES),
    st.tuples(st.just(".csv"), CSV_FILES),
)


def test_the_import_readers_never_crash(tmp_path: Path) -> None:
    tally = Tally()

    @SUITE
    @given(file=FILES)
    @example(file=(".json", _json_bytes([GOOD_RECORD], 2)))
    # Crashes found by this suite (OverflowError from float() and round()), fixed in
    # services.property._number: a 400-digit price, JSON's Infinity and NaN, a huge integer.
    @example(
        file=(
            ".csv",
            _csv_bytes(
                list(GOOD_RECORD),
                [
                    [
                        "TB1",
                        "1 A St",
                        "Tampa",
                        "FL",
                        "33602",
                        "9" * 400,
                        *[""] * 7,
                        "Condo",
                        "91",
                        "",
                        "",
                        "a@b.co",
                        "",
                    ]
                ],
            ),
        )
    )
    @example(file=(".json", b'{"list_price": Infinity, "arv": NaN, "mls_id": "T1"}'))
    @example(file=(".jsonl", _json_bytes(GOOD_RECORD | {"list_price": 10**300}, None)))
    def check(file: tuple[str, bytes]) -> None:
        tally()
        suffix, data = file
        path = tmp_path / f"batch{suffix}"
        path.write_bytes(data)
        result = read_records(path)
        for line, record in result.records:
            assert line >= 1 and isinstance(record, PropertyRecord)
        for error in result.errors:
            assert isinstance(error, RecordError) and error.line >= 1 and error.reason

    inputs, _ = run_property("import readers (JSON, JSON Lines, CSV)", check, tally)
    assert inputs >= EXAMPLES
