"""`/deal whoami` and `/deal stage MLS STAGE` after the ack (see `bot.slack.listeners.commands`).

whoami -> who DealFinder thinks you are in GHL (name, email, GHL user id, and how it knows),
          your role and what it lets you do; with no GHL user, how to fix that
stage  -> the deal moved to the named stage in GHL (`bot.slack.listeners.deal_edits.move`)
"""

from __future__ import annotations

from bot.slack import messages_people as words
from bot.slack.listeners import deal_edits
from bot.slack.listeners.common import Turn
from bot.slack.listeners.grammar import Parsed
from bot.slack.people import PeopleDirectory, choose_ghl_email, slack_email
from bot.slack.roles import PERMISSIONS, allowed


def whoami(turn: Turn, request: Parsed) -> None:
    services = turn.services
    override = services.roles.config.ghl_users.get(turn.user_id)
    matched = PeopleDirectory(services.engine).ghl_email(turn.user_id)
    email, how = choose_ghl_email(override=override, matched=matched)
    permissions = [name for name in PERMISSIONS if allowed(turn.role, name)]
    role = turn.role.value
    if email is None or how is None:
        seen = slack_email(turn.client, turn.user_id)
        turn.say(words.whoami_unmatched(slack_email=seen, role=role, permissions=permissions))
        return
    ghl_map = services.desk.ghl_map()
    user = ghl_map.users.get(email) if ghl_map is not None else None
    turn.say(
        words.whoami_matched(
            name=user.name if user else None,
            email=email,
            ghl_user_id=user.id if user else None,
            how=how,
            role=role,
            permissions=permissions,
        )
    )


def stage(turn: Turn, request: Parsed) -> None:
    deal_edits.move(turn, request.args["mls_id"], request.args["stage"])
