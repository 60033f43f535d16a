"""The deal desk: what the Slack listeners ask about deals, answered without knowing Slack.

It reads the store first and GHL second: a deal card shows what the store knows even when
GHL is down (with the problem named), and only `live=True` reads cost GHL calls. Slack user
ids appear here only as opaque "who did it" strings.

    desk = DealDesk(ghl=client, engine=engine, config=config, rules=rules, matcher=matcher)
    card = desk.card("TPA-1")                  # DealCard | None
    desk.find("oak st")                        # MLS ids whose address contains the words
    desk.hot_today()                           # today's hot deals, best first
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlmodel import col, select

from ghl.client import GHLClient
from ghl.errors import GHLError
from matching.models import PropertyFacts
from matching.notify import NotifyRules
from services.config import DealConfig
from services.ghl_map import GHLMap, GHLMapError, GHLMapSource
from services.location_channels import location_label
from services.matcher import BuyerMatcher, facts_from_mapping
from services.pipeline.rules import NAME_SEPARATOR
from services.property import stored_record
from store import state as store_state
from store.buyers import display_name
from store.db import session_scope
from store.deals import OpportunityLinkIn, get_opportunity_link, get_property, worked_at
from store.deals import record_opportunity_link as record_link
from store.models import OutboxItem, OutboxStatus, Property, SmsLog
from store.types import utcnow

log = logging.getLogger("dealfinder.bot.desk")

SEARCH_SCAN = 5000  # newest properties an address search looks through
TOP_BUYERS = 3
_WAITING = (OutboxStatus.PENDING, OutboxStatus.DEFERRED, OutboxStatus.IN_FLIGHT)
_EXCLUDED = (OutboxStatus.EXCLUDED, OutboxStatus.CANCELLED)


def desk_key(mls_id: str) -> str:
    """The SyncState key holding what people did to a deal in Slack (claim, pass)."""
    return f"slack_deal:{mls_id}"


@dataclass(frozen=True)
class BuyerLine:
    """One matched buyer as a card lists it."""

    contact_id: str
    name: str
    score: int
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class DealCard:
    """Everything a person needs to act on one deal; built from the store and GHL."""

    mls_id: str
    address: str
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    price: int | None = None
    arv: int | None = None
    est_profit: int | None = None
    score: int | None = None
    hot: bool = False
    stage: str | None = None
    owner: str | None = None
    status: str | None = None
    opportunity_id: str | None = None
    opportunity_url: str | None = None
    tasks: tuple[str, ...] = ()
    top_buyers: tuple[BuyerLine, ...] = ()
    claimed_by: str | None = None
    passed_by: tuple[str, ...] = ()
    notified: int = 0  # buyers texted about the deal
    queued: int = 0  # buyer texts waiting (now or later)
    excluded: int = 0  # buyers the notifier excluded or an opt-out cancelled
    ghl_problem: str | None = None
    stages: tuple[str, ...] = ()  # the pipeline's stage names (the card's stage select)
    location: str | None = None  # which GHL location, when several are served (issue 14)


def record_of(row: Property) -> dict[str, Any]:
    """The analysed record inside a stored property (the pipeline nests it under "record")."""
    return stored_record(row.mls_id, row.data)


@dataclass
class DealDesk:
    """Reads about deals for one GHL location; thread-safe (no mutable state of its own)."""

    ghl: GHLClient
    engine: Engine
    config: DealConfig
    rules: NotifyRules
    matcher: BuyerMatcher
    min_score: int = 70
    clock: Callable[[], datetime] = utcnow
    # The location's GHL map, shared with the process's pipeline (`bot.runtime`); its own
    # when not given.
    maps: GHLMapSource | None = None
    # The deployment's GHL_LOCATION_ID, when this desk is another location's (issue 14).
    home_location: str | None = None

    def __post_init__(self) -> None:
        if self.maps is None:
            self.maps = GHLMapSource(self.ghl, self.config)

    # -- the GHL map (names -> ids), resolved once per desk -------------------------------

    def map_source(self) -> GHLMapSource:
        assert self.maps is not None  # set in __post_init__
        return self.maps

    def ghl_map(self) -> GHLMap | None:
        """The location's resolved map, or None when GHL cannot be asked or does not match."""
        try:
            return self.map_source().get()
        except (GHLError, GHLMapError) as exc:
            log.warning("GHL map unavailable: %s", exc)
            return None

    def location_timezone(self) -> str | None:
        ghl_map = self.ghl_map()
        return ghl_map.location_timezone if ghl_map else None

    # -- finding deals --------------------------------------------------------------------

    def find(self, query: str, *, limit: int = 10) -> list[str]:
        """MLS ids for `query`: the exact id if stored, else addresses holding every word."""
        here = worked_at(self.ghl.location_id)  # another location's deals are not ours to show
        with session_scope(self.engine, readonly=True) as session:
            if session.exec(select(Property.mls_id).where(Property.mls_id == query, here)).first():
                return [query]
            rows = session.exec(
                select(Property)
                .where(here)
                .order_by(col(Property.updated_at).desc())
                .limit(SEARCH_SCAN)
            ).all()
            words = query.casefold().split()
            found = []
            for row in rows:
                record = record_of(row)
                text = " ".join(str(record.get(k) or "") for k in ("address", "city", "zip"))
                if all(word in text.casefold() for word in words):
                    found.append(row.mls_id)
                if len(found) >= limit:
                    break
        return found

    def facts(self, mls_id: str) -> PropertyFacts | None:
        """Matching's view of a stored deal, or None if the store does not have it."""
        with session_scope(self.engine, readonly=True) as session:
            row = get_property(session=session, mls_id=mls_id)
            return facts_from_mapping(record_of(row)) if row is not None else None

    def hot_today(self, *, limit: int = 25) -> list[DealCard]:
        """Deals at or above the hot threshold first stored today (the location's day)."""
        start = day_start(self.clock(), self.location_timezone() or self.rules.default_timezone)
        with session_scope(self.engine, readonly=True) as session:
            rows = session.exec(
                select(Property)
                .where(
                    col(Property.deal_score) >= self.config.thresholds.hot,
                    col(Property.created_at) >= start,
                    worked_at(self.ghl.location_id),
                )
                .order_by(col(Property.deal_score).desc(), col(Property.created_at))
                .limit(limit)
            ).all()
            ids = [row.mls_id for row in rows]
        cards = (self.card(mls_id, live=False, buyers=False) for mls_id in ids)
        return [card for card in cards if card is not None]

    # -- one deal -------------------------------------------------------------------------

    def card(self, mls_id: str, *, live: bool = True, buyers: bool = True) -> DealCard | None:
        """The deal's card, or None when the store has no such property.

        `live` reads the opportunity and its tasks from GHL (and refreshes the stored link);
        without it, stage and owner come from the stored link.
        """
        with session_scope(self.engine, readonly=True) as session:
            row = get_property(session=session, mls_id=mls_id)
            if row is None:
                return None
            record = record_of(row)
            link = get_opportunity_link(
                session=session, mls_id=mls_id, location_id=self.ghl.location_id
            )
            desk = store_state.get_sync_state(session=session, key=desk_key(mls_id))
            marks = dict(desk.value) if desk else {}
            notified, queued, excluded = self._sms_counts(session, mls_id)
            here = self.ghl.location_id
            where = location_label(session, here, configured=self.home_location or here)
        values: dict[str, Any] = {}
        if link is not None:
            values |= self._opportunity(link, live=live)
        score = _int(record.get("deal_score"))
        return DealCard(
            mls_id=mls_id,
            address=str(record.get("address") or ""),
            city=record.get("city"),
            state=record.get("state"),
            zip=record.get("zip"),
            price=_int(record.get("list_price")),
            arv=_int(record.get("arv")),
            est_profit=_int(record.get("est_profit")),
            score=score,
            hot=score is not None and score >= self.config.thresholds.hot,
            top_buyers=self._top_buyers(record) if buyers else (),
            claimed_by=marks.get("claimed_by"),
            passed_by=tuple(marks.get("passed_by") or ()),
            notified=notified,
            queued=queued,
            excluded=excluded,
            location=where,
            **values,
        )

    def _opportunity(self, link: Any, *, live: bool) -> dict[str, Any]:
        ghl_map = self.ghl_map()
        stage_id, owner_id, status = link.stage_id, link.assigned_to, link.status
        values: dict[str, Any] = {
            "opportunity_id": link.opportunity_id,
            "opportunity_url": self.ghl.opportunity_url(link.opportunity_id),
        }
        if live:
            try:
                opp = self.ghl.opportunities.get(link.opportunity_id)
                stage_id, owner_id, status = opp.pipeline_stage_id, opp.assigned_to, opp.status
                self._refresh_link(link, opp)
                if link.contact_id:
                    values["tasks"] = self._open_tasks(link.contact_id, link.mls_id)
            except GHLError as exc:
                values["ghl_problem"] = f"GHL could not be read ({type(exc).__name__}): {exc}"
        if ghl_map is not None:
            key = ghl_map.stage_key(stage_id)
            values["stage"] = ghl_map.stage_names.get(key or "") or None
            owner = next((u for u in ghl_map.users.values() if u.id == owner_id), None)
            values["owner"] = (owner.name or owner.email) if owner else owner_id
            values["stages"] = tuple(name for _, name in ghl_map.pipeline_stages)
            current = next((n for i, n in ghl_map.pipeline_stages if i == stage_id), None)
            values["stage"] = values["stage"] or current
        values["status"] = status
        return values

    def _open_tasks(self, contact_id: str, mls_id: str) -> tuple[str, ...]:
        suffix = f"{NAME_SEPARATOR}{mls_id}"
        return tuple(
            task.title or ""
            for task in self.ghl.contacts.tasks(contact_id)
            if not task.completed and (task.title or "").endswith(suffix)
        )

    def _refresh_link(self, link: Any, opp: Any) -> None:
        """Keep the stored link's stage and owner as GHL has them (others read the store)."""
        fresh = (opp.pipeline_stage_id, opp.assigned_to, opp.status)
        if fresh == (link.stage_id, link.assigned_to, link.status):
            return
        link_in = OpportunityLinkIn(
            mls_id=link.mls_id, location_id=link.location_id, opportunity_id=opp.id,
            contact_id=opp.contact_id or link.contact_id, pipeline_id=opp.pipeline_id,
            stage_id=opp.pipeline_stage_id, assigned_to=opp.assigned_to, status=opp.status,
        )  # fmt: skip
        with session_scope(self.engine) as session:
            record_link(session=session, link_in=link_in, now=self.clock())

    def _top_buyers(self, record: dict[str, Any]) -> tuple[BuyerLine, ...]:
        try:
            facts = facts_from_mapping(record)
        except ValueError:
            return ()
        outcome = self.matcher.match(facts, min_score=self.min_score, limit=TOP_BUYERS)
        buyer = outcome.buyers.get
        return tuple(
            BuyerLine(
                contact_id=result.contact_id,
                name=display_name(buyer(result.contact_id), fallback=result.contact_id),
                score=result.score,
            )
            for result in outcome.page.results
        )

    @staticmethod
    def _sms_counts(session: Any, mls_id: str) -> tuple[int, int, int]:
        """Buyers texted about the deal, buyer texts waiting, and buyers excluded: from the
        outbox items Notify buyers reads too (a sent item is texted even before its log line),
        so the card and the Notify buyers list agree."""
        texted = set(
            session.exec(
                select(SmsLog.contact_id).where(
                    SmsLog.mls_id == mls_id, col(SmsLog.message_id).is_not(None)
                )
            ).all()
        )
        items = session.exec(
            select(OutboxItem).where(
                col(OutboxItem.dedupe_key).endswith(f":{mls_id}", autoescape=True),
                OutboxItem.kind == "sms",
            )
        ).all()
        waiting, excluded = set(), set()
        for item in items:
            if item.payload.get("purpose") != "buyer_match":
                continue
            buyer = item.contact_id or item.payload.get("contact_id")
            if item.status == OutboxStatus.SENT:
                texted.add(buyer)
            elif item.status in _WAITING:
                waiting.add(buyer)
            elif item.status in _EXCLUDED:
                excluded.add(buyer)
        waiting -= texted
        return len(texted), len(waiting), len(excluded - texted - waiting)


def _int(value: object) -> int | None:
    if value in (None, ""):
        return None
    try:
        return round(float(str(value)))
    except ValueError:
        return None


def day_start(now: datetime, zone: str) -> datetime:
    """Midnight of `now`'s day on the clock of `zone` (for "today")."""
    tz = ZoneInfo(zone)
    return datetime.combine(now.astimezone(tz).date(), time(0), tzinfo=tz)
