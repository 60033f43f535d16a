"""Previews of pasted GHL links: which links of a `link_shared` event get a deal card, and
keeping those cards current when the deal is claimed.

Only links to the configured location's records are previewed, and only for a person whose
role may look deals up (`deal.show`), read when the work runs: a preview shows to the whole
channel, so it is never built for someone who could not ask `/deal show` themselves. A GHL
record DealFinder has no deal for gets a one-line "not a DealFinder deal".

Where a deal was previewed is kept in the store (`SyncState` "slack_unfurls:{mls_id}", the
newest few), so a claim, from any process, re-sends those previews with the new claimer:
`chat.unfurl` on the same message replaces its preview (Slack: "subsequent attempts with the
same ts and channel ... modify the same attachments, rather than adding more").

    previews = LinkPreviews(desk=desk, client=web_client, domains=("app.gohighlevel.com",))
    previews.preview(event, role=Role.AGENT)      # the link_shared event's links; None if none
    previews.on_claim("TPA-1", actor="U1", previous=None)     # a DeskActions claim hook
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.slack.ghl_links import parse_ghl_link
from bot.slack.home.blocks import not_ours_blocks, unfurl_blocks
from bot.slack.roles import Role, allowed
from services.deal_index import mls_for_record
from services.desk import DealDesk
from store import state as store_state
from store.db import session_scope
from store.types import utcnow

log = logging.getLogger("dealfinder.bot.unfurls")

MAX_PREVIEWS = 5  # links previewed per message: a pasted list should not flood the channel
KEPT_TARGETS = 20  # previews of one deal kept current after a claim (the newest)


def targets_key(mls_id: str) -> str:
    return f"slack_unfurls:{mls_id}"


@dataclass
class LinkPreviews:
    """Builds and sends `chat.unfurl` for shared GHL links; thread-safe."""

    desk: DealDesk
    client: WebClient
    domains: Sequence[str]
    clock: Callable[[], datetime] = utcnow
    work: Executor | None = None  # where re-sending after a claim runs (not on the claim's path)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def unfurls(self, *, links: Sequence[str], role: Role | str | None) -> dict[str, Any]:
        """URL -> unfurl for each link DealFinder may preview for `role`; empty when none."""
        return {url: unfurl for url, (_, unfurl) in self._previews(links, role).items()}

    def preview(self, event: dict[str, Any], *, role: Role | str | None) -> bool:
        """Preview a `link_shared` event's GHL links; whether `chat.unfurl` was sent."""
        links = [str(link.get("url") or "") for link in event.get("links") or []]
        previews = self._previews(links, role)
        if not previews:
            return False
        if event.get("unfurl_id") and event.get("source"):
            # Works for links still in the composer too (channel "COMPOSER"): Slack's 2021 way.
            target = {"unfurl_id": event["unfurl_id"], "source": event["source"]}
        else:
            target = {"channel": event.get("channel"), "ts": event.get("message_ts")}
        unfurls = {url: unfurl for url, (_, unfurl) in previews.items()}
        if not self._send(target, unfurls):
            return False
        for url, (mls_id, _) in previews.items():
            if mls_id is not None:
                self._remember(mls_id, {"target": target, "url": url})
        return True

    def on_claim(self, mls_id: str, *, actor: str, previous: str | None) -> None:
        """Re-send the deal's previews so they name the new claimer (on the work pool, so the
        claimer's answer does not wait for Slack)."""
        if self.work is None:
            self.refresh(mls_id)
            return
        try:
            self.work.submit(self._refresh_logged, mls_id)
        except RuntimeError:  # shutting down: the previews keep their last claimer
            log.info("not refreshing the previews of %s: shutting down", mls_id)

    def refresh(self, mls_id: str) -> None:
        """Re-send every kept preview of the deal with its current card."""
        with session_scope(self.desk.engine, readonly=True) as session:
            found = store_state.get_sync_state(session=session, key=targets_key(mls_id))
            shown = list((found.value if found else {}).get("shown") or [])
        if not shown:
            return
        card = self.desk.card(mls_id, live=False, buyers=False)
        if card is None:
            return
        for entry in shown:
            self._send(entry["target"], {entry["url"]: {"blocks": unfurl_blocks(card)}})

    # -- parts ---------------------------------------------------------------------------

    def _refresh_logged(self, mls_id: str) -> None:
        try:
            self.refresh(mls_id)
        except Exception:  # a pool would keep the error to itself: log it
            log.exception("refreshing the previews of %s failed", mls_id)

    def _previews(
        self, links: Sequence[str], role: Role | str | None
    ) -> dict[str, tuple[str | None, dict[str, Any]]]:
        if not allowed(role, "deal.show"):
            return {}
        location = self.desk.ghl.location_id
        found: dict[str, tuple[str | None, dict[str, Any]]] = {}
        for url in links:
            link = parse_ghl_link(url, domains=self.domains)
            if link is None or link.location_id != location or url in found:
                continue  # another location's record is none of this team's business
            mls_id = mls_for_record(
                self.desk.engine, location_id=location, kind=link.kind, record_id=link.record_id
            )
            card = self.desk.card(mls_id, live=False, buyers=False) if mls_id else None
            if card is None:
                found[url] = (None, {"blocks": not_ours_blocks()})
            else:
                found[url] = (card.mls_id, {"blocks": unfurl_blocks(card)})
            if len(found) >= MAX_PREVIEWS:
                break
        return found

    def _send(self, target: dict[str, Any], unfurls: dict[str, Any]) -> bool:
        try:
            self.client.chat_unfurl(unfurls=unfurls, **target)
        except (SlackApiError, SlackClientError, OSError) as exc:
            log.warning("could not preview %d GHL link(s): %s", len(unfurls), exc)
            return False
        return True

    def _remember(self, mls_id: str, entry: dict[str, Any]) -> None:
        # Last writer wins across processes: two previews of one deal in the same instant may
        # keep one; the lost one only misses a claimer's name until the next preview.
        with self._lock, session_scope(self.desk.engine) as session:
            key = targets_key(mls_id)
            found = store_state.get_sync_state(session=session, key=key)
            shown = [e for e in (found.value if found else {}).get("shown") or [] if e != entry]
            shown = [*shown, entry][-KEPT_TARGETS:]
            store_state.set_sync_state(
                session=session, key=key, value={"shown": shown}, now=self.clock()
            )
