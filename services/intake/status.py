"""Where a submitted property is: queued, worked into a GHL deal (stage, owner, link), alerted
in Slack, matched to buyers, or refused by GHL and why. What `GET /api/properties/{mls_id}`
answers, also for in-process callers.

    status = property_status("TPA-1", engine=engine, location_id="loc_123", desk=desk)
    status["state"], status["stage"], status["opportunity_url"], status["alert"]["status"]

Read from the store (the link the pipeline keeps, the Slack message map, the outbox), never
from GHL, so asking costs no GHL request however often the analysis module polls.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from services.desk import DealDesk
from services.hot_alerts import alert_key, card_key
from services.intake.queue import item_state, latest_item
from store import outbox
from store import state as store_state
from store.db import session_scope
from store.deals import get_property
from store.models import OutboxStatus


def property_status(
    mls_id: str, *, engine: Engine, location_id: str, desk: DealDesk | None = None
) -> dict[str, Any] | None:
    """Everything known about a submitted or imported property; None if nobody sent it."""
    with session_scope(engine, readonly=True) as session:
        item = latest_item(session, location_id, mls_id)
        stored = get_property(session=session, mls_id=mls_id) is not None
        alert = _alert(session, location_id, mls_id)
    if item is None and not stored:
        return None
    result = dict(item.result or {}) if item is not None else {}
    errors = []
    if item is not None and item.last_error and item.status != OutboxStatus.SENT:
        errors.append(item.last_error)
    if result.get("action") == "failed" and result.get("reason"):
        errors.append(result["reason"])
    status: dict[str, Any] = {
        "mls_id": mls_id,
        "state": item_state(item) if item is not None else "done",
        "received_at": (item.payload or {}).get("received_at") if item is not None else None,
        "attempts": item.attempts if item is not None else 0,
        "action": result.get("action"),
        "reason": result.get("reason") or None,
        "hot": bool(result.get("hot")),
        "stage": result.get("stage_name"),
        "owner": result.get("owner_email"),
        "opportunity_id": result.get("opportunity_id"),
        "opportunity_url": result.get("opportunity_url"),
        "alert": alert,
        "matches": [],
        "warnings": list(result.get("warnings") or []),
        "errors": errors,
    }
    card = desk.card(mls_id, live=False, buyers=True) if desk is not None and stored else None
    if card is not None:
        # The card reads the stored link, which webhooks and `/deal` keep current after the
        # import: stage and owner as they are now, not as they were when the deal was made.
        status["hot"] = card.hot
        status["stage"] = card.stage or status["stage"]
        status["owner"] = card.owner or status["owner"]
        status["opportunity_id"] = card.opportunity_id or status["opportunity_id"]
        status["opportunity_url"] = card.opportunity_url or status["opportunity_url"]
        status["matches"] = [
            {"contact_id": b.contact_id, "name": b.name, "score": b.score} for b in card.top_buyers
        ]
    if not status["hot"] and alert["status"] == "none":
        alert["status"] = "not_hot"
    return status


def _alert(session: Any, location_id: str, mls_id: str) -> dict[str, Any]:
    """posted (with channel and ts) | queued | failed | none: the deal's Slack card."""
    message = store_state.get_slack_message(session=session, key=card_key(location_id, mls_id))
    if message is not None:
        return {"status": "posted", "channel": message.channel, "ts": message.ts}
    item = outbox.get_by_dedupe_key(session=session, dedupe_key=alert_key(location_id, mls_id))
    if item is None:
        return {"status": "none", "channel": None, "ts": None}
    state = "failed" if item.status in (OutboxStatus.FAILED, OutboxStatus.CANCELLED) else "queued"
    return {"status": state, "channel": None, "ts": None}
