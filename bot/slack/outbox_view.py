"""`/ghl outbox` as Slack shows it: what waits to be done, and what waits for a person.

Failed items are side effects DealFinder does not repeat on its own (a text or workflow
enrolment whose GHL answer was lost, a call GHL refused for good). Slack shows them with the
reason; settling one (retry or close) is `dealfinder outbox` on the server, after a look in
GHL, so it is deliberate and recorded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.slack.block_kit import Block
from bot.slack.blocks import context, section, sections_of
from bot.slack.escape import MAX_BLOCKS, escape, one_line

WAITING = ("pending", "deferred", "in_flight")
HINT = (
    "After looking in GHL, on the server: `dealfinder outbox retry ID` to do it again, "
    "`dealfinder outbox resolve ID --happened` if GHL shows it done, "
    "`dealfinder outbox resolve ID` to close it."
)


def failed_total(counts: Mapping[tuple[str, str], int]) -> int:
    return sum(n for (_, status), n in counts.items() if status == "failed")


def outbox_heading(failed: int) -> str:
    if not failed:
        return ":large_green_circle: *Nothing in the outbox waits for a person*"
    noun = "item waits" if failed == 1 else "items wait"
    return f":large_yellow_circle: *{failed} outbox {noun} for a person*"


def outbox_blocks(counts: Mapping[tuple[str, str], int], failed: Sequence[Any]) -> list[Block]:
    """The heading, what is still to be done by kind, then each failed item with its reason."""
    total_failed = failed_total(counts)
    blocks = [section(outbox_heading(total_failed))]
    waiting: dict[str, int] = {}
    for (kind, status), n in counts.items():
        if status in WAITING:
            waiting[kind] = waiting.get(kind, 0) + n
    if waiting:
        parts = ", ".join(f"{n} {escape(kind)}" for kind, n in sorted(waiting.items()))
        blocks.append(section(f"Still to be done (due now or later): {parts}"))
    else:
        blocks.append(section("Nothing else waits to be done."))
    lines = [
        f"`{item.id}` {escape(item.kind)} — {one_line(item.dedupe_key, 120)}\n"
        f"      {one_line(item.last_error or 'no reason recorded', 300)}"
        for item in failed
    ]
    blocks += sections_of(lines)
    if failed:
        if len(failed) < total_failed:
            blocks.append(context(f"The newest {len(failed)} of {total_failed}; "
                                  "`dealfinder outbox --limit N` lists more."))  # fmt: skip
        blocks.append(context(HINT))
    return blocks[:MAX_BLOCKS]
