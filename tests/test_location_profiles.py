"""Each location's profile: its overrides over the deployment defaults; channel binding; the
location named on cards only when there are several (issue 14). SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bot.settings import Settings
from matching.notify.rules import load_rules
from services.config import DEFAULT_MAPPING, DealConfigError, load_deal_config
from services.location_channels import (
    ChannelBinding,
    default_location,
    location_for_channel,
    location_label,
)
from services.locations import LocationSettingsError, check_settings, profile_for
from store.db import session_scope
from store.installs import record_install
from store.locations import LocationStatus, set_status, update_location

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def _settings(**env: str) -> Settings:
    return Settings(_env_file=None, **env)  # type: ignore[call-arg]


def test_a_location_without_a_row_gets_the_defaults_unchanged(session):
    settings = _settings(GHL_LOCATION_ID="locPIT", SLACK_DEALS_CHANNEL="#deals-all")
    profile = profile_for(session, "locPIT", settings)
    assert profile.config == load_deal_config()
    assert profile.rules == load_rules()
    assert (profile.deals_channel, profile.ops_channel, profile.replies_channel) == (
        "#deals-all",
        "#ops-alerts",
        "#deals-all",
    )
    assert profile.status == "active" and profile.installed is None
    assert profile.label == "locPIT"
    assert profile.bound_channels() == set()


def test_overrides_merge_over_the_defaults(session, tmp_path):
    record_install(session=session, location_id="locB", now=NOW, name="Bay Team")
    update_location(
        session=session,
        location_id="locB",
        settings={
            "mapping": {"pipeline": {"name": "Bay Acquisitions"}, "thresholds": {"hot": 95}},
            "territories": {"default_user": "bay@example.com", "by_state": {"CA": "ca@x.com"}},
            "sms_states": {"CA": {"daily_cap": 1}},
            "channels": {"deals": "#deals-bay", "ops": "C0OPSBAY1"},
            "bound_channels": ["#bay-team"],
            "sms_from_number": "+14155550100",
        },
        now=NOW,
    )
    profile = profile_for(session, "locB", _settings())
    default = load_deal_config()
    assert profile.config.pipeline.name == "Bay Acquisitions"
    assert profile.config.pipeline.stages == default.pipeline.stages  # merged, not replaced
    assert (profile.config.thresholds.hot, profile.config.thresholds.good) == (95, 75)
    assert profile.config.owner_email_for(state="TX", city=None, zip_code=None) == (
        "bay@example.com"
    )
    assert profile.config.sms.from_number == "+14155550100"
    assert profile.rules.states["CA"].daily_cap == 1
    assert profile.rules.daily_cap == load_rules().daily_cap
    # replies follow the location's deals channel when it names none
    assert (profile.deals_channel, profile.ops_channel, profile.replies_channel) == (
        "#deals-bay",
        "C0OPSBAY1",
        "#deals-bay",
    )
    assert profile.routing.events["hot_deal"] == "#deals-bay"
    assert profile.label == "Bay Team (locB)" and profile.installed is True
    assert profile.bound_channels() == {"#deals-bay", "C0OPSBAY1", "#bay-team"}


def test_a_location_can_use_its_own_mapping_file(session, tmp_path):
    data = json.loads(DEFAULT_MAPPING.read_text())
    data["pipeline"]["name"] = "Other Pipeline"
    file = tmp_path / "other.json"
    file.write_text(json.dumps(data))
    update_location(session=session, location_id="locC", settings={"mapping_file": str(file)})
    assert profile_for(session, "locC", _settings()).config.pipeline.name == "Other Pipeline"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"channel": {"deals": "#x"}}, "location locX: channel: Extra inputs are not permitted"),
        ({"channels": {"deals": "Deals"}}, "'Deals' is not a Slack channel"),
        ({"channels": {"sales": "#x"}}, "channels.sales.[key]: Input should be 'deals'"),
        ({"bound_channels": ["#Bad Name"]}, "is not a Slack channel"),
    ],
)
def test_bad_overrides_are_refused_naming_the_key(raw, message):
    with pytest.raises(LocationSettingsError, match="location locX") as caught:
        check_settings("locX", raw)
    assert message in str(caught.value)


def test_a_broken_mapping_override_names_the_location(session):
    update_location(session=session, location_id="locD", settings={"mapping": {"thresholds": 5}})
    with pytest.raises(DealConfigError, match=r"\(location locD\): thresholds"):
        profile_for(session, "locD", _settings())


def test_channels_bind_to_locations_and_markets(engine):
    settings = _settings(GHL_LOCATION_ID="locA")
    markets = [{"state": "FL", "channels": {"hot_deal": "#deals-fl"}}]
    with session_scope(engine) as s:
        record_install(session=s, location_id="locB", now=NOW)
        record_install(session=s, location_id="locC", now=NOW)
        update_location(
            session=s,
            location_id="locB",
            settings={
                "channels": {"deals": "C0DEALSB1"},
                "mapping": {"slack_routing": {"markets": markets}},
            },
        )
        update_location(session=s, location_id="locC", settings={"bound_channels": ["#team-c"]})
    with session_scope(engine) as s:
        find = location_for_channel
        assert find(s, channel_id="C0DEALSB1", defaults=settings) == ChannelBinding("locB")
        assert find(s, channel_id="C0OTHER99", channel_name="deals-fl", defaults=settings) == (
            ChannelBinding("locB", market="FL")
        )
        assert find(s, channel_id="C0TEAMC99", channel_name="team-c", defaults=settings) == (
            ChannelBinding("locC")
        )
        assert find(s, channel_id="C0NOWHERE", channel_name="general", defaults=settings) is None
        assert default_location(s, defaults=settings) == "locA"
        # a disabled location binds nothing
        set_status(session=s, location_id="locC", status=LocationStatus.DISABLED)
    with session_scope(engine) as s:
        assert (
            location_for_channel(s, channel_id="x", channel_name="team-c", defaults=settings)
            is None
        )


def test_the_location_is_named_only_when_there_are_several(engine):
    with session_scope(engine) as s:
        record_install(session=s, location_id="locA", now=NOW, name="Alpha")
        assert location_label(s, "locA", configured=None) is None
        assert default_location(s, defaults=_settings()) == "locA"
        record_install(session=s, location_id="locB", now=NOW)
    with session_scope(engine) as s:
        assert location_label(s, "locA", configured=None) == "Alpha (locA)"
        assert location_label(s, "locB", configured=None) == "locB"
        assert default_location(s, defaults=_settings()) is None
