"""Messages that answer an interaction: response_url posts (5 uses in 30 min) and ack bodies.

The body is JSON: `text`, `blocks`, `response_type` ("ephemeral", the default, or
"in_channel"), `replace_original`, `delete_original`, `thread_ts`.
"""

from __future__ import annotations

import json

from sandbox.slack_fake.api_chat import Content, message_content
from sandbox.slack_fake.policies import response_url_problem
from sandbox.slack_fake.replies import Reply
from sandbox.slack_fake.state import JSON, Message, ResponseUrl
from sandbox.slack_fake.store import SlackStore


def _refuse(status: int, error: str, **fields: object) -> Reply:
    return Reply({"ok": False, "error": error, **fields}, status=status)


def _truthy(value: object) -> bool:
    return value is True or str(value).lower() in ("true", "1")


def _original(store: SlackStore, record: ResponseUrl) -> Message | None:
    if record.message_ts is None:
        return None
    if record.message_is_ephemeral:
        return store.find_ephemeral(record.channel_id, record.message_ts)
    return store.find_message(record.channel_id, record.message_ts)


def post_to_response_url(store: SlackStore, url_id: str, raw_body: bytes) -> Reply:
    """Apply one response_url POST to the store, answering as Slack's hook endpoint does."""
    with store.lock:
        record = store.response_urls.get(url_id)
        if record is None:
            return _refuse(404, "no_service")
        config = store.config
        error = response_url_problem(
            issued_at=record.issued_at,
            uses=record.uses,
            now=store.clock(),
            max_uses=config.response_url_max_uses,
            ttl=config.response_url_ttl_seconds,
        )
        if error is not None:
            return _refuse(404, error)
        try:
            payload = json.loads(raw_body or b"null")
        except ValueError:
            return _refuse(400, "invalid_payload")
        if not isinstance(payload, dict):
            return _refuse(400, "invalid_payload")
        reply = _apply(store, record, payload)
        if reply.status == 200:
            record.uses += 1
        return reply


def _apply(store: SlackStore, record: ResponseUrl, payload: JSON) -> Reply:
    original = _original(store, record)
    if _truthy(payload.get("delete_original")):
        if original is None:
            return _refuse(404, "message_not_found")
        store.delete_message(original.channel, original.ts)
        return Reply({"ok": True})
    content = message_content(store, payload)
    if isinstance(content, Reply):
        return Reply(content.body, status=400)
    if _truthy(payload.get("replace_original")):
        if original is None:
            return _refuse(404, "message_not_found")
        original.text = content.text or ""
        original.blocks = content.blocks or []
        original.truncated = content.truncated
        return Reply({"ok": True})
    _post_new(
        store,
        channel_id=record.channel_id,
        user_id=record.user_id,
        payload=payload,
        content=content,
        via="response_url",
    )
    return Reply({"ok": True})


def _post_new(
    store: SlackStore,
    *,
    channel_id: str,
    user_id: str,
    payload: JSON,
    content: Content,
    via: str,
    ts: str | None = None,
) -> Message:
    in_channel = payload.get("response_type") == "in_channel"
    return store.add_message(
        Message(
            channel=channel_id,
            ts=ts or store.new_ts(),
            text=content.text or "",
            blocks=content.blocks or [],
            user=store.config.bot_user_id,
            bot_id=store.config.bot_id,
            thread_ts=payload.get("thread_ts") if in_channel else None,
            ephemeral_to=None if in_channel else user_id,
            truncated=content.truncated,
            via=via,
        )
    )


def post_ack_message(
    store: SlackStore, *, channel_id: str, user_id: str, payload: JSON, ts: str | None = None
) -> Reply:
    """Show the message a slash command's ack carried (ephemeral unless `in_channel`), at `ts`
    when the command reserved its place in time."""
    with store.lock:
        content = message_content(store, payload)
        if isinstance(content, Reply):
            return content
        _post_new(
            store,
            channel_id=channel_id,
            user_id=user_id,
            payload=payload,
            content=content,
            via="ack",
            ts=ts,
        )
        return Reply({"ok": True})
