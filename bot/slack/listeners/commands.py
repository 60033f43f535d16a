"""`/deal` and `/ghl`: parse and ack within Slack's 3 seconds, then do the work after the ack.

The ack answers at once with the usage (malformed input), the refusal (role), the help, or a
"working on it" line; the lazy part re-parses the same text and runs the subcommand, answering
through the command's response_url.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import App

from bot.slack import messages as msg
from bot.slack.listeners import deal_commands, ghl_commands, people_commands
from bot.slack.listeners.common import Turn, guarded, refusal
from bot.slack.listeners.grammar import COMMANDS, DEAL, GHL, Malformed, Parsed, parse_command
from bot.slack.locations import CHOOSE_PERMISSION, on_location, split_location, unknown_location

WORKING = {
    "add": "Analysing the property and saving the deal in GHL",
    "show": "Looking the deal up",
    "match": "Matching buyers",
    "notify": "Working out who can be texted",
    "hot": "Listing today's hot deals",
    "stage": "Moving the deal in GHL",
    "whoami": "Looking you up in GHL",
    "health": "Checking GHL",
    "validate": "Checking the GHL setup",
    "outbox": "Reading the outbox",
}

HANDLERS: dict[tuple[str, str], Any] = {
    (DEAL, "add"): deal_commands.add,
    (DEAL, "add_form"): deal_commands.open_add_form,
    (DEAL, "show"): deal_commands.show,
    (DEAL, "match"): deal_commands.match,
    (DEAL, "notify"): deal_commands.notify,
    (DEAL, "hot"): deal_commands.hot,
    (DEAL, "stage"): people_commands.stage,
    (DEAL, "whoami"): people_commands.whoami,
    (GHL, "health"): ghl_commands.health,
    (GHL, "validate"): ghl_commands.validate,
    (GHL, "outbox"): ghl_commands.outbox,
}


def _request(command: dict[str, Any], context: Any) -> Parsed | str | None:
    """The request to run after the ack, or the text the ack itself answers with (str), or
    None when the ack opens a modal and says nothing."""
    text, named = split_location(command.get("text") or "")
    if named is not None:  # `--location ID`: admins only, and an active location
        refused = refusal(context, CHOOSE_PERMISSION)
        desks = context["services"].locations
        active = desks.active() if desks is not None else []
        if refused is not None or named not in active:
            return refused or unknown_location(named, active)
    parsed = parse_command(command.get("command", ""), text)
    if isinstance(parsed, Malformed):
        return msg.malformed(parsed.command, parsed.action, parsed.problem)
    refused = refusal(context, parsed.permission)
    if refused is not None:
        return refused
    if parsed.action == "help":
        return msg.help_text()
    return parsed


def ack_command(ack: Any, command: dict[str, Any], context: Any) -> None:
    """Answer within 3 s: usage, refusal, help, or a short "working on it"."""
    request = _request(command, context)
    if isinstance(request, str):
        ack(response_type="ephemeral", text=request)
    elif request.action == "add_form":
        ack()
    else:
        ack(response_type="ephemeral", text=msg.working(WORKING[request.action]))


def _parsed(command: dict[str, Any]) -> Parsed | None:
    """The subcommand to run after the ack; None when the ack's answer was all (usage, help)."""
    text, _ = split_location(command.get("text") or "")
    parsed = parse_command(command.get("command", ""), text)
    if isinstance(parsed, Malformed) or parsed.action == "help":
        return None
    return parsed


def command_permission(turn: Turn) -> str | None:
    """What the typed subcommand needs (checked again after the ack, `authz.recheck`)."""
    parsed = _parsed(turn.body)
    return parsed.permission if parsed is not None else None


def run_command(turn: Turn) -> None:
    """After the ack, with the role checked again: run the subcommand the ack accepted."""
    request = _parsed(turn.body)
    if request is not None:
        turn = on_location(turn, split_location(turn.body.get("text") or "")[1])
        HANDLERS[(request.command, request.action)](turn, request)


def register(app: App) -> None:
    # told_in_ack: a refused command's ack answer is the refusal the user sees.
    lazy = guarded(run_command, permission=command_permission, told_in_ack=True)
    for name in COMMANDS:
        app.command(name)(ack=ack_command, lazy=[lazy])
