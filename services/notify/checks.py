"""The policy asked again at send time, on fresh store data: an opt-out or DND since the text
was queued wins, quiet hours and the cap defer it.

Deal texts get the full `matching.notify.decide`. Broker alerts (staff, not consumers) need no
consent tag and are outside the buyer cap, but quiet hours still apply. The opt-out
confirmation and the HELP answer are replies the buyer asked for: sent at once.

A broker alert is an outbox item of kind "sms" with ``contact_id`` set and the payload
``{"contact_id", "message", "purpose": "broker_alert", "mls_id"}``, plus optionally
``"timezone"``, ``"phone"``, ``"state"`` and ``"location_timezone"`` for its quiet hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from matching.notify import (
    Action,
    cap_for,
    decide,
    is_quiet,
    next_allowed,
    resolve_timezone,
    window_for,
)
from services.notify.common import (
    PURPOSE_BROKER,
    PURPOSE_HELP,
    PURPOSE_MATCH,
    PURPOSE_OPTOUT_CONFIRM,
    cap_window,
    contact_info,
    sent_times,
)
from services.notify.outcomes import DeliveryContext
from store import buyers
from store.db import session_scope
from store.models import OutboxItem
from store.optout_reviews import paused_contacts

# A text held for a review whose decide-by time has passed waits this long for the 24-hour
# job to decide, and is then judged again.
PAUSE_RECHECK = timedelta(minutes=5)


@dataclass(frozen=True)
class Verdict:
    """What the policy allows now: send (with the cap that applies), or defer/exclude/cancel."""

    status: Literal["send", "deferred", "excluded", "cancelled"]
    detail: str
    until: datetime | None = None
    cap: int = 0


def send_time_verdict(
    ctx: DeliveryContext,
    item: OutboxItem,
    *,
    purpose: str,
    contact_id: str,
    skip_slot_id: int | None,
) -> Verdict:
    """The policy at send time, on fresh store data (an opt-out since enqueue wins)."""
    if purpose == PURPOSE_OPTOUT_CONFIRM:
        # 47 CFR 64.1200(a)(10): one confirmation may follow an opt-out, so neither the
        # opt-out itself nor quiet hours hold it back; its dedupe key keeps it to one.
        return Verdict("send", "opt-out confirmation")
    with session_scope(ctx.engine, readonly=True) as session:
        buyer = buyers.get_buyer(session=session, contact_id=contact_id)
        window = cap_window(ctx.rules)
        history = sent_times(
            session=session,
            contact_ids=[contact_id],
            now=ctx.now,
            window=window,
            skip_slot_id=skip_slot_id,
        )
        paused = paused_contacts(session=session, contact_ids=[contact_id]).get(contact_id)
    if purpose == PURPOSE_HELP:
        # An answer to the buyer's own HELP, sent at once (CTIA); not after they opted out.
        if buyer is not None and buyer.opted_out:
            return Verdict("cancelled", "opted_out: the contact opted out after asking for HELP")
        return Verdict("send", "HELP reply")
    if purpose == PURPOSE_BROKER:
        return broker_verdict(ctx, item, opted_out=bool(buyer and buyer.opted_out))
    if purpose != PURPOSE_MATCH:
        return Verdict("excluded", f"unknown_purpose: {purpose!r} is not a notifier text")
    if buyer is None:
        return Verdict("excluded", "unknown_buyer: the buyer is no longer in the store")
    decision = decide(
        at=ctx.now,
        buyer=contact_info(buyer, paused=paused is not None),
        already_sent_property=False,  # this item is the property's one text (dedupe key)
        sent_times=history[contact_id],
        rules=ctx.rules,
        location_timezone=item.payload.get("location_timezone") or ctx.location_timezone,
    )
    detail = f"{decision.code}: {decision.reason}"
    if decision.code == "paused" and paused is not None:
        # Held, not dropped: "Not an opt-out" releases it (`services.optout.review`).
        return Verdict("deferred", detail, until=max(paused, ctx.now + PAUSE_RECHECK))
    if decision.action is Action.SEND:
        return Verdict("send", detail, cap=cap_for(state=decision.states, rules=ctx.rules))
    if decision.action is Action.DEFER:
        return Verdict("deferred", detail, until=decision.send_at)
    return Verdict("cancelled" if decision.code == "opted_out" else "excluded", detail)


def broker_verdict(ctx: DeliveryContext, item: OutboxItem, *, opted_out: bool) -> Verdict:
    """Broker alerts: staff, not consumers, so no consent tag or cap; quiet hours still apply."""
    if opted_out:
        return Verdict("cancelled", "opted_out: this contact opted out of texts")
    payload = item.payload
    zone = resolve_timezone(
        contact_timezone=payload.get("timezone"),
        phone=payload.get("phone"),
        location_timezone=payload.get("location_timezone") or ctx.location_timezone,
        default=ctx.rules.default_timezone,
        contact_state=payload.get("state"),
    )
    window = window_for(state=payload.get("state"), rules=ctx.rules)
    if not is_quiet(at=ctx.now, zone=zone, window=window):
        return Verdict("send", "broker alert inside the allowed window")
    until = next_allowed(at=ctx.now, zone=zone, window=window)
    local = until.astimezone(zone.zone)
    return Verdict(
        "deferred",
        f"quiet_hours: broker alert held until {local:%Y-%m-%d %H:%M} {zone.zone.key} "
        f"({until:%Y-%m-%d %H:%M} UTC)",
        until=until,
    )
