"""Block Kit for every message and modal the bot sends, built by small functions in one place.

Outside text is escaped (`bot.slack.escape`) and every limit is respected by clipping with "…":
50 blocks per message, 3,000 characters per section, 10 fields, 75 per button. The action and
callback ids below are the complete set the bot emits; `tests/test_bot_manifest.py` checks each
has a listener and each listener has one.

    deal_card_blocks(card)                 # the hot-deal message with its four buttons
    notify_confirm_blocks(plan)            # who will be texted, later, or not, and why
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from bot.slack import messages as msg
from bot.slack.blocks_edit import EDIT_ACTION_IDS, NOTE_FORM, deal_edit_actions
from bot.slack.escape import (
    MAX_BLOCKS,
    MAX_BUTTON_TEXT,
    MAX_CONTEXT_TEXT,
    MAX_FIELD_TEXT,
    MAX_FIELDS,
    MAX_HEADER_TEXT,
    MAX_SECTION_TEXT,
    clip,
    escape,
)
from services.notify import words

if TYPE_CHECKING:
    from services.desk import DealCard

Block = dict[str, Any]

# -- ids: the contract between what the bot emits and what it listens to -------------------
CLAIM = "deal_claim"
NOTIFY = "deal_notify"
OPEN_IN_GHL = "deal_open"
SKIP_DEAL = "deal_pass"
NOTIFY_CONFIRM = "notify_confirm"
NOTIFY_CANCEL = "notify_cancel"
OPTOUT_CONFIRM = "optout_review_opt_out"  # a possible opt-out: "Opt out"
OPTOUT_REJECT = "optout_review_not_opt_out"  # ... "Not an opt-out"
ACTION_IDS = (
    CLAIM, NOTIFY, OPEN_IN_GHL, SKIP_DEAL, NOTIFY_CONFIRM, NOTIFY_CANCEL, OPTOUT_CONFIRM,
    OPTOUT_REJECT,
)  # fmt: skip
ACTION_IDS += EDIT_ACTION_IDS  # the card's edit row (bot.slack.blocks_edit)
ADD_FORM = "deal_add_form"
CALLBACK_IDS = (ADD_FORM,)
CALLBACK_IDS += (NOTE_FORM,)  # the Add note modal (bot.slack.blocks_edit)
CARD_BLOCK_PREFIX = "deal:"  # the card's first block_id: how a lost post is found again


def card_block_id(mls_id: str) -> str:
    return f"{CARD_BLOCK_PREFIX}{mls_id}"


# -- primitives --------------------------------------------------------------------------


def section(text: str, *, block_id: str | None = None) -> Block:
    """A mrkdwn section; `text` must already be safe (from `bot.slack.messages` or escaped)."""
    block: Block = {
        "type": "section",
        "text": {"type": "mrkdwn", "text": clip(text, MAX_SECTION_TEXT)},
    }
    if block_id:
        block["block_id"] = block_id
    return block


def sections_of(lines: Sequence[str]) -> list[Block]:
    """Safe lines packed into as few sections as Slack's 3,000 characters per section allow."""
    blocks: list[Block] = []
    chunk = ""
    for line in lines:
        if chunk and len(chunk) + len(line) + 1 > MAX_SECTION_TEXT:
            blocks.append(section(chunk))
            chunk = ""
        chunk = f"{chunk}\n{line}" if chunk else line
    if chunk:
        blocks.append(section(chunk))
    return blocks


def fields(pairs: Sequence[tuple[str, str]]) -> Block:
    """A section of up to 10 "*label*\\nvalue" fields (values already safe)."""
    items = [
        {"type": "mrkdwn", "text": clip(f"*{label}*\n{value}", MAX_FIELD_TEXT)}
        for label, value in pairs[:MAX_FIELDS]
    ]
    return {"type": "section", "fields": items}


