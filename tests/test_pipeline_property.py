"""Reading analysed properties: JSON, JSON Lines and CSV, every bad record reported by line."""

import json
import time

import pytest

from services.property import NOTES_MAX, PropertyRecord, clean_text
from services.property_files import ReadError, iter_records, read_records
from tests.fixtures.pipeline import BAD_ROWS, MARKUP_ROW, property_row, property_rows, write_batch


@pytest.mark.parametrize("suffix", [".json", ".jsonl", ".csv"])
def test_each_format_reads_good_rows_and_reports_bad_ones_with_line_and_reason(tmp_path, suffix):
    rows = property_rows(5) + [row for row, _ in BAD_ROWS] + [MARKUP_ROW]
    result = read_records(write_batch(tmp_path / f"batch{suffix}", rows))
    assert [r.mls_id for _, r in result.records] == [
        *(row["mls_id"] for row in property_rows(5)),
        MARKUP_ROW["mls_id"],
    ]
    assert len(result.errors) == len(BAD_ROWS)
    for error, (row, word) in zip(result.errors, BAD_ROWS, strict=True):
        assert word in error.reason
        assert error.mls_id == (row["mls_id"] or None)
    lines = [e.line for e in result.errors]
    assert lines == sorted(lines) and len(set(lines)) == len(lines)
    if suffix != ".json":  # one record per line after the header (CSV) or from line 1 (JSONL)
        first = 2 if suffix == ".csv" else 1
        assert lines == list(range(first + 5, first + 5 + len(BAD_ROWS)))


def test_json_lines_point_at_the_object_start(tmp_path):
    path = tmp_path / "b.json"
    path.write_text('[\n  {"mls_id": "FL-1",\n   "deal_score": 500},\n\n  {"mls_id": "FL-2"}\n]')
    errors = read_records(path).errors
    assert [(e.line, e.mls_id) for e in errors] == [(2, "FL-1"), (5, "FL-2")]


def test_one_json_object_is_a_batch_of_one(tmp_path):
    path = tmp_path / "one.json"
    path.write_text(json.dumps(property_row(1)))
    assert [r.mls_id for _, r in read_records(path).records] == ["TX-10001"]


def test_broken_json_reports_where_and_stops(tmp_path):
    path = tmp_path / "b.json"
    path.write_text(json.dumps(property_rows(2))[:-30])
    result = read_records(path)
    assert len(result.records) == 1
    assert (
        "not valid JSON" in result.errors[-1].reason
        and "rest of the file" in result.errors[-1].reason
    )


def test_duplicate_mls_id_in_a_file_is_reported(tmp_path):
    path = write_batch(tmp_path / "b.jsonl", [property_row(1), property_row(1, list_price=1)])
    result = read_records(path)
    assert (
        len(result.records) == 1 and "duplicate mls_id; first at line 1" in result.errors[0].reason
    )


def test_unknown_type_and_unreadable_file_are_clear_errors(tmp_path):
    with pytest.raises(ReadError, match=r"unknown file type '\.xlsx'"):
        read_records(tmp_path / "deals.xlsx")
    with pytest.raises(ReadError, match="cannot read"):
        read_records(tmp_path / "missing.csv")


def test_csv_text_numbers_and_normalisation(tmp_path):
    row = property_row(
        3, list_price="$245,000", arv="  310000.00 ", zip="33602-1234", state="fl",
        agent_phone="(813) 555-0142", agent_email=" Seller@Example.COM ",
        property_type="Single-Family Homes", baths="2.5", beds="3",
    )  # fmt: skip
    [(_, record)] = read_records(write_batch(tmp_path / "b.csv", [row])).records
    assert (record.list_price, record.arv, record.zip, record.zip5) == (
        245_000, 310_000, "33602-1234", "33602",
    )  # fmt: skip
    assert (record.state, record.agent_phone, record.agent_email) == (
        "FL", "+18135550142", "seller@example.com",
    )  # fmt: skip
    assert (record.property_type, record.baths, record.beds) == ("single_family", 2.5, 3)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"deal_score": "87.5"}, "whole number"),
        ({"deal_score": -1}, "greater than or equal to 0"),
        ({"state": "Florida"}, "state code"),
        ({"agent_phone": "12", "agent_email": None}, "not a valid phone"),
        ({"agent_email": "not-an-email"}, "not an email"),
        ({"mls_id": "has space"}, "not an MLS id"),
        ({"list_price": True}, "true/false"),
        ({"beds": 2.5}, "whole number"),
    ],
)
def test_bad_values_are_explained(change, reason):
    with pytest.raises(ValueError, match=reason):
        PropertyRecord.parse(property_row(1, **change))


def test_markup_and_unicode_are_cleaned_not_rejected():
    record = PropertyRecord.parse(MARKUP_ROW)
    assert record.address == "12 Ocean Dr & Co"
    assert record.analysis_notes == "Très bien — 🏠 motivated seller"
    assert clean_text("a\x00b\x1bc") == "a b c"


def test_long_notes_are_cut_with_the_count_kept():
    record = PropertyRecord.parse(property_row(1, analysis_notes="x" * (NOTES_MAX + 250)))
    assert len(record.analysis_notes) == NOTES_MAX and record.notes_cut == 250


def test_version_changes_with_any_field_and_only_then():
    a = PropertyRecord.parse(property_row(1))
    assert a.version() == PropertyRecord.parse(property_row(1)).version()
    assert a.version() != PropertyRecord.parse(property_row(1, list_price=1)).version()


@pytest.mark.slow  # 10,000 rows
def test_ten_thousand_rows_stream(tmp_path):
    rows = property_rows(10_000)
    for suffix in (".json", ".csv"):
        path = write_batch(tmp_path / f"big{suffix}", rows)
        started = time.perf_counter()
        items = iter_records(path)
        first = next(items)
        assert first[0] == 2  # the header (CSV) or "[" (JSON) is line 1
        count = 1 + sum(1 for _ in items)
        assert count == 10_000
        assert time.perf_counter() - started < 10


@pytest.mark.parametrize("field", ["address", "city", "list_price", "deal_score"])
def test_required_fields_cannot_be_empty(tmp_path, field):
    empties = ["", "   ", None] + (["<b></b>"] if field in ("address", "city") else [])
    rows = [property_row(i, **{field: empty}) for i, empty in enumerate(empties)]
    result = read_records(write_batch(tmp_path / "b.jsonl", rows))
    assert result.records == []
    assert [e.reason for e in result.errors] == [f"{field}: is missing or empty"] * len(rows)
