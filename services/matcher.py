"""Who buys this? Ranked, explained buyer matches read from the local store, never from GHL.

`BuyerMatcher` keeps a `matching.index.BuyerIndex` of one location's matchable buyers in
memory and brings it up to date from the store before each match (only rows synced since
the last look are read), so matching stays fast while the hourly sync changes buyers.

    matcher = BuyerMatcher(engine=engine, location_id="loc_123")
    outcome = matcher.match(facts, min_score=70, limit=10)
    outcome.page.results[0].explain(); outcome.last_synced_at; outcome.stale
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, func
from sqlmodel import select

from matching.buybox import build_buy_box
from matching.index import BuyerIndex
from matching.models import BuyerProfile, MatchPage, PropertyFacts
from matching.scoring import DEFAULT_WEIGHTS, Weights
from services.buyer_sync import last_synced
from store.buyers import display_name
from store.db import session_scope
from store.models import Buyer
from store.types import as_utc


@dataclass(frozen=True)
class MatchOutcome:
    page: MatchPage
    buyers: dict[str, Buyer]  # the matched buyers' store rows (name, phone, tags, ...)
    last_synced_at: datetime | None
    stale: bool  # buyers older than the cache window (or never synced)
    excluded: int  # buyers kept out of matching (bad data, no longer tagged)

    def freshness(self, now: datetime | None = None) -> str:
        """The buyer cache's age, on the caller's clock (pass the one `match` used)."""
        if self.last_synced_at is None:
            return "buyers never synced from GHL — run a sync"
        age = (now or datetime.now(UTC)) - self.last_synced_at
        # A sync stamped by a clock ahead of this one (a simulated clock, or skew between
        # hosts) is "just now", never a negative age.
        minutes = max(0, int(age.total_seconds() // 60))
        text = (
            f"buyers synced {minutes} min ago"
            if minutes < 120
            else f"buyers synced {minutes // 60} h ago"
        )
        return text + (" (stale)" if self.stale else "")


def profile_of(buyer: Buyer) -> BuyerProfile | None:
    """The matching view of a stored buyer, or None when it must stay out of matching."""
    if buyer.excluded_reason:
        return None
    parsed = build_buy_box(
        budget_min=buyer.budget_min,
        budget_max=buyer.budget_max,
        cities=buyer.cities,
        zips=buyer.zips,
        property_types=buyer.property_types,
        min_bedrooms=buyer.min_bedrooms,
    )
    if parsed.buy_box is None:
        return None
    name = display_name(buyer, fallback=buyer.contact_id)
    return BuyerProfile(contact_id=buyer.contact_id, name=name, buy_box=parsed.buy_box)


class BuyerMatcher:
    """One location's buyer index, refreshed incrementally from the store."""

    def __init__(
        self,
        *,
        engine: Engine,
        location_id: str,
        weights: Weights = DEFAULT_WEIGHTS,
        cache_minutes: int = 60,
    ):
        self.engine = engine
        self.location_id = location_id
        self.weights = weights
        self.cache = timedelta(minutes=cache_minutes)
        self._index = BuyerIndex.build(())
        self._seen_until: datetime | None = None
        self._version: tuple[int, datetime | None] | None = None
        self._lock = threading.Lock()

    def refresh(self) -> int:
        """Fold buyers synced since the last look into the index; return how many were read.

        A cheap (count, newest sync time) probe skips the read when nothing changed; rows at
        the newest time are read again (`>=`), since a sync still writing may add more of them.
        """
        with self._lock, session_scope(self.engine, readonly=True) as session:
            mine = Buyer.location_id == self.location_id
            count, newest = session.exec(
                select(func.count(), func.max(Buyer.synced_at)).where(mine)
            ).one()
            version = (count, as_utc(newest) if newest else None)
            if version == self._version:
                return 0
            stmt = select(Buyer).where(mine)
            if self._seen_until is not None:
                stmt = stmt.where(Buyer.synced_at >= self._seen_until)
            changed = list(session.exec(stmt).all())
            for buyer in changed:
                profile = profile_of(buyer)
                if profile is None:
                    self._index.remove(buyer.contact_id)
                elif self._index.get(buyer.contact_id) is None:
                    self._index.add(profile)
                else:
                    self._index.replace(profile)
                synced = as_utc(buyer.synced_at)
                if self._seen_until is None or synced > self._seen_until:
                    self._seen_until = synced
            self._version = version
            return len(changed)

    def match(
        self,
        facts: PropertyFacts,
        *,
        min_score: int = 70,
        limit: int = 10,
        offset: int = 0,
        now: datetime | None = None,
    ) -> MatchOutcome:
        self.refresh()
        page = self._index.match(
            facts, min_score=min_score, limit=limit, offset=offset, weights=self.weights
        )
        ids = [r.contact_id for r in page.results]
        with session_scope(self.engine, readonly=True) as session:
            rows = session.exec(select(Buyer).where(Buyer.contact_id.in_(ids))).all() if ids else []  # type: ignore[attr-defined]
            excluded = session.exec(
                select(func.count())
                .select_from(Buyer)
                .where(
                    Buyer.location_id == self.location_id,
                    Buyer.excluded_reason.is_not(None),  # type: ignore[union-attr]
                )
            ).one()
        synced = last_synced(engine=self.engine, location_id=self.location_id)
        now = now or datetime.now(UTC)
        return MatchOutcome(
            page=page,
            buyers={b.contact_id: b for b in rows},
            last_synced_at=synced,
            stale=synced is None or now - synced > self.cache,
            excluded=excluded,
        )

    def excluded_buyers(self, *, limit: int = 50) -> list[tuple[str, str, str]]:
        """(contact_id, name, reason) of buyers kept out of matching, for agents to fix in GHL."""
        with session_scope(self.engine, readonly=True) as session:
            rows = session.exec(
                select(Buyer)
                .where(Buyer.location_id == self.location_id, Buyer.excluded_reason.is_not(None))  # type: ignore[union-attr]
                .order_by(Buyer.contact_id)
                .limit(limit)
            ).all()
        return [(b.contact_id, display_name(b) or "", b.excluded_reason or "") for b in rows]


def _int(value: object) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(float(str(value).replace("$", "").replace(",", "")))
    except ValueError:
        return None


def facts_from_mapping(data: dict) -> PropertyFacts:
    """Matching's view of a property record (an analysed listing as JSON or a stored row).

    Raises ValueError naming the field when the record lacks what matching needs.
    """
    mls_id = str(data.get("mls_id") or "").strip()
    if not mls_id:
        raise ValueError("the property has no mls_id")
    price = _int(data.get("list_price", data.get("price")))
    if price is None:
        raise ValueError(f"property {mls_id} has no list_price")
    return PropertyFacts(
        mls_id=mls_id,
        address=str(data.get("address") or ""),
        city=data.get("city"),
        state=data.get("state"),
        zip=str(data["zip"]) if data.get("zip") not in (None, "") else None,
        price=price,
        property_type=data.get("property_type"),
        beds=_int(data.get("beds")),
    )
