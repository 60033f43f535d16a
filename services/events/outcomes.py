"""What a GHL webhook did, as typed values: the adapter (`bot.web.webhook_handlers`) decides
what to tell Slack from these, and `describe()` is the line for the webhook job's log.

    outcome = buyer_changed(...)           # -> BuyerRefreshed(...) or Ignored.NOT_A_BUYER
    log.info("... %s", outcome.describe())
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, StrEnum

from services.optout.replies import InboundKind
from services.pipeline.activity import StageMove


class Ignored(StrEnum):
    """Why an event changed nothing here (the value is the log line)."""

    OTHER_LOCATION = "another location's event; ignored"
    NO_CONTACT_ID = "no contact id"
    CONTACT_GONE = "contact no longer in GHL"
    NOT_A_BUYER = "not a buyer"
    NO_OPPORTUNITY_ID = "no opportunity id"
    NOT_OUR_DEAL = "not a DealFinder deal"
    OPPORTUNITY_GONE = "opportunity no longer in GHL"
    NO_CONTACT_OR_TITLE = "no contact or title"

    def describe(self) -> str:
        return self.value


@dataclass(frozen=True)
class BuyerRefreshed:
    """A contact event re-read the buyer from GHL into the buyer cache."""

    contact_id: str
    excluded: bool  # kept out of matching (bad data, or no longer tagged a buyer)

    def describe(self) -> str:
        # The exclusion reason can quote the phone number: it stays in the store, out of logs.
        return f"buyer refreshed ({'excluded' if self.excluded else 'matchable'})"


@dataclass(frozen=True)
class DndRecorded:
    """A `ContactDndUpdate` was applied (SMS DND on = opted out here)."""

    contact_id: str | None
    sms_dnd: bool
    opted_out: bool

    def describe(self) -> str:
        return f"sms dnd {'on' if self.sms_dnd else 'off'}"


@dataclass(frozen=True)
class DealChange:
    """What an opportunity webhook changed on a deal (for the deal's thread)."""

    mls_id: str
    old_stage_id: str | None
    new_stage_id: str | None
    old_status: str | None
    new_status: str | None
    event_key: str | None  # the delivery's webhookId: the same on every retry


@dataclass(frozen=True)
class DealUpdated:
    """An opportunity event: the store's link now holds GHL's current record."""

    change: DealChange
    status: str | None  # GHL's status as read (None: GHL gave none)

    def describe(self) -> str:
        return f"deal {self.change.mls_id} updated ({self.status or 'open'})"


@dataclass(frozen=True)
class DealsMoved:
    """A `TaskComplete` moved these deals forward (only the moves that happened)."""

    title: str
    moves: tuple[StageMove, ...]
    event_key: str | None  # the delivery's webhookId (else the task id): same on a retry

    def describe(self) -> str:
        return f"{len(self.moves)} deal(s) moved"


class ReplyRoute(Enum):
    """Where a buyer's text goes after the notifier saw it."""

    ANSWERED = "answered"  # opt-out, HELP, possible opt-out or not an SMS: nothing to post
    NO_CONTACT = "no_contact"  # a reply without a contact: nobody to name, not posted
    NO_DEAL = "no_deal"  # the contact was never texted about a deal: no thread to post to
    TO_TEAM = "to_team"  # post it to the deal's thread


@dataclass(frozen=True)
class ReplyOutcome:
    """An `InboundMessage`: what the notifier called it and, for the team, what to post.

    `mls_id` is the deal the reply is about (`services.notify.inbound.last_deal`), `name` the
    buyer's `store.buyers.display_name` (None: unknown), `score` their match score for the
    deal, `reply_id` GHL's message id (else the delivery's webhookId: the same on a retry).
    """

    kind: InboundKind
    route: ReplyRoute
    contact_id: str | None
    mls_id: str | None = None
    name: str | None = None
    score: int | None = None
    body: str = ""
    reply_id: str | None = None

    def describe(self) -> str:
        """The log line when nothing is posted (a posted reply's line names Slack's answer)."""
        if self.route is ReplyRoute.NO_CONTACT:
            return f"{self.kind}: no contact; not posted"
        if self.route is ReplyRoute.NO_DEAL:
            return f"{self.kind}: not posted: this contact was never texted about a deal"
        return str(self.kind)


EventOutcome = Ignored | BuyerRefreshed | DndRecorded | DealUpdated | DealsMoved | ReplyOutcome
