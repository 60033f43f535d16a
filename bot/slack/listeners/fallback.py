"""Clicks on buttons this version does not know (a message from an older release, a hand-made
payload): acked, and answered with the commands that do exist, never left to time out.

Registered last, so every known action id reaches its own listener first.
"""

from __future__ import annotations

import re

from slack_bolt import Ack, App

from bot.slack import messages as msg
from bot.slack.listeners.authz import NO_PERMISSION
from bot.slack.listeners.common import Turn, guarded
from bot.slack.listeners.registry import help_text

ANY = re.compile(r".*")


def ack_unknown(ack: Ack) -> None:
    ack()


def tell_unknown(turn: Turn) -> None:
    turn.say(msg.unknown_action(help_text()))


def ack_unknown_view(ack: Ack) -> None:
    ack()  # closes a modal this version no longer handles


def register(app: App) -> None:
    app.action(ANY)(ack=ack_unknown, lazy=[guarded(tell_unknown, permission=NO_PERMISSION)])
    app.view(ANY)(ack_unknown_view)
