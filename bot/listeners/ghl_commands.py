"""`/ghl health` and `/ghl validate` after the ack: GHL's state and the setup checklist."""

from __future__ import annotations

from bot import blocks
from bot import messages as msg
from bot.listeners.common import Turn
from bot.listeners.grammar import Parsed
from ghl.health import check_ghl
from services.validator import validate_setup


def health(turn: Turn, request: Parsed) -> None:
    report = check_ghl(turn.services.ghl)
    turn.say(msg.health_heading(report.state), blocks=blocks.health_blocks(report))


def validate(turn: Turn, request: Parsed) -> None:
    services = turn.services
    state = check_ghl(services.ghl)
    if not state.ok:
        turn.say(msg.health_heading(state.state), blocks=blocks.health_blocks(state))
        return
    report = validate_setup(services.ghl, services.config)
    answer = blocks.validate_blocks(report, state)
    turn.say(msg.validate_heading(report.ok, len(report.failures), report.location), blocks=answer)
