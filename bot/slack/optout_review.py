"""Possible opt-outs in Slack: the message with **Opt out** / **Not an opt-out**, and the decision.

The message goes into the thread of the deal the buyer was last texted about, or to the ops
channel when that deal has no card. Posting is claimed in the store first
(`store.optout_reviews.claim_unposted`), so two processes never post one review, and a post
Slack refused or never answered is tried again by the `optout_reviews` job. Once decided, the
message is updated in place: the buttons give way to who decided and when.

    poster = OptoutReviewPoster(client=web, engine=engine, ops_channel="#ops-alerts",
                                alerts=deal_alerts)
    poster.post(review_id=7)          # right after the webhook paused the buyer
    poster.show_decision(review)      # after a click or the 24-hour rule
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy import Engine

from bot.slack import blocks
from bot.slack.escape import MAX_SECTION_TEXT, clip, escape, one_line
from bot.slack.messages import mention
from store import buyers, optout_reviews
from store.db import session_scope
from store.models import OptoutReview, OptoutReviewStatus
from store.types import utcnow

log = logging.getLogger("dealfinder.bot.optout")

POST_RETRY = timedelta(minutes=2)  # a claimed post not recorded by then is tried again
BLOCK_PREFIX = "optout_review:"
Block = dict[str, Any]


def review_text(review: OptoutReview, *, name: str | None) -> str:
    """The review as one line of plain Slack text (notifications and screen readers)."""
    who = one_line(name or review.contact_id, 80)
    return f"Possible opt-out from {who}: texting is paused until a broker or admin decides."


def review_blocks(review: OptoutReview, *, name: str | None) -> list[Block]:
    """The message: who wrote what, about which deal, the pause and its deadline, and either
    the two buttons (pending) or the decision."""
    who = one_line(name or review.contact_id, 80)
    about = f" about `{one_line(review.mls_id, 64)}`" if review.mls_id else ""
    spanish = " (in Spanish)" if review.language == "es" else ""
    quoted = clip(escape(" ".join(review.body.split())), 1500)
    lines = [
        f":warning: *Possible opt-out* from *{who}*{about}{spanish}: “{quoted}”",
        "Texting this buyer is paused. *Opt out* does what a STOP does (consent tag removed, "
        "DND for SMS in GHL); *Not an opt-out* resumes texting.",
    ]
    out: list[Block] = [
        blocks.section(clip("\n".join(lines), MAX_SECTION_TEXT), block_id=block_id(review))
    ]
    if review.status == OptoutReviewStatus.PENDING:
        out.append(
            blocks.context(
                f"Undecided by {review.decide_by:%Y-%m-%d %H:%M} UTC, it counts as an opt-out."
            )
        )
        value = str(review.id)
        out.append(
            blocks.actions(
                blocks.button("Opt out", blocks.OPTOUT_CONFIRM, value=value, style="danger"),
                blocks.button("Not an opt-out", blocks.OPTOUT_REJECT, value=value),
                block_id=f"{BLOCK_PREFIX}{review.id}:actions",
            )
        )
    else:
        out.append(blocks.context(decision_line(review)))
    return out


def decision_line(review: OptoutReview) -> str:
    """Who decided what and when, as shown under the message."""
    when = f"{review.decided_at:%Y-%m-%d %H:%M} UTC" if review.decided_at else "earlier"
    if review.decided_by == "auto":
        return f":hourglass: Opted out at {when}: nobody decided within 24 hours."
    if review.decided_by == "ghl_dnd":
        return f":no_bell: DND for SMS was set on the contact in GHL at {when}: opted out."
    if review.decided_by == "buyer":
        return f":no_bell: The buyer opted out themselves (a plain STOP) at {when}."
    what = "Opt out" if review.status == OptoutReviewStatus.OPTED_OUT else "Not an opt-out"
    role = f" ({escape(review.decided_role)})" if review.decided_role else ""
    by = mention(review.decided_by) or one_line(review.decided_by, 64)
    return f":white_check_mark: *{what}*, decided by {by}{role} at {when}."


def block_id(review: OptoutReview) -> str:
    return f"{BLOCK_PREFIX}{review.id}"


class OptoutReviewPoster:
    """Posts reviews to Slack once and shows their decisions. Thread-safe."""

    def __init__(
        self,
        *,
        client: WebClient,
        engine: Engine,
        ops_channel: str,
        alerts: Any = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.client, self.engine, self.ops_channel = client, engine, ops_channel
        self.alerts, self.clock = alerts, clock

    def post(self, review_id: int | None = None) -> int:
        """Post the review `review_id` (or every unposted one); returns how many were posted."""
        with session_scope(self.engine) as session:
            claimed = optout_reviews.claim_unposted(
                session=session, now=self.clock(), retry_after=POST_RETRY, review_id=review_id
            )
            for review in claimed:
                session.expunge(review)
        return sum(self._post_one(review) for review in claimed)

    def show_decision(self, review: OptoutReview) -> bool:
        """Replace the buttons with the decision; False when the review is not in Slack."""
        if not review.slack_channel or not review.slack_ts:
            return False
        try:
            self.client.chat_update(
                channel=review.slack_channel, ts=review.slack_ts,
                text=review_text(review, name=self._name(review)),
                blocks=review_blocks(review, name=self._name(review)),
            )  # fmt: skip
        except (SlackApiError, SlackClientError, OSError) as exc:
            log.warning("could not show the decision on review %s: %s", review.id, exc)
            return False
        return True

    def _post_one(self, review: OptoutReview) -> bool:
        assert review.id is not None
        channel, thread = self.ops_channel, None
        ref = self.alerts.message_for(review.mls_id) if self.alerts and review.mls_id else None
        if ref is not None:
            channel, thread = ref.channel, ref.ts
        name = self._name(review)
        try:
            answer = self.client.chat_postMessage(
                channel=channel, thread_ts=thread, text=review_text(review, name=name),
                blocks=review_blocks(review, name=name), unfurl_links=False,
            )  # fmt: skip
        except (SlackApiError, SlackClientError, OSError) as exc:
            # The claim stays; the job tries again after POST_RETRY.
            log.warning("could not post possible opt-out %s to %s: %s", review.id, channel, exc)
            return False
        with session_scope(self.engine) as session:
            optout_reviews.record_post(
                session=session, review_id=review.id, channel=str(answer["channel"]),
                ts=str(answer["ts"]),
            )  # fmt: skip
        log.info("possible opt-out %s posted to %s", review.id, channel)
        return True

    def _name(self, review: OptoutReview) -> str | None:
        with session_scope(self.engine, readonly=True) as session:
            return buyers.buyer_name(session=session, contact_id=review.contact_id)
