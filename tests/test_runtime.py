"""`bot.runtime.Runtime`: each part built once per runtime and shared, nothing shared between
two runtimes (no module-level state), per-location parts by location id. Dry run: GHL is the
in-process emulator, so nothing here leaves the machine."""

from __future__ import annotations

from bot.runtime import DRY_RUN_LOCATION, Runtime
from bot.settings import load_settings


def dry_runtime(tmp_path) -> Runtime:
    settings = load_settings(DEALFINDER_DRY_RUN=True, DATABASE_URL=f"sqlite:///{tmp_path}/d.db")
    return Runtime(settings)


def test_location_parts_are_built_once_per_location(tmp_path):
    runtime = dry_runtime(tmp_path)
    try:
        default = runtime.location()
        assert default.location_id == DRY_RUN_LOCATION == default.ghl.location_id
        assert runtime.location(DRY_RUN_LOCATION) is default and runtime.ghl is default.ghl
        other = runtime.location("loc_other")
        assert other is not default and other.ghl.location_id == "loc_other"
        # One mapping and one set of rules per process, one GHL map per location.
        assert other.config is default.config is runtime.config
        assert other.rules is default.rules is runtime.rules
        assert other.maps is not default.maps
        assert default.ghl_map() is default.ghl_map()  # resolved once, then kept
    finally:
        runtime.close()


def test_two_runtimes_share_nothing_and_one_pipeline_serves_a_process(tmp_path):
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    first, second = dry_runtime(tmp_path / "a"), dry_runtime(tmp_path / "b")
    try:
        assert first.engine is not second.engine and first.ghl is not second.ghl
        assert first.deal_pipeline is first.deal_pipeline
        assert first.deal_pipeline is not second.deal_pipeline
        assert first.deal_pipeline.on_hot_deal == []  # no SLACK_BOT_TOKEN: alerts wait in the store
        assert first.ops is first.ops and first.ops is not second.ops
    finally:
        first.close()
        second.close()
