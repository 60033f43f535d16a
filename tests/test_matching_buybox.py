"""Buy-box parsing and the normalisers shared with properties: parameter tables."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matching.buybox import (
    build_buy_box,
    normalise_city,
    normalise_property_type,
    normalise_zip,
    parse_buy_box,
)
from matching.models import BuyBox


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("Tampa", "tampa"),
        ("  TAMPA  ", "tampa"),
        ("Tampa, FL", "tampa"),
        ("Tampa FL", "tampa"),
        ("St. Petersburg", "saint petersburg"),
        ("saint  petersburg", "saint petersburg"),
        ("Ft. Myers", "fort myers"),
        ("Mt Pleasant, SC", "mount pleasant"),
        ("Winston-Salem", "winston salem"),
        ("O'Fallon", "ofallon"),
        ("Española", "espanola"),
        ("New York, NY", "new york"),
        ("LA", "la"),  # a lone word is a city, never a dropped state
        ("", None),
        ("  ,. ", None),
        (None, None),
        (42, None),
    ],
)
def test_normalise_city(raw: object, key: str | None) -> None:
    assert normalise_city(raw) == key


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("33602", "33602"),
        (" 33602 ", "33602"),
        ("33602-1234", "33602"),
        ("33602 1234", "33602"),
        ("336021234", "33602"),
        (33602, "33602"),
        (33602.0, "33602"),
        (2134, "02134"),  # numeric fields drop New England's leading zero
        ("2134", "02134"),
        (501, "00501"),
        (500, None),
        ("3360", "03360"),
        ("336", None),
        ("3360a", None),
        ("33602-12", None),
        (100000, None),
        (True, None),
        (None, None),
    ],
)
def test_normalise_zip(raw: object, key: str | None) -> None:
    assert normalise_zip(raw) == key


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("Single Family", "single_family"),
        ("single-family", "single_family"),
        ("SFR", "single_family"),
        ("Single Family Homes", "single_family"),
        ("single_family", "single_family"),
        ("multi family", "multi_family"),
        ("Multifamily", "multi_family"),
        ("duplex", "multi_family"),
        ("Duplexes", "multi_family"),
        ("2-4 units", "multi_family"),
        ("condo", "condo"),
        ("Condos", "condo"),
        ("townhouse", "townhouse"),
        ("Townhomes", "townhouse"),
        ("land", "land"),
        ("Vacant Lot", "land"),
        ("mobile home", "mobile_home"),
        ("Manufactured", "mobile_home"),
        ("commercial", "commercial"),
        ("Mixed-Use", "commercial"),
        ("mansion", None),
        ("", None),
        (None, None),
    ],
)
def test_normalise_property_type(raw: object, key: str | None) -> None:
    assert normalise_property_type(raw) == key


@pytest.mark.parametrize(
    "raw",
    [
        "250000",
        "250,000",
        "$250k",
        "$250K",
        250000,
        250000.0,
        "$250,000.00",
        "250k+",
        " $ 250 000 ",
        "USD 250000",
        "0.25m",
        "249999.5",
    ],
)
def test_budget_spellings(raw: object) -> None:
    parsed = parse_buy_box({"budget_max": raw, "location_preference": "Tampa"})
    assert parsed.problems == ()
    assert parsed.buy_box is not None and parsed.buy_box.budget_max == 250_000


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"budget_max": "call me"}, "budget_max 'call me' is not a number"),
        ({"budget_min": "200k-300k"}, "budget_min '200k-300k' is not a number"),
        ({"budget_min": float("nan")}, "budget_min nan is not a number"),
        ({"budget_min": True}, "budget_min True is not a number"),
        ({"budget_min": -5}, "budget_min -5 is negative"),
        (
            {"budget_min": 500000, "budget_max": "300k"},
            "budget_min 500000 is above budget_max 300000",
        ),
        ({"budget_max": 0}, "budget_max is 0, so no price is within budget"),
        ({"min_bedrooms": "three"}, "min_bedrooms 'three' is not a whole number of bedrooms"),
        ({"min_bedrooms": -1}, "min_bedrooms -1 is not a whole number of bedrooms"),
        ({"min_bedrooms": 2.5}, "min_bedrooms 2.5 is not a whole number of bedrooms"),
        ({"location_preference": "FL"}, "location_preference 'FL' has no city or ZIP we can read"),
        (
            {"location_preference": "???, 12"},
            "location_preference '???, 12' has no city or ZIP we can read",
        ),
        (
            {"property_type_preference": "mansion"},
            "property_type_preference 'mansion' has no recognised property type",
        ),
    ],
)
def test_bad_data_keeps_the_buyer_out_with_a_reason(fields: dict, problem: str) -> None:
    # Every case would otherwise be matchable: it has a city besides the bad field.
    raw = {"location_preference": "Tampa", **fields}
    parsed = parse_buy_box(raw)
    assert parsed.buy_box is None and not parsed.matchable
    assert problem in parsed.problems


@pytest.mark.parametrize(
    "raw",
    [
        {},
        {"budget_min": "", "budget_max": None},
        {"min_bedrooms": 3},
        {"property_type_preference": "any"},
    ],
)
def test_empty_buy_box_is_kept_out(raw: dict) -> None:
    parsed = parse_buy_box(raw)
    assert parsed.buy_box is None
    assert parsed.problems == ("empty buy box: no budget, locations or property types",)


@pytest.mark.parametrize(
    ("text", "cities", "zips", "problems"),
    [
        ("Tampa, FL; 33602-1234, st. petersburg", {"tampa", "saint petersburg"}, {"33602"}, ()),
        ("TAMPA ,  tampa|Brandon\n33610", {"tampa", "brandon"}, {"33610"}, ()),
        ("Tampa FL 33602; FL 33603", set(), {"33602", "33603"}, ()),
        ("Tampa/Clearwater", {"tampa", "clearwater"}, set(), ()),
        (
            "Tampa, 1234x",
            {"tampa"},
            set(),
            ("location '1234x' is neither a city nor a ZIP; ignored",),
        ),
        ("FL, Tampa", {"tampa"}, set(), ("location 'FL' is a state; name cities or ZIPs instead",)),
        (["Tampa, FL", 33602, 2134], {"tampa"}, {"33602", "02134"}, ()),
    ],
)
def test_locations(text: object, cities: set, zips: set, problems: tuple) -> None:
    parsed = parse_buy_box({"location_preference": text})
    assert parsed.buy_box is not None
    assert (parsed.buy_box.cities, parsed.buy_box.zips) == (cities, zips)
    assert parsed.problems == problems


@pytest.mark.parametrize(
    ("text", "types", "problems"),
    [
        ("Single Family, duplex; condo", {"single_family", "multi_family", "condo"}, ()),
        ("SFR or Townhouse", {"single_family", "townhouse"}, ()),
        ("land and mobile homes", {"land", "mobile_home"}, ()),
        (["sfr", "Condo/Townhome"], {"single_family", "condo", "townhouse"}, ()),
        (
            "SFR, mansion",
            {"single_family"},
            ("property type 'mansion' is not recognised; ignored",),
        ),
        ("Any", set(), ()),
        ("condo, any type", set(), ()),
        ("", set(), ()),
    ],
)
def test_property_types(text: object, types: set, problems: tuple) -> None:
    parsed = parse_buy_box({"property_type_preference": text, "location_preference": "Tampa"})
    assert parsed.buy_box is not None
    assert parsed.buy_box.property_types == types
    assert parsed.problems == problems


@pytest.mark.parametrize(
    ("raw", "minimum"),
    [
        ("3", 3),
        ("3+", 3),
        ("3 bd", 3),
        ("3 Beds", 3),
        (" 4 bedrooms+ ", 4),
        (3.0, 3),
        (2, 2),
        ("", None),
        (None, None),
        ("any", None),
        (0, None),
        ("0", None),
    ],
)
def test_min_bedrooms(raw: object, minimum: int | None) -> None:
    parsed = parse_buy_box({"min_bedrooms": raw, "location_preference": "Tampa"})
    assert parsed.buy_box is not None and parsed.buy_box.min_bedrooms == minimum


def test_full_buy_box_and_zero_minimum_budget() -> None:
    parsed = parse_buy_box(
        {
            "budget_min": "0",
            "budget_max": "$300k",
            "location_preference": "Austin; 78704",
            "property_type_preference": "SFR",
            "min_bedrooms": "2+",
        }
    )
    assert parsed.problems == ()
    assert parsed.buy_box == BuyBox(
        budget_min=None,
        budget_max=300_000,
        cities=frozenset({"austin"}),
        zips=frozenset({"78704"}),
        property_types=frozenset({"single_family"}),
        min_bedrooms=2,
    )


def test_build_buy_box_from_stored_lists() -> None:
    parsed = build_buy_box(
        budget_min=100_000,
        cities=["st. pete", "Tampa"],
        zips=["33602-1234"],
        property_types=["SFR"],
    )
    assert parsed.buy_box is not None
    assert parsed.buy_box.cities == {"saint pete", "tampa"}
    assert parsed.buy_box.zips == {"33602"}


@pytest.mark.parametrize(
    "fields",
    [
        {"budget_min": -1},
        {"budget_max": 0},
        {"budget_min": 5, "budget_max": 4},
        {"min_bedrooms": -1},
    ],
)
def test_buy_box_rejects_values_scoring_cannot_handle(fields: dict) -> None:
    with pytest.raises(ValueError):
        BuyBox(**fields)


_junk = st.one_of(
    st.none(),
    st.text(max_size=30),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.lists(st.one_of(st.text(max_size=12), st.integers(), st.none()), max_size=4),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
_FIELDS = [
    "budget_min",
    "budget_max",
    "location_preference",
    "property_type_preference",
    "min_bedrooms",
]


@pytest.mark.slow  # hypothesis, 300 inputs
@settings(max_examples=300, deadline=None)
@given(st.fixed_dictionaries({}, optional=dict.fromkeys(_FIELDS, _junk)))
def test_any_input_parses_without_crashing(raw: dict) -> None:
    parsed = parse_buy_box(raw)
    # Out of matching always comes with a reason; in matching always with a valid box.
    assert parsed.buy_box is not None or parsed.problems
    if parsed.buy_box is not None:
        box = parsed.buy_box
        assert (
            box.budget_min is not None
            or box.budget_max is not None
            or box.cities
            or box.zips
            or box.property_types
        )
        assert all(len(z) == 5 and z.isdigit() for z in box.zips)
        assert all(normalise_city(c) == c for c in box.cities)
