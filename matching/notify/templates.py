"""The deal alert text one buyer receives, from a `string.Template` with `$name` placeholders.

Placeholders: $brand $first_name $address $city $location (address and city joined)
$price ("$245,000") $beds ("3 bd", empty when unknown) $details (price and beds joined) $link.
A template is checked when the rules load (`validate_template`), so an unknown placeholder
stops start-up instead of a send. The text is kept to 320 characters, two GSM-7 segments:
the address gives way first, then the city, then the first name; the link and the opt-out
hint are never cut, and the hint is appended when a template lacks it (CTIA guidelines ask
for opt-out instructions in marketing texts).

    render_deal_sms(template=None, brand="Acme Deals", first_name="Dana",
                    address="12 Oak St", city="Tampa", price=245_000, beds=3,
                    link="https://d.example/p/42")
"""

from __future__ import annotations

import re
from string import Template
from typing import TypedDict, Unpack, cast

MAX_LENGTH = 320
OPT_OUT_HINT = "Reply STOP to opt out"
DEFAULT_TEMPLATE = "$brand: Hi $first_name, new deal: $location - $details. $link " + OPT_OUT_HINT
PLACEHOLDERS = frozenset(
    {"brand", "first_name", "address", "city", "location", "price", "beds", "details", "link"}
)
_ELLIPSIS = "..."
_LINK_MARK = "\x00link\x00"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Fields that may be shortened to fit, in the order they give way.
_SHRINKABLE = ("address", "city", "first_name")
# Typographic characters outside GSM-7 would switch the whole text to UCS-2 (70 characters a
# segment instead of 160), tripling the cost of a message for a curly apostrophe.
_TO_GSM = str.maketrans(
    {"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-", "…": _ELLIPSIS, "\u00a0": " "}
)


_BRAND_MAX = 30


def help_reply(brand: str, *, language: str = "en") -> str:
    """The answer to HELP: who is texting, what about, and how to stop (under 160 chars), in
    Spanish when the buyer wrote in Spanish. Only GSM-7 characters (no á, í, ó, ú), so the
    Spanish answer is one segment too."""
    if language == "es":
        return (
            f"{_short(brand)}: alertas de ofertas inmobiliarias. Frecuencia variable; pueden "
            "aplicar tarifas de mensajes y datos. Responda STOP para cancelar."
        )
    return (
        f"{_short(brand)}: real-estate deal alerts. Msg frequency varies; msg & data rates may "
        "apply. Reply STOP to opt out."
    )


def opt_out_confirmation(brand: str, *, language: str = "en") -> str:
    """The one confirmation the FCC allows after an opt-out; no marketing in it. In Spanish
    when the buyer wrote in Spanish (GSM-7 only, as `help_reply`)."""
    if language == "es":
        return (
            f"{_short(brand)}: le dimos de baja y no le enviaremos otro mensaje. "
            "Responda START para volver a suscribirse."
        )
    return (
        f"{_short(brand)}: you're unsubscribed and will get no more texts. "
        "Reply START to resubscribe."
    )


def _short(brand: str) -> str:
    name = " ".join((brand or "").split())
    return name if len(name) <= _BRAND_MAX else name[: _BRAND_MAX - 3].rstrip() + "..."


class MessageTooLongError(ValueError):
    """Even with every shrinkable field emptied, the text exceeds the limit (a long link)."""


def validate_template(template: str) -> None:
    """Raise ValueError if the template has bad `$` syntax, unknown placeholders, or no $link."""
    parsed = Template(template)
    if not parsed.is_valid():
        raise ValueError("SMS template has a stray '$'; write '$$' for a literal dollar sign")
    names = set(parsed.get_identifiers())
    unknown = sorted(names - PLACEHOLDERS)
    if unknown:
        known = ", ".join(f"${name}" for name in sorted(PLACEHOLDERS))
        raise ValueError(f"SMS template uses unknown placeholders {unknown}; known: {known}")
    if "link" not in names:
        raise ValueError("SMS template must contain $link: an alert without its deal is noise")
    sample_facts = DealFacts(
        brand="B", first_name="", address="", city="", price=0, beds=None, link="https://x.co/1"
    )
    sample = _render(template, _fields(sample_facts))
    if len(sample) > MAX_LENGTH - 60:
        raise ValueError(f"SMS template leaves under 60 of {MAX_LENGTH} characters for the deal")


