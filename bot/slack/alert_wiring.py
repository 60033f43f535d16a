"""What happened to an import's hot-deal alerts, for the `dealfinder import` summary.

Every door queues a hot deal's alert in the store (`services.hot_alerts`); a process with
SLACK_BOT_TOKEN also posts it at once, through the one deal pipeline `bot.runtime` builds
(its hot-deal hook is the bot's own `DealAlerts`: one message per deal across processes).
Without a token the alert waits for `serve` or `worker`; `describe_alerts` says which.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from sqlalchemy import Engine

from services.hot_alerts import alert_state, poster_seen
from services.pipeline.result import DealResult
from store.types import utcnow


def describe_alerts(
    results: Sequence[DealResult], *, engine: Engine, location_id: str, dry_run: bool,
    has_slack: bool, now: datetime | None = None,
) -> tuple[str | None, list[tuple[str, str]]]:  # fmt: skip
    """(a line about Slack for the whole import or None, [(mls_id, what happened)] per hot
    deal this run worked on)."""
    hot = []
    for r in results:
        if not r.hot or r.action == "failed":
            continue
        # A re-run skips an unchanged deal: its alert is as an earlier run left it.
        state = r.alert or alert_state(engine, location_id=location_id, mls_id=r.mls_id)
        if state is not None:
            hot.append(replace(r, alert=state, record=None))
    if not hot:
        return None, []
    if dry_run:
        return "dry run: nothing was sent to Slack", [(r.mls_id, "not sent (dry run)") for r in hot]
    poster = None if has_slack else poster_seen(engine, now=now or utcnow())
    lines = []
    for r in hot:
        if r.alert == "posted":
            lines.append((r.mls_id, "Slack told (card in the deals channel)"))
        elif r.alert == "queued" and poster is not None:
            lines.append((r.mls_id, "alert queued; the running bot posts it within seconds"))
        elif r.alert == "queued":
            lines.append((r.mls_id, "alert queued; posted when `dealfinder serve` or "
                                    "`dealfinder worker` runs with SLACK_BOT_TOKEN"))  # fmt: skip
        else:
            lines.append((r.mls_id, f"alert {r.alert}"))
    note = None
    if not has_slack and poster is None and any(r.alert == "queued" for r in hot):
        note = (
            "Slack is not configured here (SLACK_BOT_TOKEN) and no bot or worker with Slack "
            "was seen in the last 2 minutes: hot-deal alerts wait in the store until one runs"
        )
    return note, lines
