"""Column types and time helpers that keep every stored timestamp in aware UTC.

SQLite has no timezone-aware timestamp: it stores text and hands back naive datetimes.
PostgreSQL's ``timestamptz`` returns aware values in the session's time zone. `UTCDateTime`
hides the difference: whatever goes in is converted to UTC, whatever comes out is aware UTC.

    >>> as_utc(datetime(2024, 1, 1, 12, 0))            # naive values are taken to be UTC
    datetime.datetime(2024, 1, 1, 12, 0, tzinfo=datetime.timezone.utc)
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    """The current time as an aware UTC datetime (the only kind the store hands out)."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Normalise a datetime read from anywhere to aware UTC; naive values are taken as UTC.

    Use it on timestamps that did not come through a `UTCDateTime` column (raw SQL rows,
    values parsed from GHL payloads that lack an offset).
    """
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp column that stores UTC and always reads back aware UTC.

    On SQLite the value is stored naive (as UTC text, so text comparison orders correctly);
    on PostgreSQL it is a ``timestamp with time zone``.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"UTCDateTime expects a datetime, got {type(value).__name__}")
        moment = as_utc(value)
        if dialect.name == "sqlite":
            # SQLite compares timestamps as text: every row must use one offset-free format.
            return moment.replace(tzinfo=None)
        return moment

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return as_utc(value)
