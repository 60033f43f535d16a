"""Batch imports end to end over real HTTP: bad rows, re-runs, changes, faults, daily limit."""

from collections import Counter
from datetime import timedelta

import pytest

from sandbox.ghl_emulator import Faults
from services.importer import run_import
from tests.fixtures.pipeline import (
    BAD_ROWS,
    MARKUP_ROW,
    broker_config,
    client_for,
    property_row,
    property_rows,
    write_batch,
)

pytestmark = pytest.mark.slow  # whole batches with faults and the daily limit


def ghl_counts(emu) -> tuple[int, int, int, int]:
    s = emu.state
    return len(s.opportunities), len(s.notes), len(s.tasks), len(s.enrolments)


def assert_one_deal_each(emu, mls_ids: list[str]) -> None:
    """Exactly one opportunity per property, one note per deal, no task twice."""
    names = Counter(o.name.split(" — ")[0] for o in emu.state.opportunities.values())
    assert {m: names[m] for m in mls_ids} == dict.fromkeys(mls_ids, 1)
    assert len(names) == len(mls_ids)
    notes = Counter(n.body.splitlines()[0] for n in emu.state.notes.values())
    assert set(notes.values()) == {1}
    tasks = Counter((t.contact_id, t.title) for t in emu.state.tasks.values())
    assert set(tasks.values()) == {1}
    enrolled = Counter(e.contact_id for e in emu.state.enrolments)
    assert set(enrolled.values()) <= {1}


def import_file(env, path, **kw):
    """`run_import` with the env's GHL map (resolved on the first import, then kept, as the
    runtime keeps it per location)."""
    return run_import(
        path, client=env.client, engine=env.engine, config=env.config,
        clock=env.clock.datetime, maps=env.maps, **kw,
    )  # fmt: skip


def test_two_hundred_properties_then_a_rerun_creates_nothing(deal_env, tmp_path):
    emu = deal_env.emulator
    rows = [*property_rows(200), *(row for row, _ in BAD_ROWS), MARKUP_ROW]
    path = write_batch(tmp_path / "batch.json", rows)
    seen = []
    summary = import_file(deal_env, path, on_progress=lambda d, t, r: seen.append((d, t)))
    assert summary.counts() == {"created": 201, "updated": 0, "skipped": 0, "failed": 0}
    assert len(summary.bad) == len(BAD_ROWS)
    assert all(word in e.reason for e, (_, word) in zip(summary.bad, BAD_ROWS, strict=True))
    assert not summary.ok and summary.stopped is None and seen[-1] == (201, 201)
    mls_ids = [r["mls_id"] for r in rows if r in property_rows(200) or r is MARKUP_ROW]
    assert_one_deal_each(emu, mls_ids)
    # GHL's default location -> "per_property". Scores repeat every ten rows: 3 hot (8 calls),
    # 3 good (5), 4 below (4) = 5.5 on average (the listing's contact upsert, opportunity, add
    # tags, note, tasks, enrolment), plus the batch's own look-ups; no search at all: each
    # listing's contact finds its deal without GHL's lagging index.
    assert summary.calls_per_property < 5.6
    assert emu.count("GET", "/opportunities/search") == 0
    markup = next(o for o in emu.state.opportunities.values() if "Ocean" in o.name)
    assert "<b>" not in markup.name and "&amp;" not in markup.name

    before, calls = ghl_counts(emu), deal_env.client.stats.calls
    again = import_file(deal_env, path)
    assert again.counts() == {"created": 0, "updated": 0, "skipped": 201, "failed": 0}
    assert ghl_counts(emu) == before and deal_env.client.stats.calls == calls

    changed = write_batch(tmp_path / "changed.json", [
        property_row(7, list_price=99_000), *property_rows(7), *property_rows(192, start=8),
    ])  # fmt: skip
    third = import_file(deal_env, changed)
    assert third.counts() == {"created": 0, "updated": 1, "skipped": 199, "failed": 0}
    assert third.ok
    assert next(r for r in third.results if r.action == "updated").mls_id == "TX-10007"


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_json_lines_and_csv_import_the_same_way(deal_env, tmp_path, suffix):
    rows = [*property_rows(30), *(row for row, _ in BAD_ROWS), MARKUP_ROW]
    if suffix == ".csv":
        rows = [dict(r, list_price=f"${r['list_price']:,}") if i % 2 else r
                for i, r in enumerate(rows)]  # fmt: skip
    path = write_batch(tmp_path / f"batch{suffix}", rows)
    summary = import_file(deal_env, path)
    assert summary.counts()["created"] == 31 and len(summary.bad) == len(BAD_ROWS)
    assert [e.line for e in summary.bad] == list(
        range(31, 37) if suffix == ".jsonl" else range(32, 38)
    )
    before = ghl_counts(deal_env.emulator)
    assert import_file(deal_env, path).counts()["skipped"] == 31
    assert ghl_counts(deal_env.emulator) == before


def test_faults_lose_nothing_and_duplicate_nothing(deal_env, tmp_path):
    emu = deal_env.emulator
    rows = property_rows(60)
    path = write_batch(tmp_path / "batch.jsonl", rows)
    emu.set_faults(Faults(server_error=0.04, rate_limit_no_retry_after=0.04, drop=0.03,
                          drop_after_commit=0.03, seed=11))  # fmt: skip
    summary = import_file(deal_env, path)
    emu.set_faults(Faults())
    faults = emu.stats["faults"]
    assert min(faults.get(k, 0) for k in ("server_error", "drop", "drop_after_commit")) > 0
    assert summary.counts()["created"] == 60, [r.reason for r in summary.results]
    assert_one_deal_each(emu, [r["mls_id"] for r in rows])
    for result in summary.results:  # every deal has its note and all of its tasks
        mine = [t for t in emu.state.tasks.values() if t.title.endswith(result.mls_id)]
        assert len(mine) == len(deal_env.config.tasks_for(score=result.record.deal_score))
        assert any(n.body.startswith(f"DealFinder analysis — MLS {result.mls_id} ")
                   for n in emu.state.notes.values())  # fmt: skip
    hot = [r for r in summary.results if r.hot]
    enrolled = {e.contact_id for e in emu.state.enrolments}
    for result in hot:  # enrolled once, or reported as unknown; never silently dropped
        assert result.contact_id in enrolled or any("outcome unknown" in w for w in result.warnings)
    before = ghl_counts(emu)
    assert import_file(deal_env, path).counts()["skipped"] == 60
    assert ghl_counts(emu) == before


def test_the_daily_limit_stops_the_batch_and_the_next_day_finishes_it(
    make_emulator, engine, fake_clock, tmp_path
):
    emu = make_emulator(clock=fake_clock, daily_max=120, burst_max=10_000, burst_interval_ms=1_000)
    emu.seed_demo(buyers=3, seed=1)
    client = client_for(emu, fake_clock)
    config = broker_config()
    path = write_batch(tmp_path / "batch.csv", property_rows(40))
    kw = dict(client=client, engine=engine, config=config, clock=fake_clock.datetime)
    first = run_import(path, **kw)
    assert first.stopped and "daily request limit" in first.stopped and "again" in first.stopped
    assert first.left > 0 and first.left + len(first.results) == 40
    assert not first.ok
    fake_clock.now += timedelta(days=1).total_seconds()
    second = run_import(path, **kw)
    assert second.stopped is None and second.ok
    assert_one_deal_each(emu, [r["mls_id"] for r in property_rows(40)])
    client.close()
