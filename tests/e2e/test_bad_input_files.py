"""Bad property files: wrong types, impossible values, missing ids, ragged rows, a 1 MB analysis
note, 10,000 rows, and unicode and markup in every text field. Each bad record is reported by
line with a specific reason, the good ones around it are imported (nothing is lost), a huge
note is cut with a note saying so, big files stream, and hostile text reaches GHL and Slack
without being read as markup.
"""

from __future__ import annotations

import csv
import json
import time
import tracemalloc
from pathlib import Path

import pytest

from services.importer import run_import
from services.property import NOTES_MAX, PropertyRecord
from services.property_files import iter_records
from tests.fixtures.bot import BotWorld, deal_row, wait_for
from tests.fixtures.pipeline import DealEnv, property_row, property_rows, write_batch

pytestmark = pytest.mark.slow  # big files (1 MB notes, 10,000 rows) through the importer

MEGABYTE_NOTE = "Roof, HVAC and foundation reviewed; comps attached. " * 20_000  # ~1 MB


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_bad_csv_rows_are_reported_by_line_and_the_good_ones_imported(
    deal_env: DealEnv, tmp_path: Path
) -> None:
    good = property_rows(3)
    header = [*good[0], "favourite_colour"]  # a column nobody asked for is ignored
    bad = {
        3: property_row(101, list_price="abc"),
        4: property_row(102, deal_score=150),
        5: property_row(103, beds=-1),
        6: property_row(104, mls_id=""),
    }
    ragged = [*property_row(105).values(), "", "one cell too many"]  # line 8
    rows = [
        [*good[0].values(), "teal"],
        *([*bad[line].values(), ""] for line in (3, 4, 5, 6)),
        [*good[1].values(), "red"],
        ragged,
        [*good[2].values(), ""],
    ]
    path = write_csv(tmp_path / "batch.csv", header, rows)

    summary = run_import(
        path, client=deal_env.client, engine=deal_env.engine, config=deal_env.config
    )

    reasons = {e.line: e.reason for e in summary.bad}
    assert set(reasons) == {3, 4, 5, 6, 8}, reasons
    assert "list_price" in reasons[3] and "'abc'" in reasons[3]
    assert "deal_score" in reasons[4] and "100" in reasons[4]
    assert "beds" in reasons[5] and "0" in reasons[5]
    assert "mls_id is missing" in reasons[6]
    assert "columns but the header has" in reasons[8]
    assert summary.counts()["created"] == 3 and not summary.ok
    names = sorted(o.name.split(" — ")[0] for o in deal_env.emulator.state.opportunities.values())
    assert names == sorted(r["mls_id"] for r in good)


@pytest.mark.parametrize("suffix", [".jsonl", ".json", ".csv"])
def test_a_one_megabyte_analysis_note_is_cut_with_a_reason(
    deal_env: DealEnv, tmp_path: Path, suffix: str
) -> None:
    rows = property_rows(3)
    rows[1]["analysis_notes"] = MEGABYTE_NOTE
    path = write_batch(tmp_path / f"batch{suffix}", rows)

    summary = run_import(
        path, client=deal_env.client, engine=deal_env.engine, config=deal_env.config
    )

    assert [e.reason for e in summary.bad] == [], "a long note is not a bad record"
    assert summary.counts()["created"] == 3, "the rows after the big one were lost"
    cut = len(MEGABYTE_NOTE.strip()) - NOTES_MAX
    assert any(f"analysis_notes cut by {cut:,} characters" in w for w in summary.warnings)
    (note,) = [n for n in deal_env.emulator.state.notes.values() if rows[1]["mls_id"] in n.body]
    assert len(note.body) < NOTES_MAX + 1_000
    assert f"[analysis cut at {NOTES_MAX:,} characters; {cut:,} more in the source]" in note.body


@pytest.mark.parametrize("suffix", [".csv", ".json"])
def test_a_ten_thousand_row_file_is_streamed_in_bounded_time(tmp_path: Path, suffix: str) -> None:
    rows = [property_row(i, analysis_notes=f"Lot {i}. " + "Comps support ARV. " * 25)
            for i in range(10_000)]  # fmt: skip
    path = write_batch(tmp_path / f"big{suffix}", rows)
    size = path.stat().st_size
    started = time.perf_counter()
    tracemalloc.start()
    try:
        lines = [line for line, item in iter_records(path) if isinstance(item, PropertyRecord)]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    elapsed = time.perf_counter() - started
    assert len(lines) == 10_000
    assert peak < size / 4, f"{peak:,} bytes held for a {size:,}-byte file: not streamed"
    assert elapsed < 20, f"{elapsed:.1f}s to read 10,000 rows"


HOSTILE = {
    "address": "12 <b>Ocean</b> Dr &amp; Co 🏠 &lt;!channel&gt; \u202eevil\u202c <@U0ADMIN01>",
    "city": "Tampa",
    "agent_name": "José <!here> Ñúñez \u200b 👷",
    "analysis_notes": "<script>alert(1)</script> Très bien — 🏠 <https://evil.example|click> "
    "&lt;@U0ADMIN01&gt; *bold* `code` עברית\n\nSecond paragraph.",
    "property_type": "<i>Single Family</i>",
}


def test_unicode_and_markup_in_every_text_field_reach_ghl_and_slack_safely(
    bot_world: BotWorld,
) -> None:
    record = PropertyRecord.parse(deal_row("TPA-7777", **HOSTILE))
    assert "<b>" not in record.address and "🏠" in record.address
    result = bot_world.services.actions.add(record)
    assert result.action == "created" and result.hot, result
    state = bot_world.emulator.state
    (opp,) = state.opportunities.values()
    (note,) = [n for n in state.notes.values() if "TPA-7777" in n.body]
    for text in (opp.name, note.body):
        assert "<script>" not in text and "<b>" not in text and "🏠" in text
    assert "Très bien" in note.body and "Second paragraph." in note.body
    [card] = wait_for(lambda: bot_world.channel_messages("C0DEALS"), what="the hot-deal alert")
    shown = card.text + json.dumps(card.blocks, ensure_ascii=False)
    for raw in ("<!channel>", "<!here>", "<@U0ADMIN01>", "<https://evil", "<script>", "<b>"):
        assert raw not in shown, raw
    assert "&lt;!channel&gt;" in shown and "&amp; Co" in shown and "🏠" in shown