def header(text: str, *, block_id: str | None = None) -> Block:
    """A header; plain text, so only our own words and numbers go in it."""
    block: Block = {
        "type": "header",
        "text": {"type": "plain_text", "text": clip(text, MAX_HEADER_TEXT), "emoji": True},
    }
    if block_id:
        block["block_id"] = block_id
    return block


def context(*texts: str) -> Block:
    items = [{"type": "mrkdwn", "text": clip(t, MAX_CONTEXT_TEXT)} for t in texts if t][:10]
    return {"type": "context", "elements": items or [{"type": "mrkdwn", "text": " "}]}


def button(
    text: str, action_id: str, *, value: str | None = None, url: str | None = None,
    style: str | None = None,
) -> Block:  # fmt: skip
    element: Block = {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": clip(text, MAX_BUTTON_TEXT), "emoji": True},
    }
    if value is not None:
        element["value"] = value
    if url is not None:
        element["url"] = url
    if style is not None:
        element["style"] = style
    return element


def actions(*elements: Block, block_id: str | None = None) -> Block:
    block: Block = {"type": "actions", "elements": list(elements)}
    if block_id:
        block["block_id"] = block_id
    return block


def capped(blocks: list[Block]) -> list[Block]:
    """At most 50 blocks: the tail is replaced by one line saying how much was left out."""
    if len(blocks) <= MAX_BLOCKS:
        return blocks
    kept = blocks[: MAX_BLOCKS - 1]
    return [*kept, context(msg.more(len(blocks) - len(kept)))]


def bullet_section(heading: str, lines: Sequence[str]) -> Block:
    """A heading and bullet lines in one section, cut at a whole line with "… and N more"."""
    text = heading
    for index, line in enumerate(lines):
        rest = len(lines) - index
        if len(text) + len(line) + 40 > MAX_SECTION_TEXT:
            return section(f"{text}\n{msg.more(rest)}")
        text += f"\n{line}"
    return section(text)


# -- deals --------------------------------------------------------------------------------


def deal_actions(card: DealCard) -> Block:
    """Claim, Notify buyers, Open in GHL (a link), Pass — each carrying the MLS id."""
    value = card.mls_id
    elements = [
        button("Claim", CLAIM, value=value, style="primary"),
        button("Notify buyers", NOTIFY, value=value),
    ]
    if card.opportunity_url:
        elements.append(button("Open in GHL", OPEN_IN_GHL, value=value, url=card.opportunity_url))
    elements.append(button("Pass", SKIP_DEAL, value=value, style="danger"))
    return actions(*elements, block_id=f"deal_actions:{card.mls_id}")


def deal_card_blocks(card: DealCard, *, with_actions: bool = True) -> list[Block]:
    """The deal as brokers see it in the channel (and agents in `/deal show`)."""
    title = msg.deal_title(card.address, card.city, card.state, card.zip)
    blocks = [
        header(msg.score_line(card.score, card.hot), block_id=card_block_id(card.mls_id)),
        section(f"{title} · MLS `{escape(card.mls_id)}`"),
        fields(
            [
                ("Price", msg.money(card.price)),
                ("ARV", msg.money(card.arv)),
                ("Est. profit", msg.money(card.est_profit)),
                ("Score", str(card.score) if card.score is not None else "—"),
                ("Stage", escape(card.stage or "—")),
                ("Owner", escape(card.owner or "—")),
                ("Claimed by", msg.claimed_line(card.claimed_by)),
                ("Buyers notified", msg.notified_line(card.notified, card.queued, card.excluded)),
            ]
        ),
        bullet_section(
            msg.buyers_heading(len(card.top_buyers)),
            [msg.buyer_line(i, b.name, b.score) for i, b in enumerate(card.top_buyers, 1)],
        ),
    ]
    notes = [f"Location: {escape(card.location)}"] if card.location else []
    if card.tasks:
        notes.append("Open tasks: " + "; ".join(escape(t) for t in card.tasks))
    if card.passed_by:
        notes.append(msg.passed_line(card.passed_by))
    if card.status and card.status != "open":
        notes.append(f"GHL status: {escape(card.status)}")
    if card.ghl_problem:
        notes.append(f":warning: {escape(card.ghl_problem)}")
    if notes:
        blocks.append(context(*notes))
    if with_actions:
        edit_row = deal_edit_actions(card)  # stage, owner, won / lost, note (issue 15)
        if edit_row is not None:
            blocks.append(edit_row)
        blocks.append(deal_actions(card))
    return capped(blocks)


