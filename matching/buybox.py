"""Reading a buyer's buy box from GHL contact custom fields, with reasons an agent can act on.

GHL custom fields arrive as whatever was typed: `"$250k"`, `"250,000"`, `250000.0`, `""`,
`"call me"`. The one rule: bad data never widens a buy box. An unreadable budget or bedroom
minimum, or a location/type field with nothing readable in it, keeps the buyer out of matching
(`buy_box is None`) with the reason. Entries dropped from a list that still has readable entries
only narrow the box, so the buyer stays in and the dropped entry is listed in `problems`.

Decisions (documented here because agents will ask):
- Budgets: "$250k" = 250,000, "1.2m" = 1,200,000, decimals round to whole dollars, a trailing
  "+" is ignored. budget_min 0 means no minimum; budget_max 0 is a problem (nothing fits).
- Locations: entries are separated by `,` `;` `|` `/` or new lines. A ZIP or ZIP+4 is a ZIP;
  "FL 33602" or "Tampa FL 33602" is the ZIP. A 2-letter state code right after a city ("Tampa,
  FL") only qualifies that city and is dropped; matching is by city name and ZIP, not state.
  A state on its own ("FL") is not supported as a region and is reported.
- Property types: "any", "all", "no preference" mean any type (no preference).
- min_bedrooms: "3", "3+", "3 bd" = 3; 0 means no minimum.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from matching.models import BuyBox
from matching.normalise import (
    STATE_CODES,
    normalise_city,
    normalise_property_type,
    normalise_zip,
)

__all__ = [
    "BuyBoxParse",
    "build_buy_box",
    "normalise_city",
    "normalise_property_type",
    "normalise_zip",
    "parse_buy_box",
]

_MONEY = re.compile(r"(\d+(?:\.\d+)?|\.\d+)(k|thousand|m|mm|mil|million)?\+?")
_MULTIPLIERS = {None: 1, "k": 1_000, "thousand": 1_000} | dict.fromkeys(
    ("m", "mm", "mil", "million"), 1_000_000
)
_BEDROOMS = re.compile(r"(\d+)(?:\.0+)?\s*\+?\s*(?:bd|bds|br|bed|beds|bedroom|bedrooms)?\s*\+?")
_LOCATION_SEPARATORS = re.compile(r"[,;|/\n]")
_TRAILING_ZIP = re.compile(r"(\d{5})(?:-\d{4})?\s*$")
_TYPE_SEPARATORS = re.compile(r"[,;/|&\n]|\band\b|\bor\b", re.IGNORECASE)
_ANY_TYPE = frozenset({"any", "all", "any type", "all types", "no preference", "open", "either"})
_NO_BEDROOM_MINIMUM = frozenset({"any", "none", "n/a", "na", "no minimum"})


@dataclass(frozen=True, slots=True)
class BuyBoxParse:
    """A parsed buy box (None when the buyer must stay out of matching) and why."""

    buy_box: BuyBox | None
    problems: tuple[str, ...]

    @property
    def matchable(self) -> bool:
        """Whether the buyer can take part in matching."""
        return self.buy_box is not None


class _Problems:
    """Collects reasons; `block` ones keep the buyer out of matching, `note` ones do not."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.blocked = False

    def block(self, message: str) -> None:
        self.messages.append(message)
        self.blocked = True

    def note(self, message: str) -> None:
        self.messages.append(message)


def parse_buy_box(raw: Mapping[str, object]) -> BuyBoxParse:
    """Read the buy box from a contact's custom fields (keys as in the GHL field mapping).

    `parse_buy_box({"budget_max": "$300k", "location_preference": "Tampa, FL; 33602"})`
    -> a box with budget_max 300000, cities {"tampa"}, zips {"33602"} and no problems.
    """
    problems = _Problems()
    budget_min = _read_money("budget_min", raw.get("budget_min"), problems)
    budget_max = _read_money("budget_max", raw.get("budget_max"), problems)
    if budget_min == 0:
        budget_min = None
    if budget_max == 0:
        problems.block("budget_max is 0, so no price is within budget")
        budget_max = None
    if budget_min is not None and budget_max is not None and budget_min > budget_max:
        problems.block(f"budget_min {budget_min} is above budget_max {budget_max}")
    cities, zips = _read_locations(raw.get("location_preference"), problems)
    types = _read_property_types(raw.get("property_type_preference"), problems)
    min_bedrooms = _read_min_bedrooms(raw.get("min_bedrooms"), problems)
    empty = budget_min is None and budget_max is None and not (cities or zips or types)
    if empty and not problems.blocked:
        problems.block("empty buy box: no budget, locations or property types")
    if problems.blocked:
        return BuyBoxParse(None, tuple(problems.messages))
    box = BuyBox(
        budget_min=budget_min,
        budget_max=budget_max,
        cities=frozenset(cities),
        zips=frozenset(zips),
        property_types=types,
        min_bedrooms=min_bedrooms,
    )
    return BuyBoxParse(box, tuple(problems.messages))


