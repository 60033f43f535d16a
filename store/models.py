"""The tables DealFinder keeps across restarts.

Every timestamp is a `UTCDateTime` (aware UTC in, aware UTC out, on both engines). Status
columns are plain strings checked against the `StrEnum`s below rather than database enums,
so adding a status is a code change, not a migration. Constraint and index names are
explicit so the Alembic migrations and these models agree on both SQLite and PostgreSQL.

Changing a table here needs a new revision in ``store/migrations/versions``;
``tests/test_store_migrations.py`` fails until the two match.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from store.types import UTCDateTime, utcnow


class OutboxStatus(StrEnum):
    """Where an outbox item is in its life; see `store.outbox` for the transitions."""

    PENDING = "pending"
    IN_FLIGHT = "in_flight"
    SENT = "sent"
    DEFERRED = "deferred"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXCLUDED = "excluded"


class WebhookEventStatus(StrEnum):
    """Where a stored webhook event is in its processing."""

    RECEIVED = "received"
    PROCESSING = "processing"
    PROCESSED = "processed"
    FAILED = "failed"


class HealthState(StrEnum):
    """The outcome of one health check."""

    HEALTHY = "healthy"
    DEGRADED = "degraded"
    DOWN = "down"


def _json_list() -> Any:
    return Field(default_factory=list, sa_type=JSON)


def _created() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime)


class Buyer(SQLModel, table=True):
    """A GHL contact who buys properties, with the buy box matching reads."""

    __tablename__ = "buyers"

    contact_id: str = Field(primary_key=True, max_length=64)
    location_id: str = Field(index=True, max_length=64)
    name: str | None = None
    first_name: str | None = None
    phone: str | None = Field(default=None, max_length=20)  # E.164
    email: str | None = None
    tags: list[str] = _json_list()
    timezone: str | None = Field(default=None, max_length=64)
    state: str | None = Field(default=None, max_length=32)
    city: str | None = None
    postal_code: str | None = Field(default=None, max_length=16)
    dnd_sms: bool = False
    opted_out: bool = False
    opted_out_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    budget_min: int | None = None
    budget_max: int | None = None
    cities: list[str] = _json_list()  # lower-case
    zips: list[str] = _json_list()  # 5-digit
    property_types: list[str] = _json_list()
    min_bedrooms: int | None = None
    # Why this buyer is kept out of matching (e.g. "budget_min > budget_max"); NULL = matchable.
    excluded_reason: str | None = None
    ghl_updated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    synced_at: datetime = _created()


class Property(SQLModel, table=True):
    """An analysed listing, keyed by its MLS number."""

    __tablename__ = "properties"

    mls_id: str = Field(primary_key=True, max_length=64)
    location_id: str = Field(index=True, max_length=64)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    deal_score: float | None = None
    created_at: datetime = _created()
    updated_at: datetime = _created()


class OpportunityLink(SQLModel, table=True):
    """Which GHL opportunity represents a property, so a deal is never created twice."""

    __tablename__ = "opportunity_links"
    __table_args__ = (
        UniqueConstraint("mls_id", "location_id", name="uq_opportunity_links_mls_location"),
    )

    id: int | None = Field(default=None, primary_key=True)
    mls_id: str = Field(max_length=64)
    location_id: str = Field(max_length=64)
    opportunity_id: str = Field(max_length=64)
    contact_id: str | None = Field(default=None, max_length=64)
    pipeline_id: str | None = Field(default=None, max_length=64)
    stage_id: str | None = Field(default=None, max_length=64)
    assigned_to: str | None = Field(default=None, max_length=64)
    status: str | None = Field(default=None, max_length=32)
    created_at: datetime = _created()
    updated_at: datetime = _created()


class SmsLog(SQLModel, table=True):
    """One SMS slot: reserved before sending, confirmed with GHL's message id, counted by caps."""

    __tablename__ = "sms_log"
    __table_args__ = (
        Index("ix_sms_log_contact_sent", "contact_id", "sent_at"),
        # Released slots are deleted; without AUTOINCREMENT SQLite would hand a released id to
        # the next reservation, and a late confirm/release of the old one would hit the new.
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    contact_id: str = Field(max_length=64)
    mls_id: str | None = Field(default=None, max_length=64)
    outbox_id: int | None = None
    message_id: str | None = Field(default=None, max_length=64)
    sent_at: datetime = Field(sa_type=UTCDateTime)


class OutboxItem(SQLModel, table=True):
    """One side effect to perform exactly once (an SMS, a GHL call, a Slack post)."""

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("dedupe_key", name="uq_outbox_dedupe_key"),
        Index("ix_outbox_status_not_before", "status", "not_before"),
        Index("ix_outbox_contact_status", "contact_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)
    dedupe_key: str = Field(max_length=255)
    contact_id: str | None = Field(default=None, max_length=64)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    status: str = Field(default=OutboxStatus.PENDING, max_length=16)
    not_before: datetime | None = Field(default=None, sa_type=UTCDateTime)
    attempts: int = 0
    last_error: str | None = None
    result: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    claimed_by: str | None = Field(default=None, max_length=128)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The worker whose lease expired before it reported back: its side effect may or may
    # not have happened, so the new claimer must check before repeating it.
    reclaimed_from: str | None = Field(default=None, max_length=128)
    created_at: datetime = _created()
    updated_at: datetime = _created()

    @property
    def outcome_unknown(self) -> bool:
        """True when a previous claimer crashed mid-way and may have done the side effect."""
        return self.reclaimed_from is not None


class WebhookSeen(SQLModel, table=True):
    """A webhook id already accepted, kept for a while to reject replays."""

    __tablename__ = "webhook_seen"

    webhook_id: str = Field(primary_key=True, max_length=128)
    received_at: datetime = Field(sa_type=UTCDateTime, index=True)


class WebhookEvent(SQLModel, table=True):
    """A received webhook stored for processing outside the HTTP request."""

    __tablename__ = "webhook_events"
    __table_args__ = (
        Index("ix_webhook_events_status_received", "status", "received_at"),
        # a recent reply brought by another event path (store.webhooks.reply_from_other_path)
        Index("ix_webhook_events_type_received", "type", "received_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    webhook_id: str | None = Field(default=None, max_length=128, index=True)
    type: str = Field(max_length=64)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    status: str = Field(default=WebhookEventStatus.RECEIVED, max_length=16)
    attempts: int = 0
    last_error: str | None = None
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    received_at: datetime = _created()
    processed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class HealthCheck(SQLModel, table=True):
    """The result of one run of the health check job."""

    __tablename__ = "health_checks"

    id: int | None = Field(default=None, primary_key=True)
    checked_at: datetime = Field(sa_type=UTCDateTime, index=True)
    state: str = Field(max_length=16)
    details: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class SyncState(SQLModel, table=True):
    """Progress of a sync job (cursor, counts), keyed by job name."""

    __tablename__ = "sync_state"

    key: str = Field(primary_key=True, max_length=128)
    value: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    last_synced_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = _created()


class SlackMessage(SQLModel, table=True):
    """The one Slack message that stands for a thing (e.g. key "deal:{location_id}:{mls_id}")."""

    __tablename__ = "slack_messages"

    key: str = Field(primary_key=True, max_length=255)
    channel: str = Field(max_length=64)
    ts: str = Field(max_length=32)
    created_at: datetime = _created()
    updated_at: datetime = _created()


class AlertState(SQLModel, table=True):
    """The last known state of something we alert on, so an alert fires on change only."""

    __tablename__ = "alert_state"

    key: str = Field(primary_key=True, max_length=128)
    state: str = Field(max_length=32)
    since: datetime = Field(sa_type=UTCDateTime)
    last_alerted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class OptoutReviewStatus(StrEnum):
    """Where a possible opt-out is: waiting for a person, or decided one way."""

    PENDING = "pending"
    OPTED_OUT = "opted_out"
    NOT_OPT_OUT = "not_opt_out"


class OptoutReview(SQLModel, table=True):
    """A buyer's reply that may be an opt-out: texting them is paused while it is pending.

    Decided by a broker or admin in Slack, or by the buyer (a plain STOP), or after 24 hours
    without a decision ("auto", an opt-out); `decided_by` and `decided_at` record who and when.
    """

    __tablename__ = "optout_reviews"
    __table_args__ = (
        UniqueConstraint("dedupe_key", name="uq_optout_reviews_dedupe_key"),
        Index("ix_optout_reviews_contact_status", "contact_id", "status"),
        Index("ix_optout_reviews_status_decide_by", "status", "decide_by"),
    )

    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(max_length=255)  # one review per inbound message
    contact_id: str = Field(max_length=64)
    message_id: str | None = Field(default=None, max_length=128)
    body: str
    language: str = Field(default="en", max_length=8)
    why: str | None = None
    mls_id: str | None = Field(default=None, max_length=64)
    status: str = Field(default=OptoutReviewStatus.PENDING, max_length=16)
    decide_by: datetime = Field(sa_type=UTCDateTime)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decided_by: str | None = Field(default=None, max_length=64)
    decided_role: str | None = Field(default=None, max_length=16)
    slack_channel: str | None = Field(default=None, max_length=64)
    slack_ts: str | None = Field(default=None, max_length=32)
    post_claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = _created()


# The app-install tables and the Slack deal cards waiting for an update (`store.cards`) live
# in their own modules; importing them registers them here too.
from store.models_cards import CardRefresh  # noqa: E402, F401

# Location leases of the worker processes (issue 14, scale out) live in their own module too.
from store.models_leases import LeaseWorker, LocationLease  # noqa: E402, F401
from store.models_locations import Location  # noqa: E402, F401  (the locations, issue 14)
from store.models_oauth import GHLInstall, OAuthGrant, OAuthState  # noqa: E402, F401

# The people table (Slack user <-> GHL user by email) lives in its own module too.
from store.models_people import PersonLink  # noqa: E402, F401
