"""A possible opt-out's buttons: **Opt out** and **Not an opt-out**, for brokers and admins.

The role is read again when the click is handled, after the ack (`guarded`'s re-check: the
roles file or a user group may have changed since the message was posted, or since the ack):
a refused user is told, and nothing is decided. The first decision counts; a later click is
told who decided. The message in Slack is then updated in place (`bot.slack.optout_review`).
"""

from __future__ import annotations

from slack_bolt import App

from bot.slack import blocks
from bot.slack.deal_thread import ops_channel
from bot.slack.listeners.common import Turn, guarded
from bot.slack.listeners.deal_buttons import ack_now
from bot.slack.optout_review import OptoutReviewPoster, decision_line
from services.optout.decisions import Decision, decide_review


def _decide(turn: Turn, decision: Decision) -> None:
    services = turn.services
    role = turn.role  # read again by `guarded` when the click is handled, not the ack's
    value = str((turn.body.get("actions") or [{}])[0].get("value") or "")
    if not value.isdigit():
        turn.say(":warning: This button does not name a possible opt-out; nothing was changed.")
        return
    done = decide_review(
        engine=services.engine, client=services.ghl, rules=services.rules,
        config=services.config, review_id=int(value), decision=decision, actor=turn.user_id,
        role=role.value, now=services.clock(),
    )  # fmt: skip
    if done is None:
        turn.say(f":warning: Possible opt-out {value} is not known here; nothing was changed.")
        return
    if not done.changed:
        turn.say(f"Already decided: {decision_line(done.review)}")
        return
    poster = OptoutReviewPoster(
        client=turn.client, engine=services.engine,
        ops_channel=ops_channel(services.settings, services.config), alerts=services.alerts,
    )  # fmt: skip
    poster.show_decision(done.review)
    if decision == "opt_out":
        turn.say(":no_bell: Opted out: no more texts to this buyer; DND is being set in GHL.")
    else:
        turn.say(
            ":speech_balloon: Recorded as not an opt-out: texting this buyer resumes "
            f"({done.released} held text(s) released)."
        )


def opt_out(turn: Turn) -> None:
    _decide(turn, "opt_out")


def not_opt_out(turn: Turn) -> None:
    _decide(turn, "not_opt_out")


def register(app: App) -> None:
    decide = "optout.decide"
    app.action(blocks.OPTOUT_CONFIRM)(ack=ack_now, lazy=[guarded(opt_out, permission=decide)])
    app.action(blocks.OPTOUT_REJECT)(ack=ack_now, lazy=[guarded(not_opt_out, permission=decide)])
