"""The intake API's request body in JSON Schema, derived from the model that validates it.

`PropertyRecord` (services/property.py) reads a record the way people write one: numbers as
"$245,000", a ZIP as 33611 or "33611-1234", "" for a missing value, several names for some
fields (`price` for `list_price`). Pydantic's own schema of that model shows only the types
the fields end up as, so this module starts from it (names, titles, bounds, which fields are
required) and widens each field to what the reader really takes, so that the document, which
`tests/test_intake_openapi.py` checks against the running server, tells the truth.

    schema = property_schema()       # one record; body_schema() adds "or a list of them"
"""

from __future__ import annotations

from typing import Any

from pydantic import AliasChoices

from matching.normalise import STATE_CODES
from services.property import NOTES_MAX, PropertyRecord

_SPACE = r"\s*"
# Numbers as people type them: 245000, 245000.50, "$245,000", "245000 USD".
_NUMBER_TEXT = r"^\s*(?:-?\$?\s*[0-9][0-9,]*(?:\.[0-9]+)?\s*(?:[Uu][Ss][Dd])?)?\s*$"
_ZIP_TEXT = r"^\s*[0-9]{5}(?:[-\s]?[0-9]{4})?\s*$"
_MLS_TEXT = r"^\s*[A-Za-z0-9][A-Za-z0-9._-]{0,63}\s*$"
_EMAIL_TEXT = r"^\s*(?:[^@\s]+@[^@\s]+\.[^@\s]+)?\s*$"
_TEXT = r"\S"  # at least one character that is not a space


def _state_pattern() -> str:
    def either_case(code: str) -> str:
        return "".join(f"[{c.upper()}{c}]" for c in code)

    return "^\\s*(?:" + "|".join(either_case(c) for c in sorted(STATE_CODES)) + ")\\s*$"


def _number(bounds: dict[str, Any], *, whole: bool) -> dict[str, Any]:
    number = {"type": "integer" if whole else "number", **bounds}
    return {"anyOf": [number, {"type": "string", "pattern": _NUMBER_TEXT}]}


def _field_schemas() -> dict[str, dict[str, Any]]:
    """Each field's schema as the reader takes it (before the optional "null")."""
    model = PropertyRecord.model_json_schema()["properties"]

    def bounds(name: str) -> dict[str, Any]:
        found = model[name]
        found = next((s for s in found.get("anyOf", [found]) if s.get("type") != "null"), found)
        keys = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")
        return {k: v for k, v in found.items() if k in keys}

    text = {"type": "string", "pattern": _TEXT}
    return {
        "mls_id": {"anyOf": [{"type": "string", "pattern": _MLS_TEXT},
                             {"type": "integer", "minimum": 0}],
                   "description": "The MLS number: letters, digits, . _ - (at most 64). The "
                                  "idempotency key: the same MLS id is always the same deal."},
        "address": {**text, "maxLength": 200},
        "city": {**text, "maxLength": 100},
        "state": {"type": "string", "pattern": _state_pattern(),
                  "description": "Two-letter US state or territory code"},
        "zip": {"anyOf": [{"type": "string", "pattern": _ZIP_TEXT},
                          {"type": "integer", "minimum": 0, "maximum": 99999}]},
        "list_price": _number(bounds("list_price"), whole=False),
        "arv": _number(bounds("arv"), whole=False),
        "est_profit": _number(bounds("est_profit"), whole=False),
        "repair_cost": _number(bounds("repair_cost"), whole=False),
        "beds": _number(bounds("beds"), whole=True),
        "baths": _number(bounds("baths"), whole=False),
        "sqft": _number(bounds("sqft"), whole=False),
        "property_type": {"type": "string"},
        "deal_score": _number(bounds("deal_score"), whole=True),
        "days_on_market": _number(bounds("days_on_market"), whole=False),
        "agent_name": {"type": "string"},
        "agent_phone": {"type": "string", "description": "Any common US or E.164 form; "
                        "refused (422) unless libphonenumber finds a valid number in it"},
        "agent_email": {"type": "string", "pattern": _EMAIL_TEXT},
        "analysis_notes": {"type": "string", "description": f"Plain text or HTML (tags are "
                           f"dropped); kept up to {NOTES_MAX:,} characters, the rest cut"},
    }  # fmt: skip


def _names(field: str) -> list[str]:
    alias = PropertyRecord.model_fields[field].validation_alias
    if isinstance(alias, AliasChoices):
        return [str(choice) for choice in alias.choices]
    return [field]


def property_schema() -> dict[str, Any]:
    """One analysed property, as `POST /api/properties` and `dealfinder import` accept it."""
    fields = PropertyRecord.model_fields
    properties: dict[str, Any] = {}
    all_of: list[dict[str, Any]] = []
    for field, schema in _field_schemas().items():
        title = fields[field].title or field.replace("_", " ").capitalize()
        names = _names(field)
        for name in names:
            entry = {**schema, "title": title}
            if name != field:
                entry["description"] = f"Another name for {field}"
            if not fields[field].is_required():
                entry = {"anyOf": [{**schema}, {"type": "null"}], "title": title,
                         **({"description": entry["description"]}
                            if "description" in entry else {})}  # fmt: skip
            properties[name] = entry
        if fields[field].is_required():
            # Required under any of its names, and not empty ("" and null count as missing).
            all_of.append({"anyOf": [{"required": [name], "properties": {name: {"not": {
                "anyOf": [{"type": "null"}, {"type": "string", "pattern": r"^\s*$"}]}}}}
                for name in names]})  # fmt: skip
    contact = [
        {"required": [name], "properties": {name: {"type": "string", "pattern": _TEXT}}}
        for field in ("agent_phone", "agent_email")
        for name in _names(field)
    ]
    all_of.append({"anyOf": contact, "description": "agent_phone or agent_email is needed: "
                   "GHL finds the seller's contact by one of them"})  # fmt: skip
    return {
        "title": "Property",
        "description": (PropertyRecord.__doc__ or "").strip() + " Unknown fields are ignored.",
        "type": "object",
        "properties": properties,
        "allOf": all_of,
    }


def body_schema(*, max_records: int) -> dict[str, Any]:
    """One property, or a list of 1..max_records of them."""
    one = {"$ref": "#/components/schemas/Property"}
    return {
        "oneOf": [
            one,
            {"type": "array", "items": one, "minItems": 1, "maxItems": max_records},
        ]
    }
