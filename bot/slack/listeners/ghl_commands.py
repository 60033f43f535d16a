"""`/ghl health`, `/ghl validate` and `/ghl outbox` after the ack: GHL's state, the setup
checklist, and the side effects that wait for a person."""

from __future__ import annotations

from bot.slack import blocks
from bot.slack import messages as msg
from bot.slack.listeners.common import Turn
from bot.slack.listeners.grammar import Parsed
from bot.slack.outbox_view import failed_total, outbox_blocks, outbox_heading
from ghl.health import check_ghl
from services.validator import validate_setup
from store.db import session_scope
from store.outbox_admin import failed_items, status_counts

OUTBOX_LISTED = 15  # failed items shown in Slack; `dealfinder outbox --limit N` shows more


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


def outbox(turn: Turn, request: Parsed) -> None:
    with session_scope(turn.services.engine, readonly=True) as session:
        counts = status_counts(session=session)
        failed = failed_items(session=session, limit=OUTBOX_LISTED)
    turn.say(outbox_heading(failed_total(counts)), blocks=outbox_blocks(counts, failed))
