"""What the notifier's modules share: outbox kinds, dedupe keys, and store reads for the policy.

The outbox holds three kinds of notifier items:
- ``"sms"``: a deal text to a buyer (purpose ``buyer_match``) or a hot-deal alert to a broker
  (purpose ``broker_alert``, enqueued by the pipeline); the policy and the cap apply.
- ``"sms_reply"``: an answer to the buyer's own text (opt-out confirmation, HELP). A separate
  kind so that an opt-out, which cancels the contact's pending ``"sms"`` items, never cancels
  the one confirmation it is owed.
- ``"ghl_followup"``: a GHL write that follows a send or an opt-out (tag, note, task,
  workflow, tag removal, DND), retried on its own so its failure never repeats a text.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from ghl.errors import GHLError
from matching.notify import BuyerContactInfo, NotifyRules
from store.models import Buyer, SmsLog

KIND_SMS = "sms"
KIND_REPLY = "sms_reply"
KIND_FOLLOWUP = "ghl_followup"
NOTIFIER_KINDS = (KIND_SMS, KIND_REPLY, KIND_FOLLOWUP)

PURPOSE_MATCH = "buyer_match"
PURPOSE_BROKER = "broker_alert"
PURPOSE_OPTOUT_CONFIRM = "optout_confirmation"
PURPOSE_HELP = "help_reply"


def match_key(contact_id: str, mls_id: str) -> str:
    """The dedupe key of a deal text: one buyer is never sent one property twice."""
    return f"sms:{contact_id}:{mls_id}"


def optout_confirm_key(contact_id: str) -> str:
    """The dedupe key of the one opt-out confirmation a contact may receive."""
    return f"sms:optout-confirm:{contact_id}"


def followup_key(*, action: str, contact_id: str, ref: str) -> str:
    """The dedupe key of a GHL follow-up write (`ref`: the property, or the opt-out event)."""
    return f"ghl:{action}:{contact_id}:{ref}"


def cap_window(rules: NotifyRules) -> timedelta:
    """The rolling window the per-contact cap counts in."""
    return timedelta(hours=rules.cap_window_hours)


def contact_info(buyer: Buyer, *, paused: bool = False) -> BuyerContactInfo:
    """The policy's view of a stored buyer (`paused`: a possible opt-out of theirs is pending)."""
    return BuyerContactInfo(
        contact_id=buyer.contact_id,
        phone=buyer.phone,
        tags=tuple(buyer.tags or ()),
        dnd_sms=buyer.dnd_sms,
        opted_out=buyer.opted_out,
        timezone=buyer.timezone,
        state=buyer.state,
        paused=paused,
    )


def sent_times(
    *,
    session: Session,
    contact_ids: Iterable[str],
    now: datetime,
    window: timedelta,
    skip_slot_id: int | None = None,
) -> dict[str, list[datetime]]:
    """Each contact's reserved SMS slots in the window ending at `now` (what the cap counts).

    `skip_slot_id` leaves out the slot a retried item already holds, so its own reservation
    does not count against it a second time.
    """
    ids = list(dict.fromkeys(contact_ids))
    found: dict[str, list[datetime]] = {cid: [] for cid in ids}
    if not ids:
        return found
    stmt = select(SmsLog).where(col(SmsLog.contact_id).in_(ids), col(SmsLog.sent_at) > now - window)
    for slot in session.exec(stmt).all():
        if slot.id != skip_slot_id:
            found[slot.contact_id].append(slot.sent_at)
    return found


def slot_of(*, session: Session, outbox_id: int) -> SmsLog | None:
    """The SMS slot an outbox item reserved, if a previous attempt got that far."""
    stmt = select(SmsLog).where(SmsLog.outbox_id == outbox_id).order_by(col(SmsLog.id).desc())
    return session.exec(stmt).first()


def buyer_link(template: str, mls_id: str) -> str:
    """The buyer-facing link of a property, from the mapping's `sms.buyer_link` template."""
    # replace, not str.format: a template with other braces must not fail at send time.
    return template.replace("{mls_id}", mls_id)


def describe_error(exc: BaseException) -> str:
    """A short, secret-free description of a failure for `last_error` and reports."""
    # GHLError texts are redacted at construction; other exceptions are named, not quoted.
    if isinstance(exc, GHLError):
        return f"{type(exc).__name__}: {exc}"[:500]
    return type(exc).__name__
