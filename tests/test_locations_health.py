"""Health and metrics per location (issue 14): ops alerts name the location and keep their own
memory; /metrics labels GHL series by location; `dealfinder health` checks every active one.
The GHL emulator over HTTP, the Slack fake's #ops-alerts, the store on SQLite/PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from freezegun import freeze_time
from prometheus_client.parser import text_string_to_metric_families

from bot.ops.health import HealthMonitor
from bot.ops.health_alerts import DOWN, HEALTHY
from bot.ops.wiring import slack_poster
from bot.web.metrics import Metrics
from ghl.client import GHLClient
from services.buyer_sync import sync_key
from store.db import session_scope
from store.models import AlertState
from store.state import set_sync_state
from tests.test_locations_cli import agency, dealfinder, env  # noqa: F401  (fixtures)

BAY_TOKEN = "emu-bay-token"


def _bay_client(world) -> GHLClient:
    world.emulator.seed_demo(buyers=0, seed=2, location_id="loc_b")
    world.emulator.state.tokens[BAY_TOKEN] = "loc_b"
    return GHLClient(
        token=BAY_TOKEN, location_id="loc_b", base_url=world.emulator.url, sleep=lambda _s: None
    )


def test_a_location_down_alerts_under_its_name_and_leaves_the_other_alone(ops_world):
    world = ops_world
    bay = _bay_client(world)
    post = slack_poster(world.web, "#ops-alerts")
    monitors = [
        HealthMonitor(engine=world.engine, client=client, post=post, location_label=label)
        for client, label in ((world.client, "Demo (loc_demo)"), (bay, "Bay Team (loc_b)"))
    ]
    with freeze_time("2027-01-15 15:00"):
        now = datetime.now(UTC)
        with session_scope(world.engine) as session:
            set_sync_state(
                session=session, key=sync_key("loc_b"), value={}, last_synced_at=now, now=now
            )
        world.mark_synced(now)
        assert [m.run(now).state for m in monitors] == [HEALTHY, HEALTHY]
        world.revoke_token()  # loc_demo's token only
        reports = [m.run(now) for m in monitors]
    assert [r.state for r in reports] == [DOWN, HEALTHY]
    assert reports[0].details["location"] == "loc_demo"
    (alert,) = world.ops_messages()
    assert alert.startswith("[Demo (loc_demo)] :red_circle: *DealFinder is DOWN*")
    with session_scope(world.engine, readonly=True) as session:
        assert session.get(AlertState, "health@loc_demo").state == DOWN
        assert session.get(AlertState, "health@loc_b").state == HEALTHY
        assert session.get(AlertState, "health") is None  # the one-location key is untouched
    bay.close()


def test_metrics_label_each_locations_ghl_series(ops_world):
    world = ops_world
    bay = _bay_client(world)
    world.client.locations.get()
    bay.locations.get()
    bay.locations.get()
    metrics = Metrics()
    metrics.watch_ghl(world.client)
    metrics.watch_ghl(bay)
    found = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(metrics.render().decode())
        for s in family.samples
    }
    requests_ok = "dealfinder_ghl_requests_total"
    assert found[(requests_ok, (("location", "loc_demo"), ("status", "200")))] == 1
    assert found[(requests_ok, (("location", "loc_b"), ("status", "200")))] == 2
    assert found[("dealfinder_ghl_burst_max", (("location", "loc_b"),))] > 0
    assert found[("dealfinder_ghl_rate_limited_total", (("location", "loc_demo"),))] == 0
    bay.close()


def test_health_checks_every_active_location(agency):  # noqa: F811
    result = dealfinder("health", "--json")
    assert result.exit_code == 0, result.output
    reports = json.loads(result.output)
    assert sorted(reports) == ["loc_a", "loc_b"]
    assert all(r["ok"] for r in reports.values())

    assert dealfinder("locations", "set", "loc_b", "name=Bay Team").exit_code == 0
    shown = dealfinder("health")
    assert "Bay Team (loc_b)" in shown.output and "loc_a" in shown.output

    assert dealfinder("locations", "disable", "loc_a").exit_code == 0
    assert dealfinder("locations", "disable", "loc_b").exit_code == 0
    none = dealfinder("health")
    assert none.exit_code == 2 and none.output.startswith("no active location")