def format_price(price: int) -> str:
    """A whole-dollar price for a text: 245000 -> "$245,000"."""
    if price < 0:
        raise ValueError("price cannot be negative")
    return f"${price:,}"


def format_beds(beds: int | None) -> str:
    """Bedrooms for a text: 3 -> "3 bd", 0 -> "studio", unknown -> ""."""
    if beds is None or beds < 0:
        return ""
    return "studio" if beds == 0 else f"{beds} bd"


class DealFacts(TypedDict):
    """What a deal text says: the sender, the buyer's name, the place, price, beds and link."""

    brand: str
    first_name: str | None
    address: str | None
    city: str | None
    price: int
    beds: int | None
    link: str


def render_deal_sms(*, template: str | None, **facts: Unpack[DealFacts]) -> str:
    """One buyer's deal alert: at most 320 characters, the link whole, the opt-out hint in."""
    template = template or DEFAULT_TEMPLATE
    validate_template(template)
    if not _clean(facts["brand"]) or not _clean(facts["link"]):
        raise ValueError("brand and link are required in a deal text")
    fields = _fields(facts)
    text = _render(template, fields)
    for name in _SHRINKABLE:
        while len(text) > MAX_LENGTH and fields[name] not in ("", "there"):
            shorter = _shorten(fields[name], by=len(text) - MAX_LENGTH)
            facts = cast(DealFacts, {**facts, name: shorter})
            fields = _fields(facts)
            text = _render(template, fields)
    if len(text) > MAX_LENGTH:
        raise MessageTooLongError(f"deal text is {len(text)} characters even fully shortened")
    return text


def _fields(facts: DealFacts) -> dict[str, str]:
    brand, first_name, link = facts["brand"], facts["first_name"], facts["link"]
    address, city, price, beds = facts["address"], facts["city"], facts["price"], facts["beds"]
    place = ", ".join(part for part in (_clean(address), _clean(city)) if part)
    details = ", ".join(part for part in (format_price(price), format_beds(beds)) if part)
    return {
        "brand": _clean(brand),
        "first_name": _clean(first_name) or "there",
        "address": _clean(address),
        "city": _clean(city),
        "location": place,
        "price": format_price(price),
        "beds": format_beds(beds),
        "details": details,
        "link": _clean(link),
    }


def _render(template: str, fields: dict[str, str]) -> str:
    for name, value in fields.items():
        if not value:
            template = _drop_placeholder(template, name)
    # The link stands in as a marker while the text is tidied, so no rule can alter the URL.
    text = Template(template).safe_substitute(fields, link=_LINK_MARK)
    text = re.sub(r"\s+([,.!?])", r"\1", text)
    text = re.sub(r"\s{2,}", " ", text).strip()
    if OPT_OUT_HINT.casefold() not in text.casefold():
        text = f"{text} {OPT_OUT_HINT}"
    return text.translate(_TO_GSM).replace(_LINK_MARK, fields["link"])


def _drop_placeholder(template: str, name: str) -> str:
    """Remove an empty field's placeholder with the separator or brackets that belong to it.

    "$price, $beds" -> "$price"; "at $address ($city)" -> "at $address";
    "$location - $details" with no location -> "$details".
    """
    field = rf"\$(?:{name}(?![_a-zA-Z0-9])|\{{{name}\}})"
    for pattern in (
        rf"\s*\(\s*{field}\s*\)",  # wrapped in brackets
        rf"(?:\s*,\s*|\s+-\s+|\s*/\s*){field}",  # after a separator
        rf"{field}(?:\s*,|\s+-|\s*/)?\s*",  # first in a list, or alone
    ):
        template, found = re.subn(pattern, "", template)
        if found:
            return template
    return template


def _shorten(value: str, *, by: int) -> str:
    """`value` at least `by` characters shorter, cut at a word when one is near, with '...'."""
    base = value.removesuffix(_ELLIPSIS)
    keep = len(value) - by - len(_ELLIPSIS)
    if keep <= 0:
        return ""
    cut = base[:keep]
    space = cut.rfind(" ")
    if space >= keep * 0.6:
        cut = cut[:space]
    return cut.rstrip(" ,.-#") + _ELLIPSIS


def _clean(value: str | None) -> str:
    # One line per field: a newline in a CRM name would split the message oddly.
    return " ".join(_CONTROL.sub(" ", value or "").split())
