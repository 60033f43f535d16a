"""`/deal` and `/ghl`: parse and ack within Slack's 3 seconds, then do the work after the ack.

The ack answers at once with the usage (malformed input), the refusal (role), the help, or a
"working on it" line; the lazy part re-parses the same text and runs the subcommand, answering
through the command's response_url. What each subcommand parses, needs, says and runs is its
record in `bot.slack.listeners.registry`; nothing here names a subcommand.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext

from bot.slack import messages as msg
from bot.slack.listeners.authz import recheck
from bot.slack.listeners.common import Turn, guarded, refusal
from bot.slack.listeners.grammar import Malformed, Parsed
from bot.slack.listeners.registry import COMMANDS, malformed, parse_command, subcommand_of
from bot.slack.locations import CHOOSE_PERMISSION, on_location, split_location, unknown_location


def _request(command: dict[str, Any], context: BoltContext) -> Parsed | str:
    """The request to run after the ack, or the text the ack itself answers with (str)."""
    text, named = split_location(command.get("text") or "")
    if named is not None:  # `--location ID`: admins only, and an active location
        refused = refusal(context, CHOOSE_PERMISSION)
        desks = context["services"].locations
        active = desks.active() if desks is not None else []
        if refused is not None or named not in active:
            return refused or unknown_location(named, active)
    parsed = parse_command(command.get("command", ""), text)
    if isinstance(parsed, Malformed):
        return malformed(parsed.command, parsed.action, parsed.problem)
    sub = subcommand_of(parsed)
    refused = refusal(context, sub.permission)
    if refused is not None:
        return refused
    if sub.answer is not None:
        return sub.answer()
    return parsed


def ack_command(ack: Ack, command: dict[str, Any], context: BoltContext) -> None:
    """Answer within 3 s: usage, refusal, help, a short "working on it", or nothing (a form)."""
    request = _request(command, context)
    if isinstance(request, str):
        ack(response_type="ephemeral", text=request)
        return
    working = subcommand_of(request).working_for(request)
    if working is None:
        ack()
    else:
        ack(response_type="ephemeral", text=msg.working(working))


def _parsed(command: dict[str, Any]) -> Parsed | None:
    """The subcommand to run after the ack; None when the ack's answer was all (usage, help)."""
    text, _ = split_location(command.get("text") or "")
    parsed = parse_command(command.get("command", ""), text)
    if isinstance(parsed, Malformed) or subcommand_of(parsed).handler_for(parsed) is None:
        return None
    return parsed


def command_permission(turn: Turn) -> str | None:
    """What the typed subcommand needs (checked again after the ack, `authz.recheck`)."""
    parsed = _parsed(turn.body)
    return subcommand_of(parsed).permission if parsed is not None else None


def run_command(turn: Turn) -> None:
    """After the ack, with the role checked again: run the subcommand the ack accepted."""
    request = _parsed(turn.body)
    if request is None:
        return
    handler = subcommand_of(request).handler_for(request)
    if handler is None:
        return
    here = on_location(turn, split_location(turn.body.get("text") or "")[1])
    # Another location's roles file decides there (checked again with its directory).
    permission = subcommand_of(request).permission
    if here.services is turn.services or recheck(here, permission, told_in_ack=False):
        handler(here, request)


def register(app: App) -> None:
    # told_in_ack: a refused command's ack answer is the refusal the user sees.
    lazy = guarded(run_command, permission=command_permission, told_in_ack=True)
    for name in COMMANDS:
        app.command(name)(ack=ack_command, lazy=[lazy])
