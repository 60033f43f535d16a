"""Normalised keys for cities, ZIPs and property types, shared by buy boxes and properties.

Matching compares keys, never raw text, so both sides must go through these functions:
`normalise_city("St. Petersburg, FL") == normalise_city("saint petersburg") == "saint petersburg"`.
"""

from __future__ import annotations

import re
import sys
import unicodedata

PROPERTY_TYPES = (
    "single_family",
    "multi_family",
    "condo",
    "townhouse",
    "land",
    "mobile_home",
    "commercial",
)

# USPS codes of states, DC and territories. Used to drop a trailing state from "Tampa, FL":
# matching is by city name (and ZIP), so the state adds nothing but a chance to mismatch.
STATE_CODES = frozenset({
    "al", "ak", "az", "ar", "ca", "co", "ct", "de", "fl", "ga", "hi", "id", "il", "in",
    "ia", "ks", "ky", "la", "me", "md", "ma", "mi", "mn", "ms", "mo", "mt", "ne", "nv",
    "nh", "nj", "nm", "ny", "nc", "nd", "oh", "ok", "or", "pa", "ri", "sc", "sd", "tn",
    "tx", "ut", "vt", "va", "wa", "wv", "wi", "wy", "dc", "pr", "vi", "gu", "as", "mp",
})  # fmt: skip

# Whole-word abbreviations in city names, so "St. Pete Beach" and "Saint Pete Beach" agree.
_CITY_ABBREVIATIONS = {"st": "saint", "ste": "sainte", "ft": "fort", "mt": "mount", "pt": "point"}
_CITY_NOISE = re.compile(r"[^\w]+")
_ZIP_TEXT = re.compile(r"(\d{5})(?:[-\s]?\d{4})?")

# Free-text spellings seen in GHL custom fields, after `_type_words` has lower-cased them and
# turned punctuation into spaces. Plurals are handled by trying the text without a final "s".
_TYPE_SYNONYMS = {
    "single_family": (
        "single family", "singlefamily", "single family home", "single family residence",
        "single family residential", "sfr", "sfh", "sf", "house", "detached", "detached house",
    ),
    "multi_family": (
        "multi family", "multifamily", "multi family home", "multi unit", "multiunit", "mfr",
        "mf", "mfh", "duplex", "triplex", "fourplex", "quadplex", "4plex", "2 4 unit",
        "2 4 units", "small multi family", "apartment building", "apartments",
    ),
    "condo": ("condo", "condominium", "condo unit"),
    "townhouse": ("townhouse", "townhome", "town house", "town home", "rowhouse", "row house"),
    "land": ("land", "lot", "vacant land", "vacant lot", "raw land", "acreage"),
    "mobile_home": (
        "mobile home", "mobile", "manufactured", "manufactured home", "mh", "trailer",
    ),
    "commercial": (
        "commercial", "retail", "office", "industrial", "warehouse", "mixed use", "mixeduse",
    ),
}  # fmt: skip
_TYPE_KEYS = {
    spelling: key for key, spellings in _TYPE_SYNONYMS.items() for spelling in spellings
} | {key.replace("_", " "): key for key in PROPERTY_TYPES}


def normalise_city(value: object) -> str | None:
    """The comparison key of a city name, or None when there is no name.

    Case, accents, punctuation and spacing are ignored, a trailing state code is dropped and
    St/Ft/Mt are spelled out: `normalise_city(" Ft. Myers,  FL ") == "fort myers"`.
    """
    if not isinstance(value, str):
        return None
    text = unicodedata.normalize("NFKD", value)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    # Apostrophes join ("O'Fallon" -> "ofallon"); other punctuation separates words.
    text = text.replace("'", "").replace("\u2019", "")
    words = _CITY_NOISE.sub(" ", text).replace("_", " ").split()
    if len(words) > 1 and words[-1] in STATE_CODES:
        words.pop()
    key = " ".join(_CITY_ABBREVIATIONS.get(word, word) for word in words)
    # Interned: 100,000 buy boxes then share one string per city instead of one per buyer.
    return sys.intern(key) if key else None


def normalise_zip(value: object) -> str | None:
    """The 5-digit ZIP in a value, or None: "33602-1234" -> "33602", 2134 -> "02134".

    Numbers and 4-digit strings get their leading zero back, because spreadsheets and numeric
    custom fields drop it from New England ZIPs.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        return f"{value:05d}" if 501 <= value <= 99_999 else None  # 00501 is the lowest ZIP
    if not isinstance(value, str):
        return None
    text = value.strip()
    if len(text) == 4 and text.isascii() and text.isdigit():
        return "0" + text
    match = _ZIP_TEXT.fullmatch(text)
    return sys.intern(match.group(1)) if match else None


def normalise_property_type(value: object) -> str | None:
    """The property type key of free text, or None if it is not recognised.

    `normalise_property_type("Single-Family Homes") == "single_family"`; see PROPERTY_TYPES.
    """
    if not isinstance(value, str):
        return None
    words = _type_words(value)
    for candidate in (words, words.removesuffix("s"), words.removesuffix("es")):
        key = _TYPE_KEYS.get(candidate)
        if key is not None:
            return key
    return None


def type_label(key: str) -> str:
    """How a property type key reads in a sentence: "single_family" -> "single family"."""
    return key.replace("_", " ")


def city_label(key: str) -> str:
    """How a city key reads in a sentence: "saint petersburg" -> "Saint Petersburg"."""
    return " ".join(word.capitalize() for word in key.split())


def _type_words(text: str) -> str:
    return " ".join(_CITY_NOISE.sub(" ", text.casefold()).replace("_", " ").split())
