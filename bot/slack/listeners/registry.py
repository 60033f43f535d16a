"""Every `/deal` and `/ghl` subcommand as one record, registered here and nowhere else.

A `Subcommand` says everything about one subcommand: its name, how its words parse, the
permission it needs, its usage and help line, its part of the manifest's usage hint, what the
ack says while it works, and the handler that does the work after the ack. The ack and the
dispatch (`bot.slack.listeners.commands`), the role check, the help, the usages and the
manifest test (`tests/test_bot_manifest.py`) are all derived from `SUBCOMMANDS`; a record that
contradicts itself or names an unknown permission fails at import, not inside an ack.

    parse_command("/deal", "match TPA-1 5")    # Parsed("/deal", "match", {"mls_id": ..., ...})
    subcommand_of(parsed).permission           # "deal.match"
    help_text()                                # what `/deal help` answers
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from bot.slack import messages as msg
from bot.slack.listeners import deal_commands, ghl_commands, people_commands
from bot.slack.listeners.common import Turn
from bot.slack.listeners.grammar import (
    CONTROL,
    CONTROL_PROBLEM,
    DEAL,
    GHL,
    Invalid,
    Malformed,
    Parsed,
    Parser,
    add_args,
    ignore_words,
    match_args,
    notify_args,
    show_args,
    stage_args,
)
from bot.slack.roles import PERMISSIONS

Handler = Callable[[Turn, Parsed], None]
FORM = "_form"  # `Parsed.action` of a subcommand typed alone that opens its form: "add_form"
_NAME = re.compile(r"^[a-z]+$")


@dataclass(frozen=True)
class Subcommand:
    """One slash subcommand, e.g. `/deal match`.

    command, name  `/deal` and `match`: the first word of the text picks the subcommand
    permission     its `bot.slack.roles.PERMISSIONS` key (checked in the ack and after it)
    usage          its exact usage; alternative forms are separated by "  _or_  "
    summary        what it does, after the usage in the help
    hint           its part of the command's `usage_hint` in manifest.yml
    parse          the words after the name to arguments (raises `grammar.Invalid`);
                   None: it takes no words
    handler        the work after the ack; `working` is what the ack says meanwhile
    form           typed alone, it opens a modal with this handler (the ack says nothing:
                   the trigger_id lives 3 s)
    answer         the whole answer, given in the ack; nothing runs after it (help)
    default        what the command means with no text
    """

    command: str
    name: str
    permission: str
    usage: str
    summary: str
    hint: str
    parse: Parser | None = None
    handler: Handler | None = None
    working: str = ""
    form: Handler | None = None
    answer: Callable[[], str] | None = None
    default: bool = False

    def handler_for(self, parsed: Parsed) -> Handler | None:
        """The work to run after the ack for `parsed` (None: the ack's answer was all)."""
        return self.form if parsed.action == self.name + FORM else self.handler

    def working_for(self, parsed: Parsed) -> str | None:
        """What the ack says for `parsed` (None: nothing, a modal opens)."""
        return None if parsed.action == self.name + FORM else self.working


def help_text() -> str:
    """Every subcommand's usage and what it does, in registry order (`/deal help`)."""
    return msg.help_list((sub.usage, sub.summary) for sub in SUBCOMMANDS)


SUBCOMMANDS: tuple[Subcommand, ...] = (
    Subcommand(
        DEAL, "help", "deal.help", usage="/deal help", summary="this list", hint="help",
        parse=ignore_words, answer=help_text, default=True,
    ),
    Subcommand(
        DEAL, "add", "deal.add",
        usage="/deal add  _or_  /deal add MLS | address | city | ST | ZIP | price | beds | "
        "score | seller email or phone",
        summary="analyse a property into a GHL deal (no arguments opens a form with every field)",
        hint="add [MLS | address | city | ST | ZIP | price | beds | score | seller]",
        parse=add_args, handler=deal_commands.add,
        working="Analysing the property and saving the deal in GHL",
        form=deal_commands.open_add_form,
    ),
    Subcommand(
        DEAL, "show", "deal.show", usage="/deal show MLS-ID-or-address",
        summary="a deal's stage, owner, tasks and buyers", hint="show MLS-or-address",
        parse=show_args, handler=deal_commands.show, working="Looking the deal up",
    ),
    Subcommand(
        DEAL, "match", "deal.match", usage="/deal match MLS-ID [how-many, 1-25]",
        summary="the best buyers for a deal, why, and who cannot be texted",
        hint="match MLS [N]", parse=match_args, handler=deal_commands.match,
        working="Matching buyers",
    ),
    Subcommand(
        DEAL, "notify", "deal.notify", usage="/deal notify MLS-ID",
        summary="text the matched buyers, after you confirm who (brokers and admins)",
        hint="notify MLS", parse=notify_args, handler=deal_commands.notify,
        working="Working out who can be texted",
    ),
    Subcommand(
        DEAL, "hot", "deal.hot", usage="/deal hot",
        summary="today's hot deals with stage and owner", hint="hot",
        handler=deal_commands.hot, working="Listing today's hot deals",
    ),
    Subcommand(
        DEAL, "stage", "deal.stage", usage="/deal stage MLS-ID STAGE NAME",
        summary="move a deal to another stage of the pipeline in GHL", hint="stage MLS STAGE",
        parse=stage_args, handler=people_commands.stage, working="Moving the deal in GHL",
    ),
    Subcommand(
        DEAL, "whoami", "deal.whoami", usage="/deal whoami",
        summary="which GHL user DealFinder thinks you are, and your role", hint="whoami",
        handler=people_commands.whoami, working="Looking you up in GHL",
    ),
    Subcommand(
        GHL, "health", "ghl.health", usage="/ghl health",
        summary="is GHL reachable, and how much rate limit is left", hint="health",
        handler=ghl_commands.health, working="Checking GHL", default=True,
    ),
    Subcommand(
        GHL, "validate", "ghl.validate", usage="/ghl validate",
        summary="does GHL have every field, stage and user we use", hint="validate",
        handler=ghl_commands.validate, working="Checking the GHL setup",
    ),
    Subcommand(
        GHL, "outbox", "ghl.outbox", usage="/ghl outbox",
        summary="texts and GHL actions waiting for a person, and why (brokers and admins)",
        hint="outbox", handler=ghl_commands.outbox, working="Reading the outbox",
    ),
)  # fmt: skip


def _check(subcommands: tuple[Subcommand, ...]) -> dict[str, dict[str, Subcommand]]:
    """The records by command and name; a record that cannot work raises ValueError."""
    table: dict[str, dict[str, Subcommand]] = {}
    for sub in subcommands:
        where = f"{sub.command} {sub.name}"
        problems = [
            (not _NAME.match(sub.name), "a name is lowercase letters"),
            (sub.name in table.get(sub.command, {}), "registered twice"),
            (sub.permission not in PERMISSIONS, f"unknown permission {sub.permission!r}"),
            ((sub.handler is None) == (sub.answer is None), "needs a handler or an answer"),
            (sub.handler is not None and not sub.working, "a handler needs a working text"),
            (sub.usage.split()[:2] != where.split(), "its usage does not start with its name"),
            (sub.hint.split()[:1] != [sub.name], "its hint does not start with its name"),
        ]
        for wrong, problem in problems:
            if wrong:
                raise ValueError(f"subcommand {where}: {problem}")
        table.setdefault(sub.command, {})[sub.name] = sub
    for command, subs in table.items():
        if sum(sub.default for sub in subs.values()) != 1:
            raise ValueError(f"{command} needs exactly one default subcommand")
    return table


_TABLE = _check(SUBCOMMANDS)
COMMANDS: tuple[str, ...] = tuple(_TABLE)


def subcommands_of(command: str) -> tuple[Subcommand, ...]:
    return tuple(_TABLE.get(command, {}).values())


def find(command: str, name: str) -> Subcommand | None:
    return _TABLE.get(command, {}).get(name)


def subcommand_of(parsed: Parsed) -> Subcommand:
    """The record a well-formed request came from (`add_form` comes from `add`)."""
    sub = find(parsed.command, parsed.action.removesuffix(FORM))
    if sub is None:
        raise LookupError(f"no subcommand {parsed.command} {parsed.action}")
    return sub


def parse_command(command: str, text: str) -> Parsed | Malformed:
    """The request `command text` stands for, or why it is malformed."""
    words = text.split()
    action = words[0].lower() if words else ""
    rest = text.strip()[len(words[0]) :].strip() if words else ""
    subs = _TABLE.get(command)
    if subs is None:
        return Malformed(command, None, f"{command} is not a DealFinder command")
    if CONTROL.search(text):
        return Malformed(command, action if action in subs else None, CONTROL_PROBLEM)
    sub = subs.get(action) if action else next(s for s in subs.values() if s.default)
    if sub is None:
        return Malformed(command, None, f"`{action[:40]}` is not a {command} subcommand")
    if sub.form is not None and not rest:
        return Parsed(command, sub.name + FORM)
    if sub.parse is None:
        if rest:
            return Malformed(command, sub.name, f"{command} {sub.name} takes no arguments")
        return Parsed(command, sub.name)
    try:
        return Parsed(command, sub.name, sub.parse(rest))
    except Invalid as exc:
        return Malformed(command, sub.name, str(exc))


def usage(command: str, name: str) -> str:
    """The exact usage of one subcommand, as Slack shows it."""
    sub = find(command, name)
    if sub is None:
        raise LookupError(f"no subcommand {command} {name}")
    return msg.usage_code(sub.usage)


def malformed(command: str, action: str | None, problem: str) -> str:
    """The ack's answer to a malformed command: the problem, then the exact usage of the
    subcommand it names, or the whole help when it names none."""
    sub = find(command, action) if action is not None else None
    return msg.malformed(problem, usage=sub.usage if sub else None, everything=help_text())
