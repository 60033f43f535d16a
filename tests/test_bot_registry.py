"""The subcommand registry: every record acks with its own words through bolt's real `Ack`, a
record that could not work is refused when the registry is built (not inside an ack), and
every permission a subcommand needs can be refused in words."""

from __future__ import annotations

import dataclasses
import json

import pytest
from slack_bolt import Ack, BoltContext

from bot.slack import messages as msg
from bot.slack.listeners.commands import ack_command
from bot.slack.listeners.grammar import DEAL, GHL, Malformed, Parsed
from bot.slack.listeners.registry import (
    SUBCOMMANDS,
    Subcommand,
    _check,
    find,
    help_text,
    parse_command,
    subcommand_of,
    usage,
)
from bot.slack.roles import Role, required_role

LINE = "TPA-1 | 12 Oak St | Tampa | FL | 33602 | 245000 | 3 | 93 | dana@example.com"
# One well-formed text per subcommand: a new record needs a row here (checked below).
SAMPLES = {
    (DEAL, "help"): "help",
    (DEAL, "add"): f"add {LINE}",
    (DEAL, "show"): "show 12 oak st",
    (DEAL, "match"): "match TPA-1 3",
    (DEAL, "notify"): "notify TPA-1",
    (DEAL, "hot"): "hot",
    (DEAL, "stage"): "stage TPA-1 Under Contract",
    (DEAL, "whoami"): "whoami",
    (GHL, "health"): "health",
    (GHL, "validate"): "validate",
    (GHL, "outbox"): "outbox",
}


def _ack(command: str, text: str, role: Role = Role.ADMIN) -> dict[str, str] | None:
    """What the ack answers (None: an empty ack), through bolt's own `Ack`."""
    ack = Ack()
    ack_command(ack, {"command": command, "text": text}, BoltContext({"role": role.value}))
    assert ack.response is not None and ack.response.status == 200
    return json.loads(ack.response.body) if ack.response.body else None


def test_every_subcommand_has_a_sample() -> None:
    assert set(SAMPLES) == {(s.command, s.name) for s in SUBCOMMANDS}


@pytest.mark.parametrize("sub", SUBCOMMANDS, ids=lambda s: f"{s.command} {s.name}")
def test_every_subcommand_acks_with_its_own_words(sub: Subcommand) -> None:
    parsed = parse_command(sub.command, SAMPLES[(sub.command, sub.name)])
    assert isinstance(parsed, Parsed) and subcommand_of(parsed) is sub
    answer = _ack(sub.command, SAMPLES[(sub.command, sub.name)])
    expected = help_text() if sub.answer is not None else msg.working(sub.working)
    assert answer == {"text": expected, "response_type": "ephemeral"}


def test_the_form_opens_with_an_empty_ack_and_a_bare_command_is_its_default() -> None:
    assert _ack(DEAL, "add") is None  # the modal opens after it, within the trigger's 3 s
    assert _ack(DEAL, "")["text"] == help_text()  # type: ignore[index]
    assert _ack(GHL, "")["text"] == msg.working("Checking GHL")  # type: ignore[index]


def test_the_ack_refuses_with_the_records_permission() -> None:
    answer = _ack(DEAL, "notify TPA-1", role=Role.AGENT)
    assert answer is not None and answer["text"] == msg.refused("deal.notify", "agent", "broker")
    assert _ack(DEAL, "help", role=Role.NONE)["text"] == help_text()  # type: ignore[index]


@pytest.mark.parametrize("sub", SUBCOMMANDS, ids=lambda s: f"{s.command} {s.name}")
def test_a_subcommand_typed_wrong_is_answered_with_its_own_usage(sub: Subcommand) -> None:
    where, text = (sub.command, sub.name), f"{sub.name} {'x' * 300} | "
    parsed = parse_command(sub.command, text)
    if isinstance(parsed, Malformed):  # help ignores what follows it
        assert parsed.action == sub.name
        answer = _ack(sub.command, text)
        assert answer is not None and answer["text"].endswith(f"\nUsage: {usage(*where)}")
        assert usage(*where).startswith(f"`{sub.command} {sub.name}")
    else:
        assert sub.name == "help"


def test_every_permission_a_subcommand_needs_can_be_refused_in_words() -> None:
    for sub in SUBCOMMANDS:
        if required_role(sub.permission) is not Role.NONE:
            assert sub.permission in msg.ACTION_NAMES, sub.permission


HOT = find(DEAL, "hot")
HELP = find(DEAL, "help")


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"working": ""}, "a handler needs a working text"),
        ({"permission": "deal.hott"}, "unknown permission 'deal.hott'"),
        ({"answer": help_text}, "needs a handler or an answer"),
        ({"handler": None}, "needs a handler or an answer"),
        ({"name": "Hot", "usage": "/deal Hot", "hint": "Hot"}, "a name is lowercase letters"),
        ({"usage": "/deal hottest"}, "its usage does not start with its name"),
        ({"hint": "hottest"}, "its hint does not start with its name"),
    ],
)
def test_a_record_that_cannot_work_is_refused_when_the_registry_is_built(
    change: dict[str, object], problem: str
) -> None:
    assert HOT is not None and HELP is not None
    broken = dataclasses.replace(HOT, **change)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=f"subcommand /deal {broken.name}: {problem}"):
        _check((HELP, broken))


def test_duplicates_and_defaults_are_refused_when_the_registry_is_built() -> None:
    assert HOT is not None and HELP is not None
    with pytest.raises(ValueError, match="/deal hot: registered twice"):
        _check((HELP, HOT, HOT))
    with pytest.raises(ValueError, match="/deal needs exactly one default"):
        _check((HOT,))
    with pytest.raises(ValueError, match="/deal needs exactly one default"):
        _check((HELP, dataclasses.replace(HOT, default=True)))
    assert _check(SUBCOMMANDS)[DEAL]["hot"] is HOT
