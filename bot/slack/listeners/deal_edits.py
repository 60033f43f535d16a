"""Editing a deal from its card: stage select, owner select, Won / Lost, Add note (a modal).

Each acks at once; the work runs after the ack once the clicker's role allows it at that
moment (`guarded(..., permission=...)`), is done in GHL (`services.deal_edits`), recorded in
the deal's thread (`bot.slack.deal_thread`), answered privately, and the card is updated in place
(`DealAlerts.refresh`). `/deal stage MLS STAGE` shares the stage path (`move`).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.slack import blocks_edit as edit
from bot.slack import messages_people as words
from bot.slack.deal_thread import record_in_thread
from bot.slack.escape import escape, one_line
from bot.slack.listeners.common import Turn, button_value, guarded, refusal
from bot.slack.listeners.grammar import DEAL
from bot.slack.messages import mention
from bot.slack.people import slack_email
from bot.slack.replies import PrivateReply
from services.deal_edits import DealEdits, EditOutcome

log = logging.getLogger("dealfinder.bot")


def ack_now(ack: Ack) -> None:
    ack()


def _action(turn: Turn) -> dict[str, Any]:
    return dict(turn.body["actions"][0])


def _deal_of_select(turn: Turn, chosen: str) -> str | None:
    """The deal whose card's select chose `chosen`; None (and the user told) if either is
    missing."""
    mls_id = edit.mls_id_of_block(_action(turn).get("block_id"))
    if mls_id is None or not chosen:
        turn.say(words.edit_problem("unknown_deal", mls_id or "?"))
        return None
    return mls_id


def _done(turn: Turn, outcome: EditOutcome, answer: str, *, kind: str, detail: str = "") -> None:
    """Tell the user `answer` (or why the edit failed), record a real change in the deal's
    thread as a `kind` entry (`detail` already escaped), and update the card in place."""
    if not outcome.ok:
        turn.say(words.edit_problem(outcome.code, outcome.mls_id))
        return
    entry = words.thread_entry(kind, user_id=turn.user_id, detail=detail)
    if outcome.code == "done" and not record_in_thread(turn.services, outcome.mls_id, entry):
        answer += " (The deal's thread could not be updated.)"
    turn.say(answer)
    if outcome.code == "done":
        turn.services.alerts.refresh(outcome.mls_id)


def move(turn: Turn, mls_id: str, stage: str) -> None:
    """Move the deal to `stage` (by name) in GHL; an unknown stage gets the valid names."""
    outcome = DealEdits(turn.services.desk).move_stage(mls_id, stage)
    if outcome.code == "unknown_stage":
        # Imported here: the registry imports this module (its `/deal stage` handler is `move`).
        from bot.slack.listeners.registry import usage

        turn.say(words.unknown_stage(stage, outcome.stages, usage=usage(DEAL, "stage")))
        return
    name = outcome.stage or stage
    answer = words.stage_moved(mls_id, name, unchanged=outcome.code == "unchanged")
    _done(turn, outcome, answer, kind="stage", detail=escape(name))


def move_from_card(turn: Turn) -> None:
    stage = str((_action(turn).get("selected_option") or {}).get("value") or "")
    mls_id = _deal_of_select(turn, stage)
    if mls_id is None:
        return
    move(turn, mls_id, stage)


def reassign(turn: Turn) -> None:
    """The selected Slack user's GHL user becomes the owner; no GHL user: how to fix it."""
    chosen = str(_action(turn).get("selected_user") or "")
    mls_id = _deal_of_select(turn, chosen)
    if mls_id is None:
        return
    email = turn.services.roles.ghl_email(chosen)
    outcome = DealEdits(turn.services.desk).reassign(mls_id, ghl_email=email)
    if outcome.code == "no_ghl_user":
        seen = email or slack_email(turn.client, chosen)
        turn.say(words.no_ghl_user(slack_email=seen, whose=f"{mention(chosen)}'s"))
        return
    owner = outcome.owner or chosen
    answer = words.owner_changed(mls_id, owner, unchanged=outcome.code == "unchanged")
    _done(turn, outcome, answer, kind="owner", detail=escape(owner))


