"""Routing per event and market (services.slack_routing): the pure policy and its config."""

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from bot.cli.deals import register
from services.config import DEFAULT_MAPPING, DealConfigError, load_deal_config
from services.slack_routing import SlackRoutingSpec, resolve_routing, route


@dataclass(frozen=True)
class Place:
    state: str | None = None
    city: str | None = None
    zip: str | None = None


SECTION = {
    "events": {"hot_deal": "#deals", "buyer_reply": "#deal-replies", "good_deal": "#good"},
    "markets": [
        {"state": "FL", "channels": {"hot_deal": "#deals-fl", "buyer_reply": "#deals-fl"}},
        {"state": "FL", "city": "Tampa", "channels": {"hot_deal": "#deals-tampa"}},
        {"zip_prefix": "336", "channels": {"hot_deal": "#deals-336"}},
        {"zip_prefix": "33602", "channels": {"hot_deal": "#deals-33602"}},
        {"city": "austin", "channels": {"ops": "#ops-austin"}},
    ],
}
ROUTING = resolve_routing(
    SlackRoutingSpec.model_validate(SECTION), deals="#set-deals", replies="#set-replies",
    ops="#set-ops",
)  # fmt: skip
DEFAULTS = resolve_routing(None, deals="#set-deals", replies="#set-replies", ops="#set-ops")


@pytest.mark.parametrize(
    ("routing", "event", "deal", "channel"),
    [
        # no section: today's settings exactly, good deals not posted
        (DEFAULTS, "hot_deal", Place("FL", "Tampa", "33602"), "#set-deals"),
        (DEFAULTS, "buyer_reply", Place("FL"), "#set-replies"),
        (DEFAULTS, "ops", None, "#set-ops"),
        (DEFAULTS, "good_deal", Place("FL"), None),
        # a TX deal: the section's defaults, the settings where the section is silent
        (ROUTING, "hot_deal", Place("TX", "Dallas", "75201"), "#deals"),
        (ROUTING, "buyer_reply", Place("TX"), "#deal-replies"),
        (ROUTING, "ops", Place("TX"), "#set-ops"),
        (ROUTING, "good_deal", Place("TX"), "#good"),
        # FL: state < city < ZIP prefix < longer ZIP prefix
        (ROUTING, "hot_deal", Place("FL", "Miami", "33101"), "#deals-fl"),
        (ROUTING, "hot_deal", Place("fl", " TAMPA ", "33101"), "#deals-tampa"),
        (ROUTING, "hot_deal", Place("FL", "Tampa", "33610"), "#deals-336"),
        (ROUTING, "hot_deal", Place("FL", "Tampa", "33602-1234"), "#deals-33602"),
        # a market without a channel for the event: the next most specific one that has it
        (ROUTING, "buyer_reply", Place("FL", "Tampa", "33602"), "#deals-fl"),
        (ROUTING, "good_deal", Place("FL", "Tampa", "33602"), "#good"),
        # a city market without a state matches that city in any state
        (ROUTING, "ops", Place("TX", "Austin"), "#ops-austin"),
        # nothing known of the deal: the event's default
        (ROUTING, "hot_deal", None, "#deals"),
        (ROUTING, "hot_deal", Place(), "#deals"),
    ],
)
def test_route(routing, event, deal, channel):
    assert route(event=event, deal=deal, routing=routing) == channel


def test_equally_specific_markets_the_first_listed_wins():
    spec = SlackRoutingSpec.model_validate(
        {"markets": [{"state": "FL", "channels": {"hot_deal": "#first"}},
                     {"state": "FL", "channels": {"hot_deal": "#second"}}]}
    )  # fmt: skip
    routing = resolve_routing(spec, deals="#d", replies="#r", ops="#o")
    assert route(event="hot_deal", deal=Place("FL"), routing=routing) == "#first"


def _mapping_with(tmp_path: Path, section: object) -> Path:
    data = json.loads(DEFAULT_MAPPING.read_text(encoding="utf-8"))
    path = tmp_path / "mapping.json"
    path.write_text(json.dumps({**data, "slack_routing": section}), encoding="utf-8")
    return path


BAD_SECTIONS = [
    ({"events": {"hot_deal": "deals"}}, "is not a Slack channel"),
    ({"events": {"hot_deal": None}}, "hot_deal needs a channel"),
    ({"events": {"sms": "#x"}}, "slack_routing.events.sms.[key]"),
    ({"markets": [{"channels": {"hot_deal": "#x"}}]}, "needs a state, a city or a zip_prefix"),
    ({"markets": [{"state": "Florida", "channels": {"hot_deal": "#x"}}]}, "two-letter state"),
    ({"markets": [{"zip_prefix": "33a", "channels": {"hot_deal": "#x"}}]}, "1 to 5 digits"),
    ({"markets": [{"state": "FL", "channels": {}}]}, "at least one channel"),
    ({"markets": [{"state": "FL", "channel": "#x", "channels": {"ops": "#x"}}]}, "channel"),
]


@pytest.mark.parametrize(("section", "problem"), BAD_SECTIONS)
def test_a_bad_section_is_named_when_the_map_is_loaded(tmp_path, section, problem):
    with pytest.raises(DealConfigError) as caught:
        load_deal_config(_mapping_with(tmp_path, section))
    text = str(caught.value)
    assert problem in text and "slack_routing" in text and "\n" not in text


def test_the_packaged_map_routes_as_the_settings_say():
    assert load_deal_config().slack_routing is None


def test_validate_names_a_bad_routing_in_one_line_exit_2(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = typer.Typer()
    register(app)
    path = _mapping_with(tmp_path, {"markets": [{"state": "Florida", "channels": {}}]})
    env = {
        "DEALFINDER_MAPPING_FILE": str(path), "DEALFINDER_DRY_RUN": "1",
        "DEALFINDER_LOG_LEVEL": "WARNING", "GHL_API_KEY": None, "GHL_LOCATION_ID": None,
    }  # fmt: skip
    result = CliRunner().invoke(app, ["validate"], env=env)
    assert result.exit_code == 2, result.output
    # One message (the terminal may wrap it): the file, the field and the fix.
    text = " ".join(result.output.split())
    assert "mapping.json" in text and "slack_routing.markets.0.state" in text
    assert "two-letter state code like FL" in text
    assert "Traceback" not in result.output
