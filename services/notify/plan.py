"""Who would be texted about a property, when, and why not: a pure read of the store.

`plan_notifications` asks the policy (`matching.notify.decide`) about every matched buyer with
the store's current data and sorts the answers into four groups: send now, deferred (with the
buyer-local and UTC time), excluded (with the reason) and already recorded (texted or queued
before, by dedupe key). `dealfinder notify --dry-run` and the Slack confirmation show it;
`enqueue_notifications` writes it.

    plan = plan_notifications(engine=engine, property=facts, matches=matches, rules=rules,
                              config=config, location_timezone="America/New_York", now=now)
    [entry.contact_id for entry in plan.deferred]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any, Literal, TypedDict
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlmodel import col, select

from matching.models import MatchResult, PropertyFacts
from matching.notify import (
    Action,
    MessageTooLongError,
    NotifyRules,
    decide,
    normalize_phone,
    render_deal_sms,
    resolve_timezone,
)
from services.config import DealConfig
from services.notify.common import buyer_link, cap_window, contact_info, match_key, sent_times
from services.notify.words import recorded_words
from store.buyers import display_name
from store.db import session_scope
from store.models import Buyer, OutboxItem, OutboxStatus, SmsLog
from store.optout_reviews import paused_contacts

Group = Literal["send_now", "deferred", "excluded", "already"]


class _MatchFields(TypedDict):
    """The fields every `PlannedNotification` of one match shares, whatever its group."""

    contact_id: str
    score: int
    reasons: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class PlannedNotification:
    """The plan for one matched buyer: its group, a stable `code` and a sentence for people.

    `send_at` is aware UTC (now for send_now, the first allowed moment for deferred); `zone`
    is the IANA zone whose clock decided it.
    """

    contact_id: str
    name: str
    score: int
    reasons: tuple[str, ...]
    group: Group
    code: str
    reason: str
    send_at: datetime | None = None
    zone: str | None = None
    message: str | None = None
    existing_status: str | None = None
    # For the words (`services.notify.words`): the cap and window that held a deferral back,
    # and the states whose own rules set them.
    cap: int | None = None
    window: tuple[time, time] | None = None
    window_states: tuple[str, ...] = ()
    cap_states: tuple[str, ...] = ()

    @property
    def local_send_at(self) -> datetime | None:
        """`send_at` on the buyer's own clock."""
        if self.send_at is None or self.zone is None:
            return None
        return self.send_at.astimezone(ZoneInfo(self.zone))

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, for `--json` and Slack."""
        local = self.local_send_at
        return {
            "contact_id": self.contact_id,
            "name": self.name,
            "score": self.score,
            "reasons": list(self.reasons),
            "group": self.group,
            "code": self.code,
            "reason": self.reason,
            "send_at_utc": self.send_at.isoformat() if self.send_at else None,
            "send_at_local": local.isoformat() if local else None,
            "zone": self.zone,
            "message": self.message,
            "existing_status": self.existing_status,
        }


@dataclass(frozen=True, kw_only=True)
class NotifyPlan:
    """Every matched buyer's plan for one property, in match order."""

    mls_id: str
    planned_at: datetime
    location_timezone: str | None
    link: str
    entries: tuple[PlannedNotification, ...] = field(default_factory=tuple)

    def group(self, name: Group) -> list[PlannedNotification]:
        """The entries of one group, in match order."""
        return [entry for entry in self.entries if entry.group == name]

    @property
    def send_now(self) -> list[PlannedNotification]:
        return self.group("send_now")

    @property
    def deferred(self) -> list[PlannedNotification]:
        return self.group("deferred")

    @property
    def excluded(self) -> list[PlannedNotification]:
        return self.group("excluded")

    @property
    def already(self) -> list[PlannedNotification]:
        return self.group("already")

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, grouped the way people read it."""
        return {
            "mls_id": self.mls_id,
            "planned_at": self.planned_at.isoformat(),
            "location_timezone": self.location_timezone,
            "groups": {
                name: [entry.as_dict() for entry in self.group(name)]
                for name in ("send_now", "deferred", "excluded", "already")
            },
        }


def render_message(
    *, buyer: Buyer, prop: PropertyFacts, link: str, config: DealConfig, rules: NotifyRules
) -> str:
    """The deal text for one buyer: only their own first name, the property and its link."""
    if prop.price is None:
        raise ValueError("the property has no list price, which every deal text states")
    return render_deal_sms(
        template=config.sms.template or rules.sms_template,
        brand=config.sms.brand,
        first_name=buyer.first_name,
        address=prop.address,
        city=prop.city,
        price=prop.price,
        beds=prop.beds,
        link=link,
    )


def plan_notifications(
    *,
    engine: Engine,
    property: PropertyFacts,
    matches: Sequence[MatchResult],
    rules: NotifyRules,
    config: DealConfig,
    location_timezone: str | None,
    now: datetime,
    link: str | None = None,
) -> NotifyPlan:
    """The policy's answer for each matched buyer, from the store as it is now. Writes nothing."""
    link = link or buyer_link(config.sms.buyer_link, property.mls_id)
    ids = [match.contact_id for match in matches]
    keys = {match_key(cid, property.mls_id): cid for cid in ids}
    with session_scope(engine, readonly=True) as session:
        buyers = {
            row.contact_id: row
            for row in session.exec(select(Buyer).where(col(Buyer.contact_id).in_(ids))).all()
        }
        items = session.exec(select(OutboxItem).where(col(OutboxItem.dedupe_key).in_(keys)))
        recorded = {keys[item.dedupe_key]: item for item in items.all()}
        texted = set(
            session.exec(
                select(SmsLog.contact_id).where(
                    col(SmsLog.contact_id).in_(ids),
                    SmsLog.mls_id == property.mls_id,
                    col(SmsLog.message_id).is_not(None),
                )
            ).all()
        )
        history = sent_times(session=session, contact_ids=ids, now=now, window=cap_window(rules))
        paused = paused_contacts(session=session, contact_ids=ids)
    entries = []
    for match in matches:
        base: _MatchFields = {
            "contact_id": match.contact_id,
            "score": match.score,
            "reasons": reasons_of(match),
        }
        buyer = buyers.get(match.contact_id)
        if buyer is None:
            entries.append(
                PlannedNotification(
                    **base,
                    name=match.contact_id,
                    group="excluded",
                    code="unknown_buyer",
                    reason="The buyer is not in the store (not synced yet, or removed).",
                )
            )
            continue
        name = display_name(buyer, fallback=buyer.contact_id)
        item = recorded.get(match.contact_id)
        if item is not None:
            zone = resolve_timezone(
                contact_timezone=buyer.timezone, phone=normalize_phone(buyer.phone),
                location_timezone=location_timezone, default=rules.default_timezone,
                contact_state=buyer.state,
            )  # fmt: skip
            entries.append(_recorded(base=base, name=name, item=item, zone=zone.zone.key, now=now))
            continue
        decision = decide(
            at=now,
            buyer=contact_info(buyer, paused=match.contact_id in paused),
            already_sent_property=match.contact_id in texted,
            sent_times=history.get(match.contact_id, []),
            rules=rules,
            location_timezone=location_timezone,
        )
        if decision.action is Action.SKIP_DUPLICATE:
            entries.append(
                PlannedNotification(
                    **base, name=name, group="already", code=decision.code, reason=decision.reason
                )
            )
            continue
        if decision.action is Action.EXCLUDE:
            entries.append(
                PlannedNotification(
                    **base, name=name, group="excluded", code=decision.code, reason=decision.reason
                )
            )
            continue
        try:
            message = render_message(
                buyer=buyer, prop=property, link=link, config=config, rules=rules
            )
        except (MessageTooLongError, ValueError) as exc:
            entries.append(
                PlannedNotification(
                    **base, name=name, group="excluded", code="message", reason=f"No text: {exc}."
                )
            )
            continue
        entries.append(
            PlannedNotification(
                **base,
                name=name,
                group="send_now" if decision.action is Action.SEND else "deferred",
                code=decision.code,
                reason=decision.reason,
                send_at=decision.send_at,
                zone=decision.zone.zone.key if decision.zone else None,
                message=message,
                cap=decision.cap,
                window=tuple(decision.window) if decision.window else None,  # type: ignore[arg-type]
                window_states=decision.window_states,
                cap_states=decision.cap_states,
            )
        )
    return NotifyPlan(
        mls_id=property.mls_id,
        planned_at=now,
        location_timezone=location_timezone,
        link=link,
        entries=tuple(entries),
    )


def reasons_of(match: MatchResult) -> tuple[str, ...]:
    """Each score component as a line an agent reads: "budget 40/40: $245,000 is within ..."."""
    return tuple(
        f"{c.name.replace('_', ' ')} {c.points}/{c.max_points}: {c.reason}"
        for c in match.components
    )


def _recorded(
    *, base: _MatchFields, name: str, item: OutboxItem, zone: str, now: datetime
) -> PlannedNotification:
    """A buyer whose text for this property is already in the outbox, whatever its state."""
    status = item.status
    until = item.not_before if status == OutboxStatus.DEFERRED else None
    reason = recorded_words(str(status), item.last_error, until=until, zone=zone, now=now)
    return PlannedNotification(
        **base,
        name=name,
        group="already",
        code=f"recorded_{status}",
        reason=reason,
        send_at=item.not_before if status == OutboxStatus.DEFERRED else None,
        existing_status=status,
    )
