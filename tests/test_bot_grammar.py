"""The slash-command grammar as a table: what each text means, and the usage a malformed one
gets (the exact usage of the subcommand that was malformed)."""

from __future__ import annotations

import pytest

from bot.slack.listeners import registry
from bot.slack.listeners.grammar import DEAL, GHL, Malformed, Parsed
from bot.slack.listeners.registry import parse_command, subcommand_of
from services.property import PropertyRecord

LINE = "TPA-1 | 12 Oak St | Tampa | FL | 33602 | 245000 | 3 | 93 | dana@example.com"


@pytest.mark.parametrize(
    ("command", "text", "action", "args"),
    [
        (DEAL, "", "help", {}),
        (DEAL, "help", "help", {}),
        (DEAL, "HELP", "help", {}),
        (DEAL, "add", "add_form", {}),
        (DEAL, "show TPA-1", "show", {"query": "TPA-1"}),
        (DEAL, "show   12  oak st ", "show", {"query": "12 oak st"}),
        (DEAL, "match TPA-1", "match", {"mls_id": "TPA-1", "limit": 5}),
        (DEAL, "match TPA-1 25", "match", {"mls_id": "TPA-1", "limit": 25}),
        (DEAL, "notify TPA-1", "notify", {"mls_id": "TPA-1"}),
        (DEAL, "hot", "hot", {}),
        (GHL, "", "health", {}),
        (GHL, "health", "health", {}),
        (GHL, "validate", "validate", {}),
    ],
)
def test_well_formed_commands(command: str, text: str, action: str, args: dict) -> None:
    parsed = parse_command(command, text)
    assert parsed == Parsed(command, action, args)


def test_one_line_add_becomes_a_validated_record() -> None:
    parsed = parse_command(DEAL, f"add {LINE}")
    assert isinstance(parsed, Parsed) and parsed.action == "add"
    record = parsed.args["record"]
    assert isinstance(record, PropertyRecord)
    assert (record.mls_id, record.zip, record.list_price, record.beds, record.deal_score) == (
        "TPA-1", "33602", 245_000, 3, 93
    )  # fmt: skip
    assert record.agent_email == "dana@example.com"
    by_phone = parse_command(DEAL, "add " + LINE.replace("dana@example.com", "(813) 555-0142"))
    assert isinstance(by_phone, Parsed)
    assert by_phone.args["record"].agent_phone == "+18135550142"


@pytest.mark.parametrize(
    ("command", "text", "action", "problem"),
    [
        (DEAL, "frobnicate", None, "not a /deal subcommand"),
        (DEAL, "show", "show", "MLS id or part of its address"),
        (DEAL, "match", "match", "MLS id is missing"),
        (DEAL, "match <!channel>", "match", "letters, digits"),
        (DEAL, "match TPA-1 0", "match", "1 to 25"),
        (DEAL, "match TPA-1 26", "match", "1 to 25"),
        (DEAL, "match TPA-1 five", "match", "1 to 25"),
        (DEAL, "match TPA-1 5 extra", "match", "too many"),
        (DEAL, "notify", "notify", "MLS id is missing"),
        (DEAL, "notify TPA-1 now", "notify", "too many"),
        (DEAL, "hot today", "hot", "takes no arguments"),
        (DEAL, "add TPA-1 | 12 Oak St", "add", "expected 9 fields"),
        (DEAL, "add " + LINE.replace("33602", "ABCDE"), "add", "zip"),
        (DEAL, "add " + LINE.replace("245000", "lots"), "add", "list_price"),
        (DEAL, "add " + LINE.replace("| FL |", "| Florida |"), "add", "state"),
        (DEAL, "add " + LINE.replace("| 93 |", "| 140 |"), "add", "deal_score"),
        (GHL, "reboot", None, "not a /ghl subcommand"),
        (GHL, "health now", "health", "takes no arguments"),
    ],
)
def test_malformed_commands_name_the_problem_and_the_subcommand(
    command: str, text: str, action: str | None, problem: str
) -> None:
    parsed = parse_command(command, text)
    assert isinstance(parsed, Malformed)
    assert parsed.action == action
    assert problem in parsed.problem


def test_malformed_answer_is_the_exact_usage_or_the_whole_help() -> None:
    answer = registry.malformed(DEAL, "match", "the MLS id is missing")
    assert answer.endswith("Usage: `/deal match MLS-ID [how-many, 1-25]`")
    everything = registry.malformed(DEAL, None, "`x` is not a /deal subcommand")
    assert "/deal notify MLS-ID" in everything and "/ghl validate" in everything


def test_permissions_follow_the_subcommand() -> None:
    assert subcommand_of(parse_command(DEAL, "notify X")).permission == "deal.notify"  # type: ignore[arg-type]
    assert subcommand_of(parse_command(DEAL, "add")).permission == "deal.add"  # type: ignore[arg-type]
    assert subcommand_of(parse_command(GHL, "validate")).permission == "ghl.validate"  # type: ignore[arg-type]
