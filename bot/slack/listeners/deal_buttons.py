"""The deal card's buttons: Claim, Notify buyers, Open in GHL, Pass.

Each acks at once; the work runs after the ack once the clicker's role allows it at that moment
(`guarded(..., permission=...)`), answers the clicker privately, and updates the
channel's deal message in place (`DealAlerts.refresh`). Every button carries the MLS id as its
value, so the same buttons work on the channel card and on a `/deal show` answer.
"""

from __future__ import annotations

from slack_bolt import Ack, App

from bot.slack import blocks
from bot.slack import messages as msg
from bot.slack.listeners.common import Turn, button_value, guarded
from bot.slack.roles import allowed


def ack_now(ack: Ack) -> None:
    ack()


def claim(turn: Turn) -> None:
    mls_id = button_value(turn)
    outcome = turn.services.actions.claim(
        mls_id,
        actor=turn.user_id,
        ghl_email=turn.ghl_email,
        override=allowed(turn.role, "deal.claim_override"),
    )
    turn.say(msg.claim_result(outcome.code, mls_id, outcome.previous, outcome.owner))
    if outcome.ok:
        turn.services.alerts.refresh(mls_id)


def pass_deal(turn: Turn) -> None:
    mls_id = button_value(turn)
    if not turn.services.actions.pass_deal(mls_id, actor=turn.user_id):
        turn.say(msg.unknown_deal(mls_id))
        return
    turn.say(msg.passed(mls_id))
    turn.services.alerts.refresh(mls_id)


def notify(turn: Turn) -> None:
    mls_id = button_value(turn)
    plan = turn.services.actions.plan(mls_id)
    if plan is None:
        turn.say(msg.unknown_deal(mls_id))
        return
    turn.say(msg.notify_heading(mls_id), blocks=blocks.notify_confirm_blocks(plan))


def register(app: App) -> None:
    app.action(blocks.CLAIM)(ack=ack_now, lazy=[guarded(claim, permission="deal.claim")])
    app.action(blocks.SKIP_DEAL)(ack=ack_now, lazy=[guarded(pass_deal, permission="deal.pass")])
    app.action(blocks.NOTIFY)(ack=ack_now, lazy=[guarded(notify, permission="deal.notify")])
    # A URL button opens GHL in the browser; Slack still sends the click, which must be acked.
    app.action(blocks.OPEN_IN_GHL)(ack_now)
