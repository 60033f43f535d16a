"""GHL as it really answers, through the real client and emulator: users from `GET
/users/search` (the deprecated list only as a fallback), opportunity custom fields in the live
`fieldValueString` / `fieldValueNumber` shape, and the SMS `fromNumber` from the settings."""

import pytest

from bot.settings import ConfigError, load_settings
from ghl.client import GHLClient
from sandbox.ghl_emulator import DEFAULT_TOKEN, DEMO_LOCATION_ID
from sandbox.ghl_emulator.state import User
from services.config import DealConfigError, load_deal_config


@pytest.fixture
def ghl(seeded_emulator):
    client = GHLClient(
        token=DEFAULT_TOKEN, location_id=DEMO_LOCATION_ID, base_url=seeded_emulator.url
    )
    yield client
    client.close()


def test_users_come_from_search_with_the_locations_company(ghl, seeded_emulator):
    users = ghl.users.list()
    assert {u.email for u in users} >= {"maria.lopez@example.com", "james.carter@example.com"}
    assert not ghl.users.used_fallback
    assert seeded_emulator.count("GET", "/users/search", 200) == 1
    assert seeded_emulator.count("GET", "/users/") == 0  # deprecated in users.json
    assert seeded_emulator.count("GET", "/locations/{locationId}") == 1  # for its companyId


def test_users_fall_back_to_the_deprecated_list_when_search_is_refused(ghl, seeded_emulator):
    ghl.users.use_company("comp_of_someone_else")  # search answers 403 for this token
    users = ghl.users.list()
    assert ghl.users.used_fallback and len(users) == 4
    assert seeded_emulator.count("GET", "/users/search", 403) == 1
    assert seeded_emulator.count("GET", "/users/", 200) == 1


def test_a_location_without_a_company_uses_the_deprecated_list(emulator):
    state = emulator.state
    state.users["u1"] = User("u1", DEMO_LOCATION_ID, "Ann", "Lee", "ann@example.com", "+1")
    with GHLClient(token=DEFAULT_TOKEN, location_id=DEMO_LOCATION_ID, base_url=emulator.url) as c:
        assert [u.email for u in c.users.list()] == ["ann@example.com"]
        assert c.users.used_fallback
    assert emulator.count("GET", "/users/search") == 0


def test_the_deal_map_reads_users_by_search(deal_env):
    emu = deal_env.emulator
    ghl_map = deal_env.pipeline.ghl_map
    assert ghl_map.user_id("maria.lopez@example.com")
    assert emu.count("GET", "/users/search", 200) == 1 and emu.count("GET", "/users/") == 0


def test_opportunity_custom_fields_in_the_live_shape(deal_env):
    emu = deal_env.emulator
    from services.property import PropertyRecord
    from tests.fixtures.pipeline import property_row

    result = deal_env.pipeline.process(PropertyRecord.parse(property_row(0)))
    ids = deal_env.pipeline.ghl_map.opportunity_fields
    raw = emu.state.opportunities[result.opportunity_id]
    opp = deal_env.client.opportunities.get(raw.id)
    shapes = {cf.id: cf for cf in opp.custom_fields}
    score, city = shapes[ids["deal_score"]], shapes[ids["city"]]
    assert (score.type, score.field_value_number, score.field_value) == ("number", 95, None)
    assert (city.type, city.field_value_string) == ("string", "Tampa")
    assert opp.field(ids["deal_score"]) == 95 and opp.field(ids["city"]) == "Tampa"
    assert opp.field(ids["list_price"]) == property_row(0)["list_price"]


def test_sms_goes_out_from_the_configured_number(notify_world):
    world = notify_world
    world.config = load_deal_config(sms_from_number="+18135550199")
    buyer = world.add_buyer(first_name="Dana", phone="+12125550101")
    now = world.at("2027-01-15 15:00")
    world.notify(world.facts("MLS1"), [buyer], now=now)
    world.deliver(now)
    [text] = world.texts(buyer)
    assert text.from_number == "+18135550199"


def test_without_a_number_ghl_picks_its_default(notify_world):
    world = notify_world
    buyer = world.add_buyer(first_name="Dana", phone="+12125550101")
    now = world.at("2027-01-15 15:00")
    world.notify(world.facts("MLS1"), [buyer], now=now)
    world.deliver(now)
    [text] = world.texts(buyer)
    assert text.from_number is None


def test_the_setting_beats_the_mapping(tmp_path):
    mapping = load_deal_config().model_dump(mode="json")
    mapping["sms"]["from_number"] = "+13055550100"
    path = tmp_path / "mapping.json"
    import json

    path.write_text(json.dumps(mapping))
    assert load_deal_config(path).sms.from_number == "+13055550100"
    assert load_deal_config(path, sms_from_number="+18135550199").sms.from_number == (
        "+18135550199"
    )
    mapping["sms"]["from_number"] = "813-555-0100"
    path.write_text(json.dumps(mapping))
    with pytest.raises(DealConfigError, match=r"sms.from_number: .*E.164"):
        load_deal_config(path)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("+18135550199", "+18135550199"), ("", None), (" +18135550199 ", "+18135550199")],
)
def test_ghl_sms_from_number_setting(monkeypatch, value, expected):
    monkeypatch.setenv("GHL_SMS_FROM_NUMBER", value)
    assert load_settings().ghl_sms_from_number == expected


def test_a_malformed_from_number_is_refused_by_name(monkeypatch):
    monkeypatch.setenv("GHL_SMS_FROM_NUMBER", "813-555-0199")
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert "GHL_SMS_FROM_NUMBER" in str(info.value) and "E.164" in str(info.value)
