"""Input schemas: what callers hand the store, validated and normalised before it is written.

The sync job builds a `BuyerIn` from a GHL contact; `store.buyers.upsert_buyer` writes it.
Normalising here (lower-case cities, 5-digit zips) means matching never has to.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_ZIP = re.compile(r"^(\d{5})(?:-?\d{4})?$")


class BuyerIn(BaseModel):
    """A buyer as the sync job knows it. Local state (opt-out time, synced_at) is the store's."""

    model_config = ConfigDict(str_strip_whitespace=True)

    contact_id: str = Field(min_length=1, max_length=64)
    location_id: str = Field(min_length=1, max_length=64)
    name: str | None = None
    first_name: str | None = None
    phone: str | None = None
    email: str | None = None
    tags: list[str] = Field(default_factory=list)
    timezone: str | None = None
    state: str | None = None
    city: str | None = None
    postal_code: str | None = None
    dnd_sms: bool = False
    opted_out: bool = False
    budget_min: int | None = Field(default=None, ge=0)
    budget_max: int | None = Field(default=None, ge=0)
    cities: list[str] = Field(default_factory=list)
    zips: list[str] = Field(default_factory=list)
    property_types: list[str] = Field(default_factory=list)
    min_bedrooms: int | None = Field(default=None, ge=0)
    excluded_reason: str | None = None
    ghl_updated_at: datetime | None = None

    @field_validator("phone")
    @classmethod
    def _phone_is_e164(cls, value: str | None) -> str | None:
        # Formatting to E.164 (with the location's country) is the sync job's work; a number
        # that reaches the store in any other shape would make GHL reject the SMS later.
        if value in (None, ""):
            return None
        if not _E164.match(value):
            raise ValueError("phone must be in E.164 form, e.g. +15125550100")
        return value

    @field_validator("cities")
    @classmethod
    def _normalise_cities(cls, value: list[str]) -> list[str]:
        return _unique(" ".join(city.split()).lower() for city in value)

    @field_validator("zips")
    @classmethod
    def _normalise_zips(cls, value: list[str]) -> list[str]:
        # ZIP+4 keeps its first five digits; anything that is not a US ZIP is dropped
        # rather than failing the whole contact.
        matches = (_ZIP.match(z.strip()) for z in value)
        return _unique(m.group(1) for m in matches if m)

    @field_validator("tags", "property_types")
    @classmethod
    def _drop_blank(cls, value: list[str]) -> list[str]:
        return _unique(item.strip() for item in value)


def _unique(items: Iterable[str]) -> list[str]:
    """Non-empty items in first-seen order, without repeats."""
    seen: dict[str, None] = {}
    for item in items:
        if item:
            seen.setdefault(item, None)
    return list(seen)
