"""The locations table and who counts as active, on SQLite and PostgreSQL (issue 14)."""

from __future__ import annotations

from datetime import UTC, datetime

from store.db import session_scope
from store.installs import record_install, record_uninstall
from store.locations import (
    LocationStatus,
    active_location_ids,
    get_location,
    list_locations,
    set_status,
    update_location,
)

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def test_a_single_location_deployment_needs_no_row(session):
    assert list_locations(session) == []
    assert active_location_ids(session) == []
    assert active_location_ids(session, configured="locPIT") == ["locPIT"]
    assert [row.location_id for row in list_locations(session, configured="locPIT")] == ["locPIT"]
    assert get_location(session, "locPIT") is None


def test_installed_locations_are_active_until_uninstalled_or_disabled(engine):
    with session_scope(engine) as s:
        for loc in ("locB", "locA", "locC"):
            record_install(session=s, location_id=loc, now=NOW, name=f"Team {loc}")
    with session_scope(engine) as s:
        assert active_location_ids(s) == ["locA", "locB", "locC"]
        record_uninstall(session=s, location_id="locB", now=NOW)
        set_status(session=s, location_id="locC", status=LocationStatus.DISABLED, now=NOW)
    with session_scope(engine) as s:
        assert active_location_ids(s) == ["locA"]
        # uninstalled stays known (its data stays); disabled only when asked for
        assert [r.location_id for r in list_locations(s)] == ["locA", "locB"]
        everything = list_locations(s, include_disabled=True)
        assert [(r.location_id, r.status, r.name) for r in everything] == [
            ("locA", "active", "Team locA"),
            ("locB", "active", "Team locB"),
            ("locC", "disabled", "Team locC"),
        ]
        set_status(session=s, location_id="locC", status=LocationStatus.ACTIVE, now=NOW)
    with session_scope(engine) as s:
        assert active_location_ids(s, configured="locA") == ["locA", "locC"]


def test_a_disabled_configured_location_is_not_active(session):
    set_status(session=session, location_id="locPIT", status=LocationStatus.DISABLED, now=NOW)
    assert active_location_ids(session, configured="locPIT") == []


def test_settings_merge_and_unset_and_survive_a_new_session(engine):
    with session_scope(engine) as s:
        update_location(
            session=s,
            location_id="locA",
            name="North",
            settings={"sms_states": ["TX", "OK"], "channels": {"deals": "C1"}},
            now=NOW,
        )
    with session_scope(engine) as s:
        update_location(
            session=s,
            location_id="locA",
            settings={"territories": ["Dallas"]},
            unset=["sms_states"],
        )
    with session_scope(engine) as s:
        row = get_location(s, "locA")
        assert row is not None
        assert row.name == "North"
        assert row.settings == {"channels": {"deals": "C1"}, "territories": ["Dallas"]}
        assert row.created_at.tzinfo is not None
        # a row alone (no install, not configured) is known but not active
        assert [r.location_id for r in list_locations(s)] == ["locA"]
        assert active_location_ids(s) == []
