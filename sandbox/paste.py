"""The morning run's pasted link: an agent shares a deal's "Open in GHL" link in #deals.

paste_deal_link(sandbox, "LA240011")   # Slack sends link_shared; the bot previews the link
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sandbox.slack_fake.events import share_link
from sandbox.typed import slack_text

if TYPE_CHECKING:
    from sandbox.run import Sandbox

DEALS_CHANNEL = "C0DEALS"


def paste_deal_link(
    sandbox: Sandbox,
    mls_id: str,
    *,
    user_id: str = "U0AGENT01",
    note: str = "Seller says they can close in 2 weeks:",
) -> str:
    """An agent pastes the deal's "Open in GHL" link in #deals, as a person would; Slack sends
    the bot `link_shared` and the bot previews the link (`chat.unfurl`). Returns `mls_id`."""
    from store.db import session_scope
    from store.deals import get_opportunity_link

    with session_scope(sandbox.engine, readonly=True) as session:
        link = get_opportunity_link(
            session=session, mls_id=mls_id, location_id=sandbox.ghl.location_id
        )
    if link is None:
        return ""
    url = sandbox.ghl.opportunity_url(link.opportunity_id)
    share_link(
        sandbox.driver, text=slack_text(f"{note} {url}"), user_id=user_id, channel_id=DEALS_CHANNEL
    )
    return mls_id
