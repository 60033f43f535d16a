"""The locations table: each GHL location (sub-account) this deployment serves (issue 14).

Registered on `SQLModel.metadata` by `store.models`. A row holds what an operator set for the
location (`dealfinder locations set`): its name, whether it is disabled, and its `settings`
overrides (mapping, SMS states, territories, Slack channels, roles) merged over the
deployment's defaults by `services.locations`. Installs (`ghl_installs`) say which locations
the app is installed at; a location with no row here simply uses the defaults.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON
from sqlmodel import Field, SQLModel

from store.types import UTCDateTime, utcnow


class LocationStatus(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"  # an operator switched it off; its data stays


class Location(SQLModel, table=True):
    """One GHL location with its per-location overrides."""

    __tablename__ = "locations"

    location_id: str = Field(primary_key=True, max_length=64)
    name: str | None = None
    status: str = Field(default=LocationStatus.ACTIVE, max_length=16)
    settings: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
