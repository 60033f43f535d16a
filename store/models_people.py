"""The people table: which GHL user each Slack user is, matched by email (issue 15).

Registered on `SQLModel.metadata` by `store.models`. Rows are rewritten by the people refresh
job (`bot.ops.people_refresh`); the roles file's `ghl_users` overrides them at lookup time.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from store.types import UTCDateTime, utcnow


class PersonLink(SQLModel, table=True):
    """One Slack user whose Slack email is a GHL user's email."""

    __tablename__ = "people"

    slack_user_id: str = Field(primary_key=True, max_length=32)
    email: str = Field(max_length=320)  # lower-case; the same in Slack and GHL
    ghl_user_id: str = Field(max_length=64)
    ghl_name: str | None = Field(default=None)
    refreshed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
