"""The pure parts of editing from Slack: `/deal stage` and `/deal whoami` parsing, stage names
matched case- and spacing-insensitively, and the deal id carried by the card's edit row."""

from __future__ import annotations

import pytest

from bot.slack.blocks_edit import edit_block_id, mls_id_of_block
from bot.slack.listeners.grammar import Malformed, Parsed
from bot.slack.listeners.registry import parse_command, subcommand_of
from services.deal_edits import find_stage

STAGES = (("s1", "New Lead"), ("s2", "Under Contract"), ("s3", "Closed"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("stage TPA-1 Under Contract", Parsed("/deal", "stage",
                                              {"mls_id": "TPA-1", "stage": "Under Contract"})),
        ("STAGE TPA-1   closed ", Parsed("/deal", "stage", {"mls_id": "TPA-1", "stage": "closed"})),
        ("stage TPA-1", Malformed("/deal", "stage", "the stage name is missing")),
        ("stage", Malformed("/deal", "stage", "the MLS id is missing")),
        ("stage <!here> x", Malformed("/deal", "stage",
                                      "an MLS id is letters, digits, `.`, `_` or `-`")),
        ("stage TPA-1 " + "x" * 101, Malformed("/deal", "stage",
                                               "the stage name is longer than 100 characters")),
        ("whoami", Parsed("/deal", "whoami")),
        ("whoami me", Malformed("/deal", "whoami", "/deal whoami takes no arguments")),
    ],
)  # fmt: skip
def test_stage_and_whoami_grammar(text: str, expected: Parsed | Malformed) -> None:
    assert parse_command("/deal", text) == expected


@pytest.mark.parametrize(
    ("wanted", "expected"),
    [
        ("under contract", ("s2", "Under Contract")),
        ("  UNDER   contract ", ("s2", "Under Contract")),
        ("s3", ("s3", "Closed")),  # by id: what an old card's option could carry
        ("Under", None),
        ("", None),
    ],
)
def test_find_stage(wanted: str, expected: tuple[str, str] | None) -> None:
    assert find_stage(STAGES, wanted) == expected


@pytest.mark.parametrize(
    ("block_id", "expected"),
    [(edit_block_id("TPA-1"), "TPA-1"), ("edit:", None), ("deal:TPA-1", None), (None, None)],
)
def test_the_edit_row_names_its_deal(block_id: str | None, expected: str | None) -> None:
    assert mls_id_of_block(block_id) == expected


def test_permissions_of_the_new_subcommands() -> None:
    stage, whoami = parse_command("/deal", "stage M x"), parse_command("/deal", "whoami")
    assert subcommand_of(stage).permission == "deal.stage"  # type: ignore[arg-type]
    assert subcommand_of(whoami).permission == "deal.whoami"  # type: ignore[arg-type]
