"""The slash-command grammar: `/deal …` and `/ghl …` text to a request, as a pure function.

Parsing runs inside the 3-second ack, so it does no I/O; a malformed command becomes a
`Malformed` naming the subcommand whose exact usage the user should see.

    /deal help
    /deal add                                   (opens the form)
    /deal add MLS | address | city | ST | ZIP | price | beds | score | seller email or phone
    /deal show MLS-ID-or-address
    /deal match MLS-ID [how-many]
    /deal notify MLS-ID
    /deal hot
    /deal stage MLS-ID STAGE NAME
    /deal whoami
    /ghl health
    /ghl validate
    /ghl outbox

    parse_command("/deal", "match TPA-1 5")     # Parsed("/deal", "match", {"mls_id": ..., ...})
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from services.property import PropertyRecord

DEAL = "/deal"
GHL = "/ghl"
COMMANDS = (DEAL, GHL)

DEAL_ACTIONS = ("help", "add", "show", "match", "notify", "hot", "stage", "whoami")
GHL_ACTIONS = ("health", "validate", "outbox")
ADD_FIELDS = ("mls_id", "address", "city", "state", "zip", "list_price", "beds", "deal_score")
MATCH_LIMIT_MAX = 25
MATCH_LIMIT_DEFAULT = 5
_MLS_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
# Control characters (NUL above all: PostgreSQL refuses it in text) never reach a query; tabs
# and line breaks are spacing. Slack delivers whatever a client or a forger puts in the text.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
CONTROL_PROBLEM = "the text contains a control character (such as NUL); type it again"


@dataclass(frozen=True)
class Parsed:
    """A well-formed command: which one, which action, and its arguments."""

    command: str
    action: str
    args: dict[str, Any] = field(default_factory=dict)

    @property
    def permission(self) -> str:
        """The `bot.slack.roles.PERMISSIONS` key this request needs."""
        prefix = "deal" if self.command == DEAL else "ghl"
        action = "add" if self.action == "add_form" else self.action
        return f"{prefix}.{action}"


@dataclass(frozen=True)
class Malformed:
    """A command that cannot run: the subcommand to show usage for (None: all) and why."""

    command: str
    action: str | None
    problem: str


def is_mls_id(text: str) -> bool:
    return bool(_MLS_ID.match(text))


def parse_command(command: str, text: str) -> Parsed | Malformed:
    """The request `command text` stands for, or why it is malformed."""
    words = text.split()
    action = words[0].lower() if words else ""
    rest = text.strip()[len(words[0]) :].strip() if words else ""
    if _CONTROL.search(text) and command in COMMANDS:
        known = action in (DEAL_ACTIONS if command == DEAL else GHL_ACTIONS)
        return Malformed(command, action if known else None, CONTROL_PROBLEM)
    if command == GHL:
        return _parse_ghl(action or "health", rest)
    if command != DEAL:
        return Malformed(command, None, f"{command} is not a DealFinder command")
    if action in ("", "help"):
        return Parsed(DEAL, "help")
    parser = _DEAL_PARSERS.get(action)
    if parser is None:
        return Malformed(DEAL, None, f"`{action[:40]}` is not a /deal subcommand")
    return parser(rest)


def _parse_ghl(action: str, rest: str) -> Parsed | Malformed:
    if action not in GHL_ACTIONS:
        return Malformed(GHL, None, f"`{action[:40]}` is not a /ghl subcommand")
    if rest:
        return Malformed(GHL, action, f"/ghl {action} takes no arguments")
    return Parsed(GHL, action)


def _one_mls_id(action: str, rest: str) -> str | Malformed:
    words = rest.split()
    if not words:
        return Malformed(DEAL, action, "the MLS id is missing")
    if not is_mls_id(words[0]):
        return Malformed(DEAL, action, "an MLS id is letters, digits, `.`, `_` or `-`")
    return words[0]


def _show(rest: str) -> Parsed | Malformed:
    query = " ".join(rest.split())
    if not query:
        return Malformed(DEAL, "show", "say which deal: its MLS id or part of its address")
    if len(query) > 200:
        return Malformed(DEAL, "show", "the search is longer than 200 characters")
    return Parsed(DEAL, "show", {"query": query})


def _match(rest: str) -> Parsed | Malformed:
    mls_id = _one_mls_id("match", rest)
    if isinstance(mls_id, Malformed):
        return mls_id
    words = rest.split()
    if len(words) > 2:
        return Malformed(DEAL, "match", "too many arguments")
    limit = MATCH_LIMIT_DEFAULT
    if len(words) == 2:
        if not words[1].isdigit() or not 1 <= int(words[1]) <= MATCH_LIMIT_MAX:
            return Malformed(DEAL, "match", f"how-many is a number from 1 to {MATCH_LIMIT_MAX}")
        limit = int(words[1])
    return Parsed(DEAL, "match", {"mls_id": mls_id, "limit": limit})


def _notify(rest: str) -> Parsed | Malformed:
    mls_id = _one_mls_id("notify", rest)
    if isinstance(mls_id, Malformed):
        return mls_id
    if len(rest.split()) > 1:
        return Malformed(DEAL, "notify", "too many arguments")
    return Parsed(DEAL, "notify", {"mls_id": mls_id})


def _hot(rest: str) -> Parsed | Malformed:
    if rest:
        return Malformed(DEAL, "hot", "/deal hot takes no arguments")
    return Parsed(DEAL, "hot")


def _add(rest: str) -> Parsed | Malformed:
    if not rest:
        return Parsed(DEAL, "add_form")
    parts = [part.strip() for part in rest.split("|")]
    wanted = len(ADD_FIELDS) + 1
    if len(parts) != wanted:
        problem = f"expected {wanted} fields separated by `|`, got {len(parts)}"
        return Malformed(DEAL, "add", problem)
    raw: dict[str, Any] = dict(zip(ADD_FIELDS, parts[:-1], strict=True))
    contact = parts[-1]
    raw["agent_email" if "@" in contact else "agent_phone"] = contact
    try:
        record = PropertyRecord.parse(raw)
    except ValidationError as exc:
        return Malformed(DEAL, "add", explain_validation(exc))
    return Parsed(DEAL, "add", {"record": record})


def explain_validation(exc: ValidationError) -> str:
    """Pydantic's errors as one short sentence per field, e.g. "zip: 'abc' is not a ZIP code"."""
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


def _stage(rest: str) -> Parsed | Malformed:
    """`stage MLS STAGE`: the stage is matched by name in GHL after the ack (case-insensitive)."""
    mls_id = _one_mls_id("stage", rest)
    if isinstance(mls_id, Malformed):
        return mls_id
    stage = " ".join(rest.split()[1:])
    if not stage:
        return Malformed(DEAL, "stage", "the stage name is missing")
    if len(stage) > 100:
        return Malformed(DEAL, "stage", "the stage name is longer than 100 characters")
    return Parsed(DEAL, "stage", {"mls_id": mls_id, "stage": stage})


def _whoami(rest: str) -> Parsed | Malformed:
    if rest:
        return Malformed(DEAL, "whoami", "/deal whoami takes no arguments")
    return Parsed(DEAL, "whoami")


_DEAL_PARSERS = {
    "add": _add,
    "show": _show,
    "match": _match,
    "notify": _notify,
    "hot": _hot,
    "stage": _stage,
    "whoami": _whoami,
}
