"""What a hot deal sets off: the hot-deal workflow once, broker texts queued, hooks called.

Workflow enrolment has no idempotency key and no way to ask GHL afterwards whether it happened, so
it goes through the outbox (dedupe key ``workflow:hot_deal:{location_id}:{mls_id}``) and is done at
most once: enqueue, claim, call, mark sent. The crash window is between GHL accepting the call and
``mark_sent`` committing (a few milliseconds): a run that dies there leaves the item in flight, and
the next claimer (after the lease) finds ``outcome_unknown`` and marks it failed with a note to
check GHL instead of enrolling the contact a second time. The same goes for a 5xx or a lost answer
to the enrolment call itself.

Broker texts are only enqueued (kind ``sms``, ``purpose: broker_alert``); the delivery worker
sends them. Their ``not_before`` follows the buyers' quiet-hours rules, by the broker's phone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from ghl.client import GHLClient
from ghl.errors import (
    GHLConnectionError,
    GHLDailyLimitError,
    GHLError,
    GHLRateLimitError,
    GHLServerError,
)
from ghl.models import User
from matching.notify import (
    NotifyRules,
    next_allowed,
    normalize_phone,
    resolve_states,
    resolve_timezone,
    window_for,
)
from services.pipeline.parts import LocationPart
from services.pipeline.rules import broker_message
from services.property import PropertyRecord
from store import outbox
from store.db import session_scope
from store.models import OutboxItem, OutboxStatus

log = logging.getLogger("dealfinder.pipeline")

WORKFLOW_KIND = "workflow"
SMS_KIND = "sms"
LEASE_SECONDS = 120
RETRY_LATER = timedelta(minutes=1)
UNKNOWN = (
    "outcome unknown: GHL may have enrolled the contact; not repeated because GHL cannot be "
    "asked. Check the contact's workflows in GHL"
)


def workflow_prefix(location_id: str) -> str:
    """The dedupe-key prefix of one location's hot-deal enrolments: a location drains only
    its own (another location's contact is not reachable with its token)."""
    return f"workflow:hot_deal:{location_id}:"


def workflow_key(location_id: str, mls_id: str) -> str:
    return workflow_prefix(location_id) + mls_id


def broker_sms_key(email: str, mls_id: str) -> str:
    return f"sms:broker:{email.strip().lower()}:{mls_id}"


class WorkflowEnrolments:
    """Due hot-deal workflow enrolments from the outbox, each performed at most once.

    The pipeline drains them after enqueueing a deal's; the worker's `hot_deal_workflows` job
    drains what is left due (a retry after a 429 or a connection that never reached GHL, an
    item an operator put back with `dealfinder outbox retry`).
    """

    def __init__(
        self, *, client: GHLClient, engine: Engine, clock: Callable[[], datetime], worker_id: str
    ):
        self.client, self.engine, self.clock, self.worker_id = client, engine, clock, worker_id

    def drain(self) -> int:
        """Perform every due enrolment; returns how many were claimed."""
        with session_scope(self.engine) as session:
            claimed = outbox.claim_due(
                session=session, now=self.clock(), worker_id=self.worker_id,
                lease_seconds=LEASE_SECONDS, limit=50, kinds=[WORKFLOW_KIND],
                key_prefix=workflow_prefix(self.client.location_id),
            )  # fmt: skip
        for item in claimed:
            self._perform(item)
        return len(claimed)

    def _perform(self, item: OutboxItem) -> None:
        assert item.id is not None
        if item.outcome_unknown:
            self._report(item, error=f"{UNKNOWN} (a previous run stopped during the call)")
            return
        try:
            self.client.contacts.add_to_workflow(
                item.payload["contact_id"], item.payload["workflow_id"]
            )
        except GHLDailyLimitError:
            self._report(item, error="GHL daily limit", retry_at=self.clock() + RETRY_LATER)
            raise
        except (GHLServerError, GHLConnectionError) as exc:
            sent = not isinstance(exc, GHLConnectionError) or exc.request_sent
            if sent:
                self._report(item, error=f"{UNKNOWN} ({type(exc).__name__})")
            else:  # never left this machine: safe to try again
                self._report(item, error=str(exc), retry_at=self.clock() + RETRY_LATER)
        except GHLRateLimitError as exc:  # refused before GHL acted on it
            self._report(item, error=str(exc), retry_at=self.clock() + RETRY_LATER)
        except GHLError as exc:
            self._report(item, error=str(exc))
        else:
            with session_scope(self.engine) as session:
                outbox.mark_sent(
                    session=session, item_id=item.id, worker_id=self.worker_id,
                    result={"enrolled": True}, now=self.clock(),
                )  # fmt: skip

    def _report(self, item: OutboxItem, *, error: str, retry_at: datetime | None = None) -> None:
        assert item.id is not None
        log.warning("hot-deal workflow for %s: %s", item.payload.get("mls_id"), error)
        with session_scope(self.engine) as session:
            outbox.mark_failed(
                session=session, item_id=item.id, worker_id=self.worker_id, error=error,
                retry_at=retry_at, now=self.clock(),
            )  # fmt: skip


@dataclass(kw_only=True, eq=False, repr=False)
class HotDealActions(LocationPart):
    """The side effects of a hot deal, for one location; made by `DealPipeline`."""

    rules: NotifyRules
    worker_id: str
    # user email -> contact id, per process
    _broker_contacts: dict[str, str] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self.enrolments = WorkflowEnrolments(
            client=self.client, engine=self.engine, clock=self.clock, worker_id=self.worker_id
        )

    def drain(self) -> None:
        """Perform every due workflow enrolment (this deal's and any a crashed run left)."""
        self.enrolments.drain()

    # -- the hot-deal workflow, at most once ------------------------------------------------

    def enrol(self, *, mls_id: str, contact_id: str) -> str | None:
        """Enrol the deal's contact in the `hot_deal` workflow once; a warning, or None."""
        workflow_id = self.ghl_map.workflows.get("hot_deal")
        if workflow_id is None:
            return None
        payload = {"contact_id": contact_id, "workflow_id": workflow_id, "mls_id": mls_id}
        key = workflow_key(self.client.location_id, mls_id)
        with session_scope(self.engine) as session:
            item, _ = outbox.enqueue(
                session=session, kind=WORKFLOW_KIND, dedupe_key=key,
                payload=payload, contact_id=contact_id, now=self.clock(),
            )  # fmt: skip
        if item.status in (OutboxStatus.PENDING, OutboxStatus.DEFERRED):
            self.drain()
            with session_scope(self.engine, readonly=True) as session:
                latest = outbox.get_by_dedupe_key(session=session, dedupe_key=key)
            return _warning(latest)
        return _warning(item)

    # -- broker texts, queued -------------------------------------------------------------

    def alert_brokers(self, record: PropertyRecord, *, url: str) -> list[str]:
        """Queue a text to each configured broker; returns warnings (e.g. no phone)."""
        warnings = []
        for email in self.config.broker_alerts.sms_to_users:
            user = self.ghl_map.users.get(email.strip().lower())
            phone = normalize_phone(user.phone) if user else None
            if user is None or phone is None:
                warnings.append(f"broker {email} has no valid phone in GHL; no SMS alert queued")
                continue
            contact_id = self._broker_contact(user)
            now = self.clock()
            payload: dict[str, Any] = {
                "contact_id": contact_id,
                "message": broker_message(record, url=url),
                "mls_id": record.mls_id,
                "purpose": "broker_alert",
                # What the delivery worker re-checks quiet hours with (services.notify.checks).
                "phone": phone,
                "state": list(resolve_states(contact_state=None, phone=phone)),
                "location_timezone": self.ghl_map.location_timezone,
            }
            with session_scope(self.engine) as session:
                outbox.enqueue(
                    session=session, kind=SMS_KIND, dedupe_key=broker_sms_key(email, record.mls_id),
                    payload=payload, contact_id=contact_id,
                    not_before=self._not_before(phone, now), now=now,
                )  # fmt: skip
        return warnings

    def _broker_contact(self, user: User) -> str:
        """The GHL contact texts to this user go to: upserted once per process, no tags."""
        email = (user.email or "").strip().lower()
        if email not in self._broker_contacts:
            body = {"email": email, "phone": user.phone}
            body |= {k: v for k, v in (("firstName", user.first_name), ("lastName", user.last_name))
                     if v}  # fmt: skip
            self._broker_contacts[email] = self.client.contacts.upsert(body).contact.id
        return self._broker_contacts[email]

    def _not_before(self, phone: str, now: datetime) -> datetime | None:
        """None to send now, else the start of the broker's next allowed window."""
        zone = resolve_timezone(
            contact_timezone=None,
            phone=phone,
            location_timezone=self.ghl_map.location_timezone,
            default=self.rules.default_timezone,
        )
        window = window_for(state=resolve_states(contact_state=None, phone=phone), rules=self.rules)
        allowed = next_allowed(at=now, zone=zone, window=window)
        return None if allowed <= now else allowed


def _warning(item: OutboxItem | None) -> str | None:
    if item is None or item.status == OutboxStatus.SENT:
        return None
    if item.status == OutboxStatus.IN_FLIGHT:
        return "hot-deal workflow: being enrolled by another run (or one that stopped mid-call)"
    if item.status in (OutboxStatus.PENDING, OutboxStatus.DEFERRED):
        return f"hot-deal workflow: will be retried ({item.last_error})"
    return f"hot-deal workflow: {item.status}: {item.last_error}"