def build_buy_box(
    *,
    budget_min: object = None,
    budget_max: object = None,
    cities: Iterable[str] = (),
    zips: Iterable[str] = (),
    property_types: Iterable[str] = (),
    min_bedrooms: object = None,
) -> BuyBoxParse:
    """The same parse for values already split into lists (e.g. a stored buyer row)."""
    return parse_buy_box(
        {
            "budget_min": budget_min,
            "budget_max": budget_max,
            "location_preference": [*cities, *zips],
            "property_type_preference": list(property_types),
            "min_bedrooms": min_bedrooms,
        }
    )


def _read_money(field: str, value: object, problems: _Problems) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    amount: Decimal | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        amount = Decimal(value)
    elif isinstance(value, float) and math.isfinite(value):
        amount = Decimal(repr(value))
    elif isinstance(value, str):
        text = value.casefold().replace("usd", "").replace("$", "").replace(",", "")
        match = _MONEY.fullmatch("".join(text.split()).replace("_", ""))
        if match:
            amount = Decimal(match.group(1)) * _MULTIPLIERS[match.group(2)]
    if amount is None:
        problems.block(f"{field} {_quote(value)} is not a number")
        return None
    if amount < 0:
        problems.block(f"{field} {_quote(value)} is negative")
        return None
    return int(amount.to_integral_value(rounding=ROUND_HALF_UP))


def _read_locations(value: object, problems: _Problems) -> tuple[set[str], set[str]]:
    cities: set[str] = set()
    zips: set[str] = set()
    entries = list(_split(value, _LOCATION_SEPARATORS))
    after_city = False
    for entry in entries:
        zip_code = normalise_zip(entry)
        if zip_code is not None:
            zips.add(zip_code)
            after_city = False
        elif not isinstance(entry, str):
            problems.note(f"location {_quote(entry)} is neither a city nor a ZIP; ignored")
        elif entry.strip(" .").casefold() in STATE_CODES:
            if not after_city:
                problems.note(f"location '{entry}' is a state; name cities or ZIPs instead")
            after_city = False
        elif (found := _TRAILING_ZIP.search(entry)) and not _has_digit(entry[: found.start()]):
            zips.add(found.group(1))
            after_city = False
        elif (city := normalise_city(entry)) is not None and not _has_digit(city):
            cities.add(city)
            after_city = True
        else:
            problems.note(f"location {_quote(entry)} is neither a city nor a ZIP; ignored")
            after_city = False
    if entries and not cities and not zips:
        problems.block(f"location_preference {_quote(value)} has no city or ZIP we can read")
    return cities, zips


def _read_property_types(value: object, problems: _Problems) -> frozenset[str]:
    entries = [e for e in _split(value, _TYPE_SEPARATORS) if isinstance(e, str)]
    if any(" ".join(e.casefold().split()) in _ANY_TYPE for e in entries):
        return frozenset()
    keys = {normalise_property_type(e) for e in entries}
    unknown = [e for e in entries if normalise_property_type(e) is None]
    keys.discard(None)
    if entries and not keys:
        problems.block(f"property_type_preference {_quote(value)} has no recognised property type")
    else:
        for entry in unknown:
            problems.note(f"property type '{entry}' is not recognised; ignored")
    return _type_set(frozenset(k for k in keys if k is not None))


def _read_min_bedrooms(value: object, problems: _Problems) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    count: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        count = value
    elif isinstance(value, float) and value.is_integer():
        count = int(value)
    elif isinstance(value, str):
        text = value.strip().casefold()
        if text in _NO_BEDROOM_MINIMUM:
            return None
        match = _BEDROOMS.fullmatch(text)
        count = int(match.group(1)) if match else None
    if count is None or count < 0:
        problems.block(f"min_bedrooms {_quote(value)} is not a whole number of bedrooms")
        return None
    return count or None


@lru_cache(maxsize=256)
def _type_set(keys: frozenset[str]) -> frozenset[str]:
    # One shared set per combination of types (there are at most 128): 100,000 buyers would
    # otherwise carry 100,000 copies of {"single_family"}.
    return keys


def _split(value: object, separators: re.Pattern[str]) -> Iterable[object]:
    """Non-blank entries of a free-text field or a list of them; numbers pass through."""
    items = value if isinstance(value, list | tuple | set | frozenset) else [value]
    for item in items:
        if isinstance(item, str):
            yield from (part.strip() for part in separators.split(item) if part.strip())
        elif item is not None:
            yield item


def _has_digit(text: str) -> bool:
    return any(ch.isdigit() for ch in text)


def _quote(value: object) -> str:
    text = value if isinstance(value, str) else repr(value)
    text = text if len(text) <= 60 else text[:57] + "..."
    return f"'{text}'" if isinstance(value, str) else text
