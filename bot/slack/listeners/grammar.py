"""The words after a slash subcommand's name, to its arguments, as pure functions.

Parsing runs inside the 3-second ack, so it does no I/O. Which parser a subcommand uses, and
everything else about it, is its record in `bot.slack.listeners.registry`; `parse_command`
there splits `/deal match TPA-1 5` into the subcommand and its words and calls the parser.
A parser returns the arguments, or raises `Invalid` saying what is wrong (the user then sees
that sentence and the subcommand's exact usage).

    match_args("TPA-1 5")      # {"mls_id": "TPA-1", "limit": 5}
    match_args("TPA-1 99")     # Invalid("how-many is a number from 1 to 25")
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from services.property import PropertyRecord

DEAL = "/deal"
GHL = "/ghl"

ADD_FIELDS = ("mls_id", "address", "city", "state", "zip", "list_price", "beds", "deal_score")
MATCH_LIMIT_MAX = 25
MATCH_LIMIT_DEFAULT = 5
_MLS_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
# Control characters (NUL above all: PostgreSQL refuses it in text) never reach a query; tabs
# and line breaks are spacing. Slack delivers whatever a client or a forger puts in the text.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
CONTROL_PROBLEM = "the text contains a control character (such as NUL); type it again"

Args = dict[str, Any]
Parser = Callable[[str], Args]


@dataclass(frozen=True)
class Parsed:
    """A well-formed command: which one, which action, and its arguments."""

    command: str
    action: str
    args: Args = field(default_factory=dict)


@dataclass(frozen=True)
class Malformed:
    """A command that cannot run: the subcommand to show usage for (None: all) and why."""

    command: str
    action: str | None
    problem: str


class Invalid(ValueError):
    """The words after a subcommand's name are not what it takes; the message says why."""


def is_mls_id(text: str) -> bool:
    return bool(_MLS_ID.match(text))


def ignore_words(rest: str) -> Args:
    """For `/deal help`: whatever follows is ignored."""
    return {}


def _one_mls_id(rest: str) -> str:
    words = rest.split()
    if not words:
        raise Invalid("the MLS id is missing")
    if not is_mls_id(words[0]):
        raise Invalid("an MLS id is letters, digits, `.`, `_` or `-`")
    return words[0]


def show_args(rest: str) -> Args:
    query = " ".join(rest.split())
    if not query:
        raise Invalid("say which deal: its MLS id or part of its address")
    if len(query) > 200:
        raise Invalid("the search is longer than 200 characters")
    return {"query": query}


def match_args(rest: str) -> Args:
    mls_id = _one_mls_id(rest)
    words = rest.split()
    if len(words) > 2:
        raise Invalid("too many arguments")
    limit = MATCH_LIMIT_DEFAULT
    if len(words) == 2:
        if not words[1].isdigit() or not 1 <= int(words[1]) <= MATCH_LIMIT_MAX:
            raise Invalid(f"how-many is a number from 1 to {MATCH_LIMIT_MAX}")
        limit = int(words[1])
    return {"mls_id": mls_id, "limit": limit}


def notify_args(rest: str) -> Args:
    mls_id = _one_mls_id(rest)
    if len(rest.split()) > 1:
        raise Invalid("too many arguments")
    return {"mls_id": mls_id}


def add_args(rest: str) -> Args:
    """The one-line add: `MLS | address | city | ST | ZIP | price | beds | score | contact`."""
    parts = [part.strip() for part in rest.split("|")]
    wanted = len(ADD_FIELDS) + 1
    if len(parts) != wanted:
        raise Invalid(f"expected {wanted} fields separated by `|`, got {len(parts)}")
    raw: dict[str, Any] = dict(zip(ADD_FIELDS, parts[:-1], strict=True))
    contact = parts[-1]
    raw["agent_email" if "@" in contact else "agent_phone"] = contact
    try:
        record = PropertyRecord.parse(raw)
    except ValidationError as exc:
        raise Invalid(explain_validation(exc)) from None
    return {"record": record}


def explain_validation(exc: ValidationError) -> str:
    """Pydantic's errors as one short sentence per field, e.g. "zip: 'abc' is not a ZIP code"."""
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


def stage_args(rest: str) -> Args:
    """`stage MLS STAGE`: the stage is matched by name in GHL after the ack (case-insensitive)."""
    mls_id = _one_mls_id(rest)
    stage = " ".join(rest.split()[1:])
    if not stage:
        raise Invalid("the stage name is missing")
    if len(stage) > 100:
        raise Invalid("the stage name is longer than 100 characters")
    return {"mls_id": mls_id, "stage": stage}
