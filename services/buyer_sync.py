"""Buyer sync: GHL contacts tagged `active_buyer` -> the store's buyer cache that matching reads.

The first run (or `full=True`) pages through every buyer; later runs ask GHL only for contacts
updated since the last sync (with a few minutes' overlap for clock skew), so the hourly refresh
costs a handful of calls. A buyer whose data cannot be matched (budget_min > budget_max,
unparsable numbers, empty buy box, no usable phone) is stored with the reason, never dropped
and never a crash, so an agent can see why someone is missing.

    report = sync_buyers(client=client, engine=engine, config=deal_config)
    report.summary()  # "synced 212 buyers (3 pages, incremental): 201 matchable, 11 excluded"
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, update
from sqlmodel import select

from ghl.client import GHLClient
from ghl.models import Contact
from ghl.resources.contacts import SEARCH_PAGE_MAX
from matching.buybox import parse_buy_box
from matching.notify import normalize_phone
from services.buyer_pages import pages_ahead
from services.config import DealConfig
from store.buyers import upsert_buyers
from store.db import session_scope
from store.models import Buyer
from store.schemas import BuyerIn
from store.state import get_sync_state, set_sync_state

log = logging.getLogger("dealfinder.buyers")

CLOCK_SKEW = timedelta(minutes=5)  # re-read contacts updated this long before the last sync
NOT_A_BUYER = "not tagged {tag} in GHL any more"


def sync_key(location_id: str) -> str:
    return f"buyers:{location_id}"


@dataclass
class SyncReport:
    mode: str  # "full" | "incremental"
    started_at: datetime
    pages: int = 0
    seen: int = 0
    matchable: int = 0
    excluded: dict[str, str] = field(default_factory=dict)  # contact_id -> reason
    deactivated: int = 0
    ghl_calls: int = 0
    missing_fields: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = (
            f"synced {self.seen} buyers ({self.pages} pages, {self.mode}): "
            f"{self.matchable} matchable, {len(self.excluded)} excluded"
        )
        if self.deactivated:
            text += f", {self.deactivated} no longer buyers"
        if self.missing_fields:
            text += f"; missing custom fields: {', '.join(self.missing_fields)}"
        return text


def _parse_ghl_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


_NANP_E164 = re.compile(r"\+1\d{10}")
_NANP_PREFIX_VALID: dict[str, bool] = {}  # NPA-NXX -> valid, learnt from normalize_phone


def buyer_phone(phone: str | None) -> str | None:
    """`normalize_phone(phone)`, fast for the E.164 North American numbers GHL stores.

    Parsing a number costs ~80 us, a third of a 100,000-buyer sync. libphonenumber's NANP
    metadata decides a +1 number's validity by its first six national digits (area code and
    exchange, then any four digits), so the answer for one NPA-NXX is the answer for all ten
    thousand numbers under it; anything else is parsed in full.
    """
    if not phone or not _NANP_E164.fullmatch(phone):
        return normalize_phone(phone)
    prefix = phone[2:8]
    known = _NANP_PREFIX_VALID.get(prefix)
    if known is None:
        normalised = normalize_phone(phone)
        _NANP_PREFIX_VALID[prefix] = normalised is not None
        return normalised
    return phone if known else None


def contact_to_buyer(
    contact: Contact, *, location_id: str, field_ids: dict[str, str]
) -> tuple[BuyerIn, str | None]:
    """Map a GHL contact to the store's buyer, with the reason it cannot be matched (or None).

    `field_ids` maps the mapping's keys (budget_min, ...) to this location's custom field ids.
    """
    raw: dict[str, Any] = {key: contact.field(fid) for key, fid in field_ids.items()}
    parsed = parse_buy_box(raw)
    problems = list(parsed.problems) if not parsed.matchable else []
    phone = buyer_phone(contact.phone)
    if not contact.phone:
        problems.append("no phone number")
    elif phone is None:
        problems.append(f"phone {contact.phone!r} is not a valid number")
    box = parsed.buy_box
    buyer = BuyerIn(
        contact_id=contact.id,
        location_id=location_id,
        name=contact.display_name,
        first_name=contact.first_name,
        phone=phone,
        email=contact.email,
        tags=contact.tags,
        timezone=contact.timezone,
        state=contact.state,
        city=contact.city,
        postal_code=contact.postal_code,
        dnd_sms=contact.sms_dnd,
        budget_min=box.budget_min if box else None,
        budget_max=box.budget_max if box else None,
        cities=sorted(box.cities) if box else [],
        zips=sorted(box.zips) if box else [],
        property_types=sorted(box.property_types) if box else [],
        min_bedrooms=box.min_bedrooms if box else None,
        excluded_reason="; ".join(problems) or None,
        ghl_updated_at=_parse_ghl_time(contact.date_updated),
    )
    return buyer, buyer.excluded_reason


def contact_field_ids(client: GHLClient, config: DealConfig) -> tuple[dict[str, str], list[str]]:
    """This location's custom field ids for the mapping's buyer fields, and the keys missing."""
    fields = client.locations.custom_fields(model="contact")
    by_key = {f.key: f.id for f in fields}
    by_name = {f.name.strip().lower(): f.id for f in fields}
    ids, missing = {}, []
    for key, spec in config.contact_fields.items():
        fid = by_key.get(key) or by_name.get(spec.name.strip().lower())
        if fid:
            ids[key] = fid
        else:
            missing.append(key)
    return ids, missing


def sync_buyers(
    *,
    client: GHLClient,
    engine: Engine,
    config: DealConfig,
    full: bool = False,
    now: datetime | None = None,
    page_limit: int = SEARCH_PAGE_MAX,
) -> SyncReport:
    """Bring the store's buyers up to date with GHL; incremental after the first run.

    `page_limit` contacts per search page: GHL allows 500, so 100,000 buyers are 200 calls.
    """
    now = now or datetime.now(UTC)
    calls_before = client.stats.calls
    location_id = client.location_id
    buyer_tag = config.tags.buyer
    with session_scope(engine, readonly=True) as session:
        state = get_sync_state(session=session, key=sync_key(location_id))
        last = state.last_synced_at if state else None
    incremental = last is not None and not full
    report = SyncReport(mode="incremental" if incremental else "full", started_at=now)
    field_ids, report.missing_fields = contact_field_ids(client, config)
    if report.missing_fields:
        log.warning(
            "buyer fields missing in GHL: %s (run dealfinder validate --fix)",
            ", ".join(report.missing_fields),
        )

    # Incremental: every contact updated since (tagged or not), so a buyer whose tag was
    # removed is noticed. Full: only tagged contacts; the rest are retired afterwards.
    filters = (
        [client.contacts.updated_since_filter(last - CLOCK_SKEW)]
        if incremental and last is not None
        else [client.contacts.tag_filter(buyer_tag)]
    )
    seen_ids: set[str] = set()
    for page in pages_ahead(client, filters=filters, page_limit=page_limit):
        report.pages += 1
        retired = [c.id for c in page if buyer_tag not in c.tags]
        buyers: list[BuyerIn] = []
        for contact in page:
            if buyer_tag not in contact.tags:
                continue
            buyer_in, reason = contact_to_buyer(
                contact, location_id=location_id, field_ids=field_ids
            )
            buyers.append(buyer_in)
            seen_ids.add(contact.id)
            if reason:
                report.excluded[contact.id] = reason
            else:
                report.matchable += 1
        report.seen += len(buyers)
        with session_scope(engine) as session:
            # synced_at is the write time (later pages, later times) so the matcher's
            # incremental refresh never misses rows written after it last looked.
            upsert_buyers(session=session, buyers_in=buyers, now=datetime.now(UTC))
            report.deactivated += _retire(session, retired, buyer_tag, now)

    with session_scope(engine) as session:
        if not incremental:
            stored = session.exec(
                select(Buyer.contact_id).where(
                    Buyer.location_id == location_id,
                    Buyer.excluded_reason.is_(None),  # type: ignore[union-attr]
                )
            ).all()
            report.deactivated += _retire(
                session, [c for c in stored if c not in seen_ids], buyer_tag, now
            )
        set_sync_state(
            session=session,
            key=sync_key(location_id),
            value={"mode": report.mode, "seen": report.seen, "excluded": len(report.excluded)},
            last_synced_at=now,
            now=now,
        )
    report.ghl_calls = client.stats.calls - calls_before
    log.info(report.summary())
    return report


def _retire(session, contact_ids: list[str], tag: str, now: datetime) -> int:
    """Keep buyers who lost the buyer tag out of matching, with the reason, without deleting."""
    if not contact_ids:
        return 0
    result = session.execute(
        update(Buyer)
        .where(Buyer.contact_id.in_(contact_ids))  # type: ignore[attr-defined]
        .values(excluded_reason=NOT_A_BUYER.format(tag=tag), synced_at=now)
    )
    return result.rowcount or 0


def last_synced(*, engine: Engine, location_id: str) -> datetime | None:
    """When buyers were last synced from GHL (None: never) — shown next to every match."""
    with session_scope(engine, readonly=True) as session:
        state = get_sync_state(session=session, key=sync_key(location_id))
        return state.last_synced_at if state else None
