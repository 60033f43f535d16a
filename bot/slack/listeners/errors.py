"""The app's one error handler: a listener that fails before or during its ack still answers
the user (never a stack trace, never silence) and is logged with secrets masked."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, BoltContext, BoltResponse

from bot.slack.listeners.common import explain_failure
from bot.slack.replies import PrivateReply

log = logging.getLogger("dealfinder.bot")


def handle_error(
    error: Exception, body: dict[str, Any], context: BoltContext, response: BoltResponse | None
) -> BoltResponse | None:
    """Bolt's `app.error` handler: a 200 carrying the explanation when Slack still waits for
    the ack, else a private message (`PrivateReply`: response_url, ephemeral or DM)."""
    text, is_bug = explain_failure(context.get("services"), error)
    if is_bug:
        log.error("listener failed: %s", text, exc_info=error)
    else:
        log.warning("listener failed: %s", error)
    if response is not None:
        if body.get("type") == "view_submission":
            return BoltResponse(status=200, body="")  # closes the modal; a 500 would confuse
        return BoltResponse(
            status=200,
            body={"response_type": "ephemeral", "text": text},
            headers={"content-type": "application/json;charset=utf-8"},
        )
    client, user_id = context.get("client"), context.get("user_id")
    if client is not None and user_id:
        reply = PrivateReply(
            client=client, user_id=user_id, channel_id=context.get("channel_id"),
            response_url=getattr(context.get("respond"), "response_url", None),
        )  # fmt: skip
        try:
            reply(text=text)
        except Exception:
            log.exception("could not tell the user about the failure")
    return None


def register(app: App) -> None:
    app.error(handle_error)
