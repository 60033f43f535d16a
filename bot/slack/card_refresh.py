"""Deal cards kept current in Slack: every few seconds, cards marked changed are re-rendered.

Whoever changes a deal (a batch of texts, a release of deferred texts, a reply, an opt-out, a
claim, a stage move or status change from GHL) only marks its card changed in the store
(`services.hot_alerts.mark_cards_changed`), in any process, with or without Slack. A process
with Slack runs `CardRefresher.flush` from the `slack_cards` job: each changed card gets one
`chat.update`, then rests for `debounce`, so ten changes in a second cost one or two updates,
and one process at a time updates a card (the store's lease). A 429 postpones the card by
Slack's `Retry-After` and ends the run (chat.update is rate limited per workspace, not per
card); `PER_RUN` bounds a run under Slack's Tier 3 (about 50 updates a minute).

    refresher = CardRefresher(alerts)            # bot.slack.alerts.DealAlerts
    refresher.flush()                            # how many cards were updated
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from slack_sdk.errors import SlackApiError, SlackClientError

from bot.slack.alerts import CARD_DEBOUNCE
from store import cards
from store.db import session_scope
from store.types import utcnow

log = logging.getLogger("dealfinder.bot.cards")

DEBOUNCE = CARD_DEBOUNCE
LEASE = timedelta(seconds=60)
PER_RUN = 10  # at most this many chat.update calls per run (Tier 3: ~50 per minute)
RETRY_FAILED = timedelta(minutes=1)


class CardRefresher:
    """Brings changed deal cards up to date through a `DealAlerts` (its client, store, cards)."""

    def __init__(
        self,
        alerts: object,
        *,
        debounce: timedelta = DEBOUNCE,
        clock: Callable[[], datetime] | None = None,
        worker_id: str | None = None,
    ):
        self.alerts = alerts
        self.engine = alerts.engine  # type: ignore[attr-defined]
        # The alerts' clock: a click's own refresh sets the same `not_before` (store.cards).
        self.debounce = debounce
        self.clock: Callable[[], datetime] = (
            clock if clock is not None else getattr(alerts, "clock", utcnow)
        )
        self.worker_id = worker_id or (
            f"cards:{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        )

    def flush(self) -> int:
        """Update every due changed card (up to `PER_RUN`); returns how many were updated."""
        now = self.clock()
        with session_scope(self.engine) as session:
            due = cards.claim_due(
                session=session, now=now, worker_id=self.worker_id, lease=LEASE, limit=PER_RUN
            )
        updated = 0
        for index, card in enumerate(due):
            try:
                if self.alerts.refresh(card.mls_id):  # type: ignore[attr-defined]
                    updated += 1
            except SlackApiError as exc:
                wait = _retry_after(exc)
                self._postpone(card.mls_id, wait or RETRY_FAILED, _error(exc))
                if wait is not None:  # rate limited: the others wait too
                    for rest in due[index + 1 :]:
                        self._postpone(rest.mls_id, wait, "waiting for Slack's rate limit")
                    log.warning("Slack rate-limits card updates; next in %s", wait)
                    break
                continue
            except (SlackClientError, OSError) as exc:
                self._postpone(card.mls_id, RETRY_FAILED, f"{type(exc).__name__}: no answer")
                continue
            # No message yet (the alert is still queued) also counts as shown: the post
            # renders the card as it is then.
            self._shown(card)
        return updated

    def _shown(self, card: cards.DueCard) -> None:
        now = self.clock()
        with session_scope(self.engine) as session:
            cards.shown(
                session=session, mls_id=card.mls_id, worker_id=self.worker_id,
                changes=card.changes, next_at=now + self.debounce, now=now,
            )  # fmt: skip

    def _postpone(self, mls_id: str, wait: timedelta, error: str) -> None:
        now = self.clock()
        log.info("card %s not updated (%s); again in %s", mls_id, error, wait)
        with session_scope(self.engine) as session:
            cards.postpone(
                session=session, mls_id=mls_id, worker_id=self.worker_id, until=now + wait,
                error=error, now=now,
            )  # fmt: skip


def _retry_after(exc: SlackApiError) -> timedelta | None:
    """Slack's Retry-After for a 429 (slack_sdk's own retries already used up), else None."""
    response = exc.response
    if getattr(response, "status_code", None) != 429 and response.get("error") != "ratelimited":
        return None
    headers = getattr(response, "headers", None) or {}
    value: Any = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    try:
        seconds = float(value[0] if isinstance(value, list) else value)
    except (TypeError, ValueError):
        seconds = 30.0
    return timedelta(seconds=max(1.0, seconds))


def _error(exc: SlackApiError) -> str:
    return f"SlackApiError: {exc.response.get('error') or 'no error code'}"


__all__ = ["DEBOUNCE", "CardRefresher"]
