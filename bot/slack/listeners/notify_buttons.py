"""The notification confirmation's buttons: Confirm and text, or Cancel.

Confirm plans again (the store may have changed since the preview), records every buyer's
intent in the outbox and delivers what is due now; clicking twice texts nobody twice (one
outbox item per buyer and property). The private confirmation is replaced by the outcome.
"""

from __future__ import annotations

from slack_bolt import App

from bot.slack import blocks
from bot.slack import messages as msg
from bot.slack.listeners.authz import NO_PERMISSION
from bot.slack.listeners.common import Turn, button_value, guarded
from bot.slack.listeners.deal_buttons import ack_now


def confirm(turn: Turn) -> None:
    mls_id = button_value(turn)
    turn.say(msg.working("Texting buyers"), replace_original=True)
    outcome = turn.services.actions.notify(mls_id)
    if outcome is None:
        turn.say(msg.unknown_deal(mls_id), replace_original=True)
        return
    added = outcome.enqueued
    mine = set(added.queued)
    sent = sum(1 for o in outcome.delivered.of("sent", kind="sms") if o.contact_id in mine)
    text = msg.notify_done(
        len(added.queued), len(added.deferred), len(added.excluded), sent, len(added.skipped)
    )
    turn.say(text, replace_original=True)
    turn.services.alerts.refresh(mls_id)


def cancel(turn: Turn) -> None:
    turn.say(msg.notify_cancelled(), replace_original=True)


def register(app: App) -> None:
    confirm_lazy = guarded(confirm, permission="deal.notify")
    app.action(blocks.NOTIFY_CONFIRM)(ack=ack_now, lazy=[confirm_lazy])
    # Cancel only replaces the clicker's own private confirmation: nothing to protect.
    app.action(blocks.NOTIFY_CANCEL)(ack=ack_now, lazy=[guarded(cancel, permission=NO_PERMISSION)])