def deal_card_text(card: DealCard) -> str:
    """The notification/fallback text of a card (also escaped: it shows in notifications)."""
    title = msg.deal_title(card.address, card.city, card.state, card.zip)
    where = f" ({escape(card.location)})" if card.location else ""
    return f"{msg.score_line(card.score, card.hot)}: {title} — {msg.money(card.price)}{where}"


def hot_list_blocks(cards: Sequence[DealCard], *, day: str) -> list[Block]:
    blocks = [section(msg.hot_heading(len(cards), day))]
    for card in cards:
        title = msg.deal_title(card.address, card.city, card.state, card.zip)
        line = msg.hot_line(card.score, f"`{escape(card.mls_id)}` {title}", card.stage, card.owner)
        blocks.append(section(line))
    return capped(blocks)


def add_result_blocks(
    *, action: str, mls_id: str, reason: str, stage: str | None, owner: str | None,
    tasks: Sequence[str], url: str | None,
) -> list[Block]:  # fmt: skip
    blocks = [section(msg.add_result(action, mls_id, reason))]
    if action != "failed":
        blocks.append(section(msg.add_details(stage, owner, tasks)))
    if url:
        blocks.append(actions(button("Open in GHL", OPEN_IN_GHL, value=mls_id, url=url)))
    return blocks


def text_blocks(text: str) -> list[Block]:
    """A plain reply as one section (text already safe)."""
    return [section(text)]


# -- matching and notifying ---------------------------------------------------------------


def match_blocks(
    *, mls_id: str, title: str, results: Sequence[Any], names: dict[str, str], total: int,
    min_score: int, freshness: str, excluded_count: int, not_texted: Sequence[tuple[str, str]],
) -> list[Block]:  # fmt: skip
    """Ranked buyers with each score's breakdown, the cache's freshness, and SMS exclusions.

    `results` are `matching.models.MatchResult`s; `not_texted` is (name, reason) pairs.
    """
    blocks = [section(msg.match_heading(mls_id, title, total, min_score))]
    if not results:
        blocks.append(section(msg.no_matches(min_score)))
    for rank, result in enumerate(results, 1):
        reasons = [
            f"{c.name.replace('_', ' ')} {c.points}/{c.max_points}: {c.reason}"
            for c in result.components
        ]
        name = names.get(result.contact_id, result.contact_id)
        blocks.append(section(msg.match_buyer(rank, name, result.score, reasons)))
    blocks.append(context(msg.freshness(freshness, excluded_count)))
    if not_texted:
        lines = [msg.not_texted(name, reason) for name, reason in not_texted]
        blocks.append(bullet_section(msg.group_heading("excluded", len(lines)), lines))
    return capped(blocks)


