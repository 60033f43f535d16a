"""Block Kit for editing a deal from its card: stage select, owner select, Won / Lost (with a
confirmation dialog) and Add note (a modal). Self-contained (no import of `bot.slack.blocks`, which
appends `deal_edit_actions` to the card).

Every element sits in one actions block whose block_id names the deal (`edit:{mls_id}`), so
selects, whose payload carries the chosen option rather than a value, still say which deal.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from bot.slack.block_kit import Block
from bot.slack.escape import clip

if TYPE_CHECKING:
    from services.desk import DealCard


STAGE_SELECT = "deal_stage"
OWNER_SELECT = "deal_owner"
MARK_WON = "deal_won"
MARK_LOST = "deal_lost"
ADD_NOTE = "deal_note"
EDIT_ACTION_IDS = (STAGE_SELECT, OWNER_SELECT, MARK_WON, MARK_LOST, ADD_NOTE)
NOTE_FORM = "deal_note_form"
NOTE_BLOCK = "note"
EDIT_BLOCK_PREFIX = "edit:"
MAX_OPTIONS = 100  # a static select holds at most 100 options (Block Kit)
MAX_OPTION_TEXT = 75


def edit_block_id(mls_id: str) -> str:
    return f"{EDIT_BLOCK_PREFIX}{mls_id}"


def mls_id_of_block(block_id: str | None) -> str | None:
    """The deal an edit element belongs to, from its actions block's id."""
    if not block_id or not block_id.startswith(EDIT_BLOCK_PREFIX):
        return None
    return block_id[len(EDIT_BLOCK_PREFIX) :] or None


def _plain(text: str, limit: int = MAX_OPTION_TEXT) -> Block:
    return {"type": "plain_text", "text": clip(text, limit), "emoji": True}


def confirm_dialog(*, title: str, text: str, confirm: str, danger: bool = False) -> Block:
    """Block Kit's `confirm` object: Slack asks before it sends the click."""
    dialog: Block = {
        "title": _plain(title, 100),
        "text": {"type": "mrkdwn", "text": clip(text, 300)},
        "confirm": _plain(confirm, 30),
        "deny": _plain("Cancel", 30),
    }
    if danger:
        dialog["style"] = "danger"
    return dialog


def _stage_select(card: DealCard) -> Block:
    options = [
        {"text": _plain(name), "value": clip(name, 150)} for name in card.stages[:MAX_OPTIONS]
    ]
    element: Block = {
        "type": "static_select", "action_id": STAGE_SELECT,
        "placeholder": _plain("Move to stage"), "options": options,
    }  # fmt: skip
    current = next((o for o in options if o["value"] == card.stage), None)
    if current is not None:
        element["initial_option"] = current
    return element


def _button(text: str, action_id: str, value: str, **extra: object) -> Block:
    return {"type": "button", "action_id": action_id, "text": _plain(text), "value": value,
            **extra}  # fmt: skip


def deal_edit_actions(card: DealCard) -> Block | None:
    """The card's edit row; None when the deal has no GHL opportunity to edit."""
    if not card.opportunity_id:
        return None
    elements: list[Block] = []
    if card.stages:
        elements.append(_stage_select(card))
    elements.append({"type": "users_select", "action_id": OWNER_SELECT,
                     "placeholder": _plain("Reassign owner")})  # fmt: skip
    mls = card.mls_id
    if card.status not in ("won", "lost"):
        elements.append(_button("Won", MARK_WON, mls, style="primary", confirm=confirm_dialog(
            title="Mark the deal won?", confirm="Mark won",
            text=f"The GHL opportunity of `{clip(mls, 64)}` will be marked *won*.",
        )))  # fmt: skip
        elements.append(_button("Lost", MARK_LOST, mls, style="danger", confirm=confirm_dialog(
            title="Mark the deal lost?", confirm="Mark lost", danger=True,
            text=f"The GHL opportunity of `{clip(mls, 64)}` will be marked *lost*.",
        )))  # fmt: skip
    elements.append(_button("Add note", ADD_NOTE, mls))
    return {"type": "actions", "block_id": edit_block_id(mls), "elements": elements}


def note_form_view(*, mls_id: str, channel_id: str | None) -> Block:
    """The Add note modal; the deal and where to answer ride in `private_metadata`."""
    return {
        "type": "modal",
        "callback_id": NOTE_FORM,
        "title": _plain("Add a note", 24),
        "submit": _plain("Save in GHL", 24),
        "close": _plain("Cancel", 24),
        "private_metadata": json.dumps({"mls_id": mls_id, "channel_id": channel_id}),
        "blocks": [
            {
                "type": "input", "block_id": NOTE_BLOCK,
                "label": _plain(f"Note on {mls_id}", 2000),
                "element": {"type": "plain_text_input", "action_id": NOTE_BLOCK,
                            "multiline": True, "max_length": 3000},
            }
        ],
    }  # fmt: skip
