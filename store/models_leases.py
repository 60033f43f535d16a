"""Location leases: which worker process works which GHL location (issue 14, scale out).

Registered on `SQLModel.metadata` by `store.models`; used by `store.location_leases`.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from store.types import UTCDateTime, utcnow


class LocationLease(SQLModel, table=True):
    """One location's lease: free when `holder` is None or `expires_at` has passed."""

    __tablename__ = "location_leases"

    location_id: str = Field(primary_key=True, max_length=64)
    holder: str | None = Field(default=None, max_length=128)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    heartbeat_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    taken_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class LeaseWorker(SQLModel, table=True):
    """A worker process taking location leases, alive while `seen_at` is recent."""

    __tablename__ = "lease_workers"

    holder: str = Field(primary_key=True, max_length=128)
    seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
