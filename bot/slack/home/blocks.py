"""Block Kit of the Home tab and of GHL link previews, built in one place from plain data.

The Home tab holds at most 100 blocks (Slack's limit for a view); a preview is a compact deal
card (score, price, stage, owner, claimer) with Claim and Open in GHL, whose action ids are
the deal card's own (`bot.slack.blocks`), so the same listeners answer them.

    home_view(HomeData(...))          # {"type": "home", "blocks": [...]}
    unfurl_blocks(card)               # the preview of one deal
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from bot.slack import messages as msg
from bot.slack.block_kit import Block
from bot.slack.blocks import (
    CLAIM,
    OPEN_IN_GHL,
    actions,
    button,
    context,
    fields,
    header,
    section,
    sections_of,
)
from bot.slack.escape import escape
from bot.slack.home import texts as txt

if TYPE_CHECKING:
    from services.desk import DealCard
    from store.models import OutboxItem

HOME_BLOCK_LIMIT = 100  # views (Home tab, modals) hold at most 100 blocks
LISTED = 10  # deals or tasks per Home tab section


@dataclass(frozen=True)
class TaskLine:
    """One open GHL task of the reader, on one of their deals."""

    title: str
    mls_id: str
    due: datetime | None
    overdue: bool


@dataclass
class HomeData:
    """What one person's Home tab shows; None sections are left out (not for this role)."""

    user_id: str
    role: str
    now: datetime
    claimed: Sequence[DealCard] = ()
    hot: Sequence[DealCard] = ()
    tasks: Sequence[TaskLine] | None = None
    tasks_problem: str | None = None  # why tasks cannot be shown (no GHL user, GHL down)
    stages: Sequence[tuple[str, int]] = ()
    waiting: Sequence[OutboxItem] | None = None  # failed outbox items; None: not shown to this role
    waiting_total: int = 0
    health_state: str | None = None
    health_at: datetime | None = None
    notes: list[str] = field(default_factory=list)


def _deal_section(card: DealCard) -> Block:
    title = msg.deal_title(card.address or card.mls_id, card.city, card.state, card.zip)
    block = section(
        txt.deal_line(
            title=title,
            mls_id=card.mls_id,
            score=card.score,
            price=card.price,
            stage=card.stage,
            owner=card.owner,
        )
    )
    if card.opportunity_url:
        block["accessory"] = button(
            "Open in GHL", OPEN_IN_GHL, value=card.mls_id, url=card.opportunity_url
        )
    return block


def _deals(heading: str, cards: Sequence[DealCard], empty: str) -> list[Block]:
    blocks: list[Block] = [header(heading)]
    if not cards:
        return [*blocks, section(empty)]
    blocks += [_deal_section(card) for card in cards[:LISTED]]
    if len(cards) > LISTED:
        blocks.append(context(msg.more(len(cards) - LISTED)))
    return blocks


def _tasks(data: HomeData) -> list[Block]:
    tasks = data.tasks or ()
    if data.tasks_problem:  # no count: the tasks could not be read
        return [header(txt.tasks_heading(None)), section(data.tasks_problem)]
    blocks: list[Block] = [header(txt.tasks_heading(len(tasks)))]
    if not tasks:
        return [*blocks, section(txt.no_tasks())]
    lines = [
        txt.task_line(title=t.title, mls_id=t.mls_id, due=t.due, overdue=t.overdue)
        for t in tasks[:LISTED]
    ]
    return blocks + sections_of(lines)


def _pipeline(stages: Sequence[tuple[str, int]]) -> list[Block]:
    total = sum(n for _, n in stages)
    blocks: list[Block] = [header(txt.pipeline_heading(total))]
    if not stages:
        return [*blocks, section(txt.empty_pipeline())]
    return blocks + sections_of([txt.stage_line(name, n) for name, n in stages])


def _waiting(items: Sequence[OutboxItem], total: int) -> list[Block]:
    blocks: list[Block] = [header(txt.waiting_heading(total))]
    if not total:
        return [*blocks, section(txt.nothing_waiting())]
    lines = [txt.waiting_line(i.id, i.kind, i.last_error) for i in items[:LISTED]]
    return [*blocks, *sections_of(lines), context(txt.waiting_hint())]


def home_blocks(data: HomeData) -> list[Block]:
    """The Home tab's blocks for one reader: their deals and tasks, the team's pipeline, GHL."""
    blocks: list[Block] = [
        header(txt.HOME_TITLE),
        context(txt.role_line(data.role), txt.updated(data.now)),
    ]
    if data.role == "none":
        return [*blocks, section(txt.no_role())]
    blocks += [{"type": "divider"}]
    blocks += _deals(txt.claimed_heading(len(data.claimed)), data.claimed, txt.nothing_claimed())
    blocks += _deals(txt.hot_heading(len(data.hot)), data.hot, txt.no_hot_deals())
    blocks += _tasks(data)
    blocks += _pipeline(data.stages)
    if data.waiting is not None:
        blocks += _waiting(data.waiting, data.waiting_total)
    health = txt.health_line(data.health_state, data.health_at)
    blocks += [header(txt.health_heading()), section(health)]
    if data.notes:
        blocks.append(context(*(escape(n) for n in data.notes)))
    if len(blocks) > HOME_BLOCK_LIMIT:
        kept = blocks[: HOME_BLOCK_LIMIT - 1]
        blocks = [*kept, context(msg.more(len(blocks) - len(kept)))]
    return blocks


def home_view(data: HomeData) -> Block:
    """The view `views.publish` takes for the reader's Home tab."""
    return {"type": "home", "blocks": home_blocks(data)}


def unfurl_blocks(card: DealCard) -> list[Block]:
    """A compact deal card for a pasted GHL link (`card` is a services.desk.DealCard)."""
    title = msg.deal_title(card.address or card.mls_id, card.city, card.state, card.zip)
    elements = [button("Claim", CLAIM, value=card.mls_id, style="primary")]
    if card.opportunity_url:
        elements.append(
            button("Open in GHL", OPEN_IN_GHL, value=card.mls_id, url=card.opportunity_url)
        )
    return [
        section(
            f"{msg.score_line(card.score, card.hot)}\n{txt.unfurl_title(title, card.mls_id)}",
            block_id=f"unfurl:{card.mls_id}",
        ),
        fields(
            [
                ("Price", msg.money(card.price)),
                ("Stage", escape(card.stage or "—")),
                ("Owner", escape(card.owner or "—")),
                ("Claimed by", msg.claimed_line(card.claimed_by)),
            ]
        ),
        actions(*elements, block_id=f"unfurl_actions:{card.mls_id}"),
    ]


def not_ours_blocks() -> list[Block]:
    """The minimal preview of a GHL record DealFinder has no deal for."""
    return [context(txt.UNFURL_NOT_OURS)]
