"""Previews of pasted GHL links: which links of a `link_shared` event get a deal card.

Only links to the configured location's records are previewed, and only for a person whose
role may look deals up (`deal.show`): a preview is visible to the whole channel, so it is
never built for someone who could not ask `/deal show` themselves. A GHL record DealFinder
has no deal for gets a one-line "not a DealFinder deal".

    previews = UnfurlBuilder(desk=desk, engine=engine, domains=("app.gohighlevel.com",))
    previews.unfurls(links=[url, ...], role=Role.AGENT)     # {url: {"blocks": [...]}}
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from bot.ghl_links import parse_ghl_link
from bot.home_blocks import not_ours_blocks, unfurl_blocks
from bot.roles import Role, allowed
from services.deal_index import mls_for_record
from services.desk import DealDesk

log = logging.getLogger("dealfinder.bot.unfurls")

MAX_PREVIEWS = 5  # links previewed per message: a pasted list should not flood the channel


@dataclass
class UnfurlBuilder:
    """Builds `chat.unfurl`'s `unfurls` argument for the links of one shared message."""

    desk: DealDesk
    engine: Engine
    domains: Sequence[str]

    def unfurls(self, *, links: Sequence[str], role: Role | str | None) -> dict[str, Any]:
        """URL -> unfurl for each link DealFinder may preview for `role`; empty when none."""
        if not allowed(role, "deal.show"):
            return {}
        location = self.desk.ghl.location_id
        found: dict[str, Any] = {}
        for url in links:
            link = parse_ghl_link(url, domains=self.domains)
            if link is None or link.location_id != location or url in found:
                continue  # another location's record is none of this team's business
            mls_id = mls_for_record(
                self.engine, location_id=location, kind=link.kind, record_id=link.record_id
            )
            card = self.desk.card(mls_id, live=False, buyers=False) if mls_id else None
            found[url] = {"blocks": unfurl_blocks(card) if card else not_ours_blocks()}
            if len(found) >= MAX_PREVIEWS:
                break
        return found
