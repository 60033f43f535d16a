"""Look-ups and input rules shared by the handlers (tenancy, tags, phones, custom fields)."""

from __future__ import annotations

import re
from typing import Any

import phonenumbers

from sandbox.ghl_emulator.calls import NO_ACCESS, ApiError, Call
from sandbox.ghl_emulator.state import Contact, CustomField, Opportunity

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def find_contact(call: Call, contact_id: str, *, missing_status: int = 404) -> Contact:
    """The contact, if it exists in the token's location (403 if in another one)."""
    record = call.state.contacts.get(contact_id)
    if record is None:
        raise ApiError(missing_status, f"Contact with id {contact_id} not found")
    if record.location_id != call.location_id:
        raise ApiError(403, NO_ACCESS)
    return record


def find_opportunity(call: Call, opportunity_id: str) -> Opportunity:
    record = call.state.opportunities.get(opportunity_id)
    if record is None:
        raise ApiError(404, f"Opportunity with id {opportunity_id} not found")
    if record.location_id != call.location_id:
        raise ApiError(403, NO_ACCESS)
    return record


def normalise_tags(tags: list[str]) -> list[str]:
    """Trimmed, lower-cased, de-duplicated tags: GHL stores every tag in lower case."""
    seen: list[str] = []
    for raw in tags:
        name = raw.strip().lower()
        if name and name not in seen:
            seen.append(name)
    return seen


def normalise_phone(phone: str | None) -> str | None:
    """E.164 when the number parses (US by default, as a US location does), else as given."""
    if not phone:
        return None
    try:
        parsed = phonenumbers.parse(phone, "US")
    except phonenumbers.NumberParseException:
        return phone
    if not phonenumbers.is_possible_number(parsed):
        return phone
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def check_email(email: str | None) -> str | None:
    # Assumed, not in the files: GHL's NestJS DTOs check `email` like class-validator's IsEmail,
    # so a malformed one is a 422 rather than a stored typo.
    if email and not _EMAIL.match(email):
        raise ApiError(422, ["email must be an email"])
    return email or None


def resolve_field(fields: list[CustomField], item: dict[str, Any], *, index: int) -> CustomField:
    """The custom field an input item names by `id` or by `key` (`budget_min` or its fieldKey)."""
    wanted_id = item.get("id")
    wanted_key = item.get("key")
    for candidate in fields:
        if wanted_id and candidate.id == wanted_id:
            return candidate
        if wanted_key and wanted_key in (candidate.field_key, candidate.field_key.split(".")[-1]):
            return candidate
    named = wanted_id or wanted_key or "(no id or key)"
    # Unknown fields are refused rather than dropped: a client that names a field wrongly
    # must find out here, not by a value silently missing in GHL.
    raise ApiError(422, [f"customFields[{index}]: no custom field {named!r} in this location"])


def apply_custom_fields(
    call: Call, target: dict[str, Any], items: list[dict[str, Any]], *, model: str
) -> None:
    """Write `[{id|key, field_value}]` items into `target` (field id -> value)."""
    fields = call.state.fields_of(call.location_id, model)
    for index, item in enumerate(items):
        found = resolve_field(fields, item, index=index)
        value = item.get("field_value", item.get("value"))
        if value in (None, "", []):
            target.pop(found.id, None)
        else:
            target[found.id] = value
