"""Contact events: GHL's DND changes (consent) and tag / field changes (the buyer cache).

Webhooks come late and out of order, so the buyer is read again from GHL, never taken from
the event: `buyer_changed` writes GHL's current record into the buyer cache.

    ids = FieldIds(client=ghl, config=config)
    outcome = buyer_changed(engine=engine, client=ghl, config=config, field_ids=ids,
                            body=payload, now=now)   # -> BuyerRefreshed | Ignored
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from ghl.client import GHLClient
from ghl.errors import GHLNotFoundError
from ghl.models import Contact
from services.buyer_sync import NOT_A_BUYER, contact_field_ids, contact_to_buyer
from services.config import DealConfig
from services.events.outcomes import BuyerRefreshed, DndRecorded, Ignored
from services.optout.replies import DndOutcome
from store.buyers import get_buyer, upsert_buyer
from store.db import session_scope

FIELD_IDS_TTL = 3600.0  # custom field ids change by hand, rarely: re-read hourly

# services.optout.replies.handle_dnd_update with the process's engine.
DndHandler = Callable[[dict[str, Any], datetime], DndOutcome]


class FieldIds:
    """This location's custom field ids for the buyer box, read from GHL at most hourly."""

    def __init__(
        self,
        *,
        client: GHLClient,
        config: DealConfig,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client, self.config, self.clock = client, config, clock
        self._cached: tuple[float, dict[str, str]] | None = None

    def get(self) -> dict[str, str]:
        now = self.clock()
        if self._cached is None or now - self._cached[0] >= FIELD_IDS_TTL:
            ids, _missing = contact_field_ids(self.client, self.config)
            self._cached = (now, ids)
        return self._cached[1]


def ghl_contact(client: GHLClient, body: dict[str, Any]) -> Contact | Ignored:
    """The event's contact as GHL has it now, or why there is none."""
    contact_id = body.get("id") or body.get("contactId")
    if not contact_id:
        return Ignored.NO_CONTACT_ID
    try:
        return client.contacts.get(contact_id)
    except GHLNotFoundError:
        return Ignored.CONTACT_GONE


def buyer_changed(
    *,
    engine: Engine,
    client: GHLClient,
    config: DealConfig,
    field_ids: FieldIds,
    body: dict[str, Any],
    now: datetime,
) -> BuyerRefreshed | Ignored:
    """A contact's tags or fields changed: a buyer (tagged, or already cached) is read again.

    A cached buyer who lost the buyer tag stays cached, excluded from matching with the reason.
    """
    contact = ghl_contact(client, body)
    if isinstance(contact, Ignored):
        return contact
    contact_id = str(body.get("id") or body.get("contactId"))
    tag = config.tags.buyer
    with session_scope(engine) as session:
        known = get_buyer(session=session, contact_id=contact_id) is not None
        if tag not in contact.tags and not known:
            return Ignored.NOT_A_BUYER
        buyer_in, reason = contact_to_buyer(
            contact, location_id=client.location_id, field_ids=field_ids.get()
        )
        if tag not in contact.tags:
            reason = NOT_A_BUYER.format(tag=tag)
            buyer_in = buyer_in.model_copy(update={"excluded_reason": reason})
        upsert_buyer(session=session, buyer_in=buyer_in, now=now)
    return BuyerRefreshed(contact_id=contact_id, excluded=bool(reason))


def dnd_changed(
    *, client: GHLClient, body: dict[str, Any], now: datetime, dnd_update: DndHandler
) -> DndRecorded | Ignored:
    """A contact's DND changed: the notifier's DND handling, with GHL's record when the event
    (a workflow webhook) says only that DND changed, not how."""
    if "dnd" not in body and "dndSettings" not in body:
        contact = ghl_contact(client, body)
        if isinstance(contact, Ignored):
            return contact
        body = body | {
            "dnd": bool(contact.dnd),
            "dndSettings": {
                k: v.model_dump(exclude_none=True) for k, v in (contact.dnd_settings or {}).items()
            },
        }
    outcome = dnd_update(body, now)
    return DndRecorded(
        contact_id=outcome.contact_id, sms_dnd=outcome.sms_dnd, opted_out=outcome.opted_out
    )
