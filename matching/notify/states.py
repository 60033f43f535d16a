"""Which US state's texting rules apply to a buyer.

State "mini-TCPA" laws (Florida, Oklahoma, Maryland, ...) narrow the hours and the number of
messages. Florida's and Oklahoma's acts presume that a number with one of their area codes
belongs to a resident, so `resolve_states` returns the contact's state *and* the state of the
phone's area code when they differ; the policy applies the strictest of them.

    >>> resolve_state(contact_state=" florida ", phone=None)
    'FL'
    >>> resolve_states(contact_state="TX", phone="+1 813 273 1234")
    ('TX', 'FL')
"""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import geocoder

# USPS codes of the states, DC and the inhabited territories, keyed by their names.
STATE_CODES: dict[str, str] = {
    "alabama": "AL", "alaska": "AK", "arizona": "AZ", "arkansas": "AR", "california": "CA",
    "colorado": "CO", "connecticut": "CT", "delaware": "DE", "florida": "FL", "georgia": "GA",
    "hawaii": "HI", "idaho": "ID", "illinois": "IL", "indiana": "IN", "iowa": "IA",
    "kansas": "KS", "kentucky": "KY", "louisiana": "LA", "maine": "ME", "maryland": "MD",
    "massachusetts": "MA", "michigan": "MI", "minnesota": "MN", "mississippi": "MS",
    "missouri": "MO", "montana": "MT", "nebraska": "NE", "nevada": "NV", "new hampshire": "NH",
    "new jersey": "NJ", "new mexico": "NM", "new york": "NY", "north carolina": "NC",
    "north dakota": "ND", "ohio": "OH", "oklahoma": "OK", "oregon": "OR", "pennsylvania": "PA",
    "rhode island": "RI", "south carolina": "SC", "south dakota": "SD", "tennessee": "TN",
    "texas": "TX", "utah": "UT", "vermont": "VT", "virginia": "VA", "washington": "WA",
    "west virginia": "WV", "wisconsin": "WI", "wyoming": "WY",
    "district of columbia": "DC", "washington dc": "DC", "washington d c": "DC",
    "puerto rico": "PR", "guam": "GU", "us virgin islands": "VI", "virgin islands": "VI",
    "american samoa": "AS", "northern mariana islands": "MP",
}  # fmt: skip

KNOWN_CODES: frozenset[str] = frozenset(STATE_CODES.values())

# phonenumbers files these NANP territories under their own region codes, which are also
# their USPS codes. Each has one zone and none observes DST; they are textable by default.
TERRITORY_ZONES: dict[str, str] = {
    "PR": "America/Puerto_Rico",
    "GU": "Pacific/Guam",
    "VI": "America/St_Thomas",
    "MP": "Pacific/Saipan",
    "AS": "Pacific/Pago_Pago",
}
_TERRITORY_REGIONS = frozenset(TERRITORY_ZONES)

# The IANA zones in use in each state, eastern-most first: what a state alone says about a
# buyer's clock. States split between zones list each (all apply, as for a split area code).
STATE_ZONES: dict[str, tuple[str, ...]] = {
    "AL": ("America/Chicago",), "AK": ("America/Anchorage", "America/Adak"),
    "AZ": ("America/Denver", "America/Phoenix"),  # the Navajo Nation keeps DST
    "AR": ("America/Chicago",), "CA": ("America/Los_Angeles",), "CO": ("America/Denver",),
    "CT": ("America/New_York",), "DE": ("America/New_York",), "DC": ("America/New_York",),
    "FL": ("America/New_York", "America/Chicago"), "GA": ("America/New_York",),
    "HI": ("Pacific/Honolulu",), "ID": ("America/Boise", "America/Los_Angeles"),
    "IL": ("America/Chicago",), "IN": ("America/Indiana/Indianapolis", "America/Chicago"),
    "IA": ("America/Chicago",), "KS": ("America/Chicago", "America/Denver"),
    "KY": ("America/New_York", "America/Chicago"), "LA": ("America/Chicago",),
    "ME": ("America/New_York",), "MD": ("America/New_York",), "MA": ("America/New_York",),
    "MI": ("America/Detroit", "America/Menominee"), "MN": ("America/Chicago",),
    "MS": ("America/Chicago",), "MO": ("America/Chicago",), "MT": ("America/Denver",),
    "NE": ("America/Chicago", "America/Denver"), "NV": ("America/Los_Angeles",),
    "NH": ("America/New_York",), "NJ": ("America/New_York",), "NM": ("America/Denver",),
    "NY": ("America/New_York",), "NC": ("America/New_York",),
    "ND": ("America/Chicago", "America/Denver"), "OH": ("America/New_York",),
    "OK": ("America/Chicago",), "OR": ("America/Los_Angeles", "America/Boise"),
    "PA": ("America/New_York",), "RI": ("America/New_York",), "SC": ("America/New_York",),
    "SD": ("America/Chicago", "America/Denver"), "TN": ("America/New_York", "America/Chicago"),
    "TX": ("America/Chicago", "America/Denver"), "UT": ("America/Denver",),
    "VT": ("America/New_York",), "VA": ("America/New_York",), "WA": ("America/Los_Angeles",),
    "WV": ("America/New_York",), "WI": ("America/Chicago",), "WY": ("America/Denver",),
} | {code: (zone,) for code, zone in TERRITORY_ZONES.items()}  # fmt: skip

# The geocoder describes US numbers either by state ("Florida") or by city ("Tampa, FL").
_CITY_STATE = re.compile(r",\s*([A-Z]{2})$")


def normalize_state(value: str | None) -> str | None:
    """The USPS code for a state written as a code or a name, in any case; None if unknown."""
    if not value:
        return None
    words = re.sub(r"[^a-z ]+", " ", value.casefold().replace(".", ""))
    text = " ".join(words.split())
    if len(text) == 2 and text.upper() in KNOWN_CODES:
        return text.upper()
    return STATE_CODES.get(text)


def state_for_phone(phone: str | None) -> str | None:
    """The state of a US (or US-territory) number's area code, or None if it has none."""
    if not phone:
        return None
    try:
        number = phonenumbers.parse(phone, "US")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    region = phonenumbers.region_code_for_number(number)
    if region in _TERRITORY_REGIONS:
        return region
    if region != "US":
        return None
    description = geocoder.description_for_number(number, "en")
    city_state = _CITY_STATE.search(description)
    if city_state and city_state.group(1) in KNOWN_CODES:
        return city_state.group(1)
    return normalize_state(description)


def resolve_state(*, contact_state: str | None, phone: str | None) -> str | None:
    """The buyer's state: the contact's own if recognisable, else the phone's area code's."""
    return normalize_state(contact_state) or state_for_phone(phone)


def resolve_states(*, contact_state: str | None, phone: str | None) -> tuple[str, ...]:
    """Every state whose rules may apply: the contact's and the area code's, without repeats.

    Both count because Florida-style laws key on the area code while others key on residence;
    applying the strictest of the two is what keeps a sender safe under either reading.
    """
    found = [normalize_state(contact_state), state_for_phone(phone)]
    return tuple(dict.fromkeys(code for code in found if code))
