"""The deal's thread: where a change made from Slack is recorded for the team to see.

The hot-deal card's thread when the deal has a card (`DealAlerts.message_for`), else the
deal's replies thread (`bot.reply_threads`), started when there is none yet. A thread entry
that Slack refuses does not undo the change already made in GHL: it is logged, and the caller
tells the user.

    recorded = record_in_thread(services, "TPA-1", thread_entry("won", user_id="U0AGENT01"))
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from slack_sdk.errors import SlackApiError, SlackClientError

from bot.escape import MAX_SECTION_TEXT, clip
from bot.reply_threads import ReplyThreadBusy, ReplyThreads

if TYPE_CHECKING:
    from bot.app import BotServices

log = logging.getLogger("dealfinder.bot.deal_thread")


def record_in_thread(services: BotServices, mls_id: str, text: str, *, plain: str = "") -> bool:
    """Post `text` (mrkdwn, outside values already escaped) in the deal's thread; True if it
    was posted. `plain`: the text used when a new replies thread must be started (that path
    shows text literally, so it carries no mentions)."""
    alerts = services.alerts
    try:
        ref = alerts.message_for(mls_id)
        threads = None
        if ref is None:
            threads = ReplyThreads(
                client=alerts.client, engine=alerts.engine, cards=alerts.cards,
                channel=services.settings.replies_channel, card_message=alerts.message_for,
                clock=alerts.clock,
            )  # fmt: skip
            ref = threads.thread_for(mls_id)
        if ref is not None:
            alerts.client.chat_postMessage(
                channel=ref.channel, thread_ts=ref.ts, text=clip(text, MAX_SECTION_TEXT)
            )
            return True
        if threads is None:
            return False
        threads.post(mls_id=mls_id, text=plain or text)
        return True
    except (SlackApiError, SlackClientError, OSError, ReplyThreadBusy) as exc:
        log.warning("thread entry for %s not posted: %s", mls_id, type(exc).__name__)
        return False
