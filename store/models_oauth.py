"""Tables of the GHL Marketplace app install: tokens (encrypted), installed locations, and
the `state` of each install attempt. Registered on `SQLModel.metadata` by `store.models`.

Tokens are Fernet-encrypted before they reach these columns (`store.oauth_tokens`); a state is
kept as its SHA-256 only, so a copy of the database can neither use a token nor forge a state.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Text
from sqlmodel import Field, SQLModel

from store.types import UTCDateTime, utcnow


class GrantStatus(StrEnum):
    """Whether a location's tokens can still be used."""

    ACTIVE = "active"
    NEEDS_REINSTALL = "needs_reinstall"  # GHL refused the refresh for good
    UNINSTALLED = "uninstalled"  # the app was removed from the location


def _created() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime)


class OAuthGrant(SQLModel, table=True):
    """One location's (or company's) OAuth tokens, encrypted; key: location id or
    ``company:<id>``. `source` "company": minted from the company grant, no refresh token."""

    __tablename__ = "ghl_oauth_grants"

    key: str = Field(primary_key=True, max_length=96)
    kind: str = Field(max_length=16)  # "location" | "company"
    location_id: str | None = Field(default=None, max_length=64)
    company_id: str | None = Field(default=None, max_length=64)
    source: str = Field(default="oauth", max_length=16)  # "oauth" | "company"
    access_token_enc: str | None = Field(default=None, sa_type=Text)
    refresh_token_enc: str | None = Field(default=None, sa_type=Text)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    scope: str | None = Field(default=None, sa_type=Text)
    status: str = Field(default=GrantStatus.ACTIVE, max_length=24)
    status_reason: str | None = None
    refreshed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = _created()
    updated_at: datetime = _created()


class GHLInstall(SQLModel, table=True):
    """A location the app is (or was) installed at, with what GHL says about it."""

    __tablename__ = "ghl_installs"

    location_id: str = Field(primary_key=True, max_length=64)
    company_id: str | None = Field(default=None, max_length=64)
    name: str | None = None
    timezone: str | None = Field(default=None, max_length=64)
    status: str = Field(default="installed", max_length=16)  # "installed" | "uninstalled"
    installed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    uninstalled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = _created()


class OAuthState(SQLModel, table=True):
    """One install attempt's `state` (its SHA-256), valid once until `expires_at`."""

    __tablename__ = "ghl_oauth_states"

    state_hash: str = Field(primary_key=True, max_length=64)
    created_at: datetime = _created()
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
