"""The add form's submission: validated inside the ack (errors shown under the fields), then
the deal pipeline runs after the ack, once the submitter's role is checked again at that moment
(`guarded(..., permission="deal.add")`), and the result goes to the user in the channel they
typed `/deal add` in (privately), or by direct message when that is not possible.

The form carries that channel in `private_metadata`; metadata that is not ours (unreadable or
tampered with) is refused with a message, and nothing is created."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from pydantic import ValidationError
from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.slack import blocks
from bot.slack import messages as msg
from bot.slack.escape import clip
from bot.slack.listeners import deal_commands
from bot.slack.listeners.common import Turn, guarded, refusal
from bot.slack.replies import PrivateReply
from services.property import PropertyRecord

log = logging.getLogger("dealfinder.bot")

# Record fields whose errors show under another input (the form asks for one contact field).
_FIELD_BLOCKS = {
    "agent_email": "seller_contact",
    "agent_phone": "seller_contact",
    "agent_name": "seller_name",
}


_CHANNEL_ID = re.compile(r"^[CDG][A-Z0-9]{2,30}$")


def form_metadata(view: Any) -> dict[str, str | None] | None:
    """The form's `private_metadata` ({"channel_id": …}); None when unreadable or not ours."""
    raw = view.get("private_metadata") if isinstance(view, dict) else None
    if raw in (None, ""):
        return {"channel_id": None}
    try:
        data = json.loads(raw) if isinstance(raw, str) else None
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or set(data) - {"channel_id"}:
        return None
    channel = data.get("channel_id")
    if channel is not None and not (isinstance(channel, str) and _CHANNEL_ID.match(channel)):
        return None
    return {"channel_id": channel}


def form_values(view: dict[str, Any]) -> dict[str, str]:
    """The submitted inputs by name (block and action ids are the field names)."""
    values: dict[str, str] = {}
    for block_id, inputs in (view.get("state") or {}).get("values", {}).items():
        for entry in inputs.values():
            if entry.get("value") not in (None, ""):
                values[block_id] = str(entry["value"])
    return values


def record_from_form(values: dict[str, str]) -> PropertyRecord | dict[str, str]:
    """The property the form describes, or errors keyed by the input block to show them under."""
    raw: dict[str, Any] = {k: v for k, v in values.items() if k != "seller_contact"}
    contact = values.get("seller_contact", "")
    raw["agent_email" if "@" in contact else "agent_phone"] = contact
    raw["agent_name"] = raw.pop("seller_name", None)
    try:
        return PropertyRecord.parse(raw)
    except ValidationError as exc:
        inputs = {name for name, _, _ in blocks.FORM_FIELDS}
        errors: dict[str, str] = {}
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "seller_contact"
            block = _FIELD_BLOCKS.get(field, field)
            block = block if block in inputs else "mls_id"
            errors.setdefault(block, clip(error["msg"].removeprefix("Value error, "), 150))
        return errors


def ack_add_form(ack: Ack, view: dict[str, Any], context: BoltContext) -> None:
    """Validate within the ack: bad fields keep the form open with a message under each."""
    refused = refusal(context, "deal.add")
    if refused is not None:
        ack(response_action="errors", errors={"mls_id": refused[:150]})
        return
    if form_metadata(view) is None:
        ack(response_action="errors", errors={"mls_id": msg.form_damaged()[:150]})
        return
    checked = record_from_form(form_values(view))
    if isinstance(checked, dict):
        ack(response_action="errors", errors=checked)
    else:
        ack()


def save_from_form(turn: Turn) -> None:
    """After the ack (role checked again): run the pipeline on the form's property."""
    view = turn.body.get("view") or {}
    if form_metadata(view) is None:
        log.warning("add form from %s with unreadable private_metadata", turn.user_id)
        turn.say(msg.form_damaged())
        return
    checked = record_from_form(form_values(view))
    if isinstance(checked, PropertyRecord):
        deal_commands.say_added(turn, turn.services.actions.add(checked))


def reply_to_submitter(
    body: dict[str, Any], context: BoltContext, client: WebClient
) -> PrivateReply:
    """A modal submit has no response_url: answer privately where the form was opened (or by
    direct message when the form's metadata cannot say where)."""
    metadata = form_metadata(body.get("view")) or {"channel_id": None}
    return PrivateReply(
        client=client, user_id=context.get("user_id") or "",
        channel_id=metadata["channel_id"], response_url=None,
    )  # fmt: skip


def register(app: App) -> None:
    # Not told_in_ack: a refusal under a field may never be seen (the modal may be gone, or the
    # submission forged), so the refusal is also sent privately.
    lazy = guarded(save_from_form, permission="deal.add", reply=reply_to_submitter)
    app.view(blocks.ADD_FORM)(ack=ack_add_form, lazy=[lazy])
