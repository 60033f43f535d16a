"""The table that keeps Slack deal cards current: one row per card with changes not yet shown.

Registered on `SQLModel.metadata` by `store.models`. `store.cards` is how it is used: any
process marks a card changed (`changes` + 1); a process with Slack claims due rows, updates the
card and records how many changes it showed (`shown`), so a card is updated at most once per
debounce interval however many changes arrive, and by one process at a time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel

from store.types import UTCDateTime, utcnow


def _now_field() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime)


class CardRefresh(SQLModel, table=True):
    """A deal card's pending changes; dirty while `changes > shown`."""

    __tablename__ = "card_refresh"

    mls_id: str = Field(primary_key=True, max_length=64)
    changes: int = 0  # every change marked, ever
    shown: int = 0  # `changes` as the last successful update read it
    dirty_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Not updated again before this (the debounce, or Slack's Retry-After).
    not_before: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    lease_owner: str | None = Field(default=None, max_length=128)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = None
    updated_at: datetime = _now_field()