def notify_confirm_blocks(plan: Any) -> list[Block]:
    """The confirmation step: who is texted now, later (their local time), or not, and why.

    `plan` is a `services.notify.plan.NotifyPlan`.
    """
    blocks = [section(msg.notify_heading(plan.mls_id)), section(msg.plan_conclusion(
        words.conclusion(now=len(plan.send_now), later=len(plan.deferred),
                         excluded=len(plan.excluded), already=len(plan.already))))]  # fmt: skip
    groups = {
        "send_now": [f"• {escape(e.name)} — {e.score}/100" for e in plan.send_now],
        "deferred": [msg.not_texted(e.name, _later(e, plan.planned_at)) for e in plan.deferred],
        "excluded": [
            msg.not_texted(e.name, words.not_words(e.code, e.reason)) for e in plan.excluded
        ],
        "already": [msg.not_texted(e.name, e.reason) for e in plan.already],
    }
    for group, lines in groups.items():
        if lines:
            blocks.append(bullet_section(msg.group_heading(group, len(lines)), lines))
    if plan.send_now or plan.deferred:
        blocks.append(
            actions(
                button("Confirm and text", NOTIFY_CONFIRM, value=plan.mls_id, style="primary"),
                button("Cancel", NOTIFY_CANCEL, value=plan.mls_id),
                block_id=f"notify_confirm:{plan.mls_id}",
            )
        )
    else:
        blocks.append(context(msg.nobody_to_text()))
    return capped(blocks)


def _later(entry: Any, now: Any) -> str:
    """A deferred buyer's cause and time on their clock (`services.notify.words`)."""
    return words.later_words(
        code=entry.code, send_at=entry.send_at, zone=entry.zone, now=now, cap=entry.cap,
        window=entry.window, window_states=entry.window_states, cap_states=entry.cap_states,
    )  # fmt: skip


# -- GHL health and validation ------------------------------------------------------------


def health_blocks(health: Any) -> list[Block]:
    """`ghl.health.GHLHealth` as a status line, headroom and problems."""
    blocks = [section(msg.health_heading(health.state))]
    lines = []
    if health.location_name:
        latency = f" ({health.latency_ms:.0f} ms)" if health.latency_ms is not None else ""
        lines.append(f"Location: {escape(health.location_name)}{latency}")
    lines.append(
        msg.headroom(
            health.burst_remaining, health.burst_max, health.daily_remaining, health.daily_max
        )
    )
    lines += [f":warning: {escape(p)}" for p in health.problems]
    blocks.append(section("\n".join(lines)))
    return blocks


def validate_blocks(report: Any, health: Any | None = None) -> list[Block]:
    """`services.validator.ValidationReport` as a checklist, failures first."""
    blocks = [section(msg.validate_heading(report.ok, len(report.failures), report.location))]
    rows = sorted(report.rows, key=lambda row: row.ok)
    blocks += sections_of([msg.check_row(row.ok, row.check, row.detail, row.fix) for row in rows])
    if health is not None:
        blocks += health_blocks(health)
    return capped(blocks)


# -- the add form -------------------------------------------------------------------------

FORM_FIELDS: tuple[tuple[str, bool, bool], ...] = (
    # (block_id == action_id, required, multiline)
    ("mls_id", True, False), ("address", True, False), ("city", True, False),
    ("state", True, False), ("zip", True, False), ("list_price", True, False),
    ("deal_score", True, False), ("seller_contact", True, False), ("seller_name", False, False),
    ("arv", False, False), ("est_profit", False, False), ("beds", False, False),
    ("baths", False, False), ("property_type", False, False), ("analysis_notes", False, True),
)  # fmt: skip


def add_form_view(*, private_metadata: str) -> Block:
    """The modal `/deal add` opens; block and action ids are the record's field names."""
    blocks = []
    for name, required, multiline in FORM_FIELDS:
        element: Block = {"type": "plain_text_input", "action_id": name,
                          "max_length": 3000 if multiline else 200}  # fmt: skip
        if multiline:
            element["multiline"] = True
        blocks.append({
            "type": "input", "block_id": name, "optional": not required, "element": element,
            "label": {"type": "plain_text", "text": msg.FORM_LABELS[name]},
        })  # fmt: skip
    return {
        "type": "modal",
        "callback_id": ADD_FORM,
        "title": {"type": "plain_text", "text": msg.FORM_TITLE},
        "submit": {"type": "plain_text", "text": msg.FORM_SUBMIT},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": private_metadata,
        "blocks": blocks,
    }
