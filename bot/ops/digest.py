"""The morning digest: the week's hot deals and where each stands, posted to the deals channel.

Off unless an hour is configured. It reads the store only (properties, their opportunity
links) plus the stage names the mapping resolved in GHL, so it costs at most one GHL call.

    text = digest_text(engine=engine, location_id=loc, hot=90, stage_names=names, now=now)
    post_digest(engine=engine, ..., post=slack_poster(web, "#deals"), now=now)
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlmodel import col, select

from bot.slack.escape import escape
from store.db import session_scope
from store.deals import worked_at
from store.models import OpportunityLink, Property

log = logging.getLogger("dealfinder.digest")

MAX_LINES = 20


def digest_text(
    *,
    engine: Engine,
    location_id: str,
    hot: int,
    stage_names: Mapping[str, str],
    now: datetime,
    timezone: str = "UTC",
    days: int = 7,
    opportunity_url: Callable[[str], str] | None = None,
) -> str | None:
    """The digest message, or None when no hot deal came in during the last `days` days.

    `stage_names` maps GHL stage ids to names; a deal whose stage is not in it shows the id.
    """
    since = now - timedelta(days=days)
    with session_scope(engine, readonly=True) as session:
        rows = session.exec(
            select(Property, OpportunityLink)
            .join(
                OpportunityLink,
                (col(OpportunityLink.mls_id) == col(Property.mls_id))
                & (col(OpportunityLink.location_id) == location_id),
                isouter=True,
            )
            .where(
                worked_at(location_id),
                col(Property.deal_score) >= hot,
                col(Property.updated_at) >= since,
            )
            .order_by(col(Property.deal_score).desc(), col(Property.mls_id))
        ).all()
    if not rows:
        return None
    local = now.astimezone(ZoneInfo(timezone))
    lines = [f":fire: *Hot deals* — {local:%A %d %B}: {len(rows)} in the last {days} days"]
    for prop, link in rows[:MAX_LINES]:
        record = (prop.data or {}).get("record") or prop.data or {}
        where = ", ".join(str(p) for p in (record.get("address"), record.get("city")) if p)
        if link is None:
            status = "no GHL deal yet"
        else:
            stage = stage_names.get(link.stage_id or "", link.stage_id or "no stage")
            status = escape(f"{stage}, {link.status or 'open'}")
            if opportunity_url is not None:
                status += f" — <{opportunity_url(link.opportunity_id)}|open in GHL>"
        score = f"{prop.deal_score:.0f}" if prop.deal_score is not None else "?"
        lines.append(
            f"• *{escape(where or prop.mls_id)}* (MLS {escape(prop.mls_id)}) — score {score} — "
            f"{status}"
        )
    if len(rows) > MAX_LINES:
        lines.append(f"…and {len(rows) - MAX_LINES} more")
    return "\n".join(lines)


def post_digest(
    *,
    engine: Engine,
    location_id: str,
    hot: int,
    stage_names: Callable[[], Mapping[str, str]],
    post: Callable[[str], bool],
    now: datetime,
    timezone: str = "UTC",
    opportunity_url: Callable[[str], str] | None = None,
) -> None:
    """Post today's digest (nothing when no hot deal came in); raises when Slack refused it,
    so the job run counts as failed and repeated failures reach the health check."""
    try:
        names = stage_names()
    except Exception as exc:  # stage names are a nicety: show ids rather than no digest
        log.warning("digest without stage names (%s)", type(exc).__name__)
        names = {}
    text = digest_text(
        engine=engine,
        location_id=location_id,
        hot=hot,
        stage_names=names,
        now=now,
        timezone=timezone,
        opportunity_url=opportunity_url,
    )
    if text is None:
        log.info("digest: no hot deals this week; nothing posted")
        return
    if not post(text):
        raise RuntimeError("the digest could not be posted to Slack")