def _close(turn: Turn, status: str) -> None:
    mls_id = button_value(turn)
    outcome = DealEdits(turn.services.desk).close(mls_id, status)
    answer = words.closed(mls_id, status, unchanged=outcome.code == "unchanged")
    _done(turn, outcome, answer, kind=status)


def mark_won(turn: Turn) -> None:
    _close(turn, "won")


def mark_lost(turn: Turn) -> None:
    _close(turn, "lost")


def open_note_form(turn: Turn) -> None:
    """Open the note modal (the trigger_id lives 3 s: this is the first thing the work does)."""
    view = edit.note_form_view(mls_id=button_value(turn), channel_id=turn.channel_id)
    turn.client.views_open(trigger_id=turn.body["trigger_id"], view=view)


def note_metadata(view: Any) -> dict[str, Any] | None:
    """The modal's {"mls_id", "channel_id"}; None when unreadable or not ours."""
    raw = view.get("private_metadata") if isinstance(view, dict) else None
    try:
        data = json.loads(raw) if isinstance(raw, str) else None
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("mls_id"), str):
        return None
    channel = data.get("channel_id")
    return {"mls_id": data["mls_id"], "channel_id": channel if isinstance(channel, str) else None}


def note_text(view: Any) -> str:
    values = ((view or {}).get("state") or {}).get("values") or {}
    entry = (values.get(edit.NOTE_BLOCK) or {}).get(edit.NOTE_BLOCK) or {}
    return str(entry.get("value") or "")


def ack_note_form(ack: Ack, view: dict[str, Any], context: BoltContext) -> None:
    refused = refusal(context, "deal.note")
    if refused is not None:
        ack(response_action="errors", errors={edit.NOTE_BLOCK: refused[:150]})
    elif note_metadata(view) is None:
        ack(response_action="errors", errors={edit.NOTE_BLOCK: "This form was damaged."})
    elif not note_text(view).strip():
        ack(response_action="errors", errors={edit.NOTE_BLOCK: "Write the note first."})
    else:
        ack()


def save_note(turn: Turn) -> None:
    view = turn.body.get("view")
    meta = note_metadata(view)
    if meta is None:
        turn.say(words.edit_problem("unknown_deal", "?"))
        return
    mls_id, text = meta["mls_id"], note_text(view)
    outcome = DealEdits(turn.services.desk).add_note(mls_id, text, author_email=turn.ghl_email)
    _done(turn, outcome, words.note_added(mls_id), kind="note", detail=one_line(text, 300))


def reply_to_note_author(
    body: dict[str, Any], context: BoltContext, client: WebClient
) -> PrivateReply:
    """A modal submit has no response_url: answer where the card was (or by DM)."""
    meta = note_metadata(body.get("view")) or {"channel_id": None}
    return PrivateReply(
        client=client, user_id=context.get("user_id") or "",
        channel_id=meta["channel_id"], response_url=None,
    )  # fmt: skip


def register(app: App) -> None:
    for action_id, work, permission in (
        (edit.STAGE_SELECT, move_from_card, "deal.stage"),
        (edit.OWNER_SELECT, reassign, "deal.reassign"),
        (edit.MARK_WON, mark_won, "deal.close"),
        (edit.MARK_LOST, mark_lost, "deal.close"),
        (edit.ADD_NOTE, open_note_form, "deal.note"),
    ):
        app.action(action_id)(ack=ack_now, lazy=[guarded(work, permission=permission)])
    lazy = guarded(save_note, permission="deal.note", reply=reply_to_note_author)
    app.view(edit.NOTE_FORM)(ack=ack_note_form, lazy=[lazy])
