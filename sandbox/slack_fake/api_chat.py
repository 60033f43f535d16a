"""The chat.* methods: post, update, delete messages and ephemerals, permalinks.

Each handler runs with the store locked and gets the call's arguments without the token.
"""

from __future__ import annotations

from dataclasses import dataclass

from sandbox.slack_fake.blocks import message_block_problems, parse_json_arg, with_generated_ids
from sandbox.slack_fake.replies import Handler, Reply, fail, ok, ratelimited
from sandbox.slack_fake.state import JSON, Channel, Message
from sandbox.slack_fake.store import SlackStore


@dataclass
class Content:
    """A message's text and blocks after Slack's checks."""

    text: str | None
    blocks: list[JSON] | None
    truncated: bool = False


def message_content(store: SlackStore, args: JSON, *, required: bool = True) -> Content | Reply:
    """Validate `text`/`blocks` as Slack does; a Reply when Slack would refuse them."""
    blocks = None
    if args.get("blocks") not in (None, ""):
        try:
            blocks = parse_json_arg(args["blocks"])
        except ValueError:
            return fail("invalid_blocks_format")
        problems = message_block_problems(blocks)
        if problems:
            return fail("invalid_blocks", messages=problems)
        assert isinstance(blocks, list)
        blocks = with_generated_ids(blocks)
    text = args.get("text")
    if text is not None and not isinstance(text, str):
        text = str(text)
    has_attachments = args.get("attachments") not in (None, "", "[]", [])
    if required and not text and not blocks and not has_attachments:
        return fail("no_text")
    truncated = text is not None and len(text) > store.config.max_text_chars
    if truncated and text is not None:
        # Slack cuts text beyond 40,000 characters instead of refusing the message.
        text = text[: store.config.max_text_chars]
    return Content(text=text, blocks=blocks, truncated=truncated)


def resolve_channel(store: SlackStore, raw: str, *, names_and_users: bool) -> Channel | Reply:
    """The conversation `raw` names; chat.postMessage alone also accepts "#name" and user ids."""
    found = store.channel(raw)
    if found is None and names_and_users:
        if raw in store.workspace.users and raw != store.config.bot_user_id:
            found = store.im_with(raw)
        else:
            found = store.channel_by_name(raw)
    return found if found is not None else fail("channel_not_found")


def _message_in_channel(store: SlackStore, args: JSON, *, ts_arg: str) -> Message | Reply:
    channel = store.channel(args["channel"])
    if channel is None:
        return fail("channel_not_found")
    message = store.find_message(channel.id, args[ts_arg])
    if message is None:
        return fail("message_not_found")
    return message


def post_message(store: SlackStore, args: JSON) -> Reply:
    channel = resolve_channel(store, args["channel"], names_and_users=True)
    if isinstance(channel, Reply):
        return channel
    if store.config.bot_user_id not in channel.members:
        return fail("not_in_channel")
    content = message_content(store, args)
    if isinstance(content, Reply):
        return content
    thread_ts = args.get("thread_ts") or None
    if thread_ts is not None:
        parent = store.find_message(channel.id, thread_ts)
        if parent is None or parent.thread_ts not in (None, parent.ts):
            return fail("thread_not_found")
    retry_after = store.take_post_allowance(channel.id)
    if retry_after is not None:
        return ratelimited(retry_after)
    message = store.add_message(
        Message(
            channel=channel.id,
            ts=store.new_ts(),
            text=content.text or "",
            blocks=content.blocks or [],
            user=store.config.bot_user_id,
            bot_id=store.config.bot_id,
            thread_ts=thread_ts,
            truncated=content.truncated,
        )
    )
    wire = message.to_slack(team_id=store.config.team_id, app_id=store.config.app_id)
    return ok(channel=channel.id, ts=message.ts, message=wire)


def update(store: SlackStore, args: JSON) -> Reply:
    message = _message_in_channel(store, args, ts_arg="ts")
    if isinstance(message, Reply):
        return message
    if message.bot_id != store.config.bot_id:
        return fail("cant_update_message")
    content = message_content(store, args)
    if isinstance(content, Reply):
        return content
    if content.text is not None:
        message.text = content.text
        message.truncated = content.truncated
    if content.blocks is not None:
        message.blocks = content.blocks
    message.edited_ts = store.new_ts()
    wire = message.to_slack(team_id=store.config.team_id, app_id=store.config.app_id)
    return ok(channel=message.channel, ts=message.ts, text=message.text, message=wire)


def post_ephemeral(store: SlackStore, args: JSON) -> Reply:
    channel = store.channel(args["channel"])
    if channel is None:
        return fail("channel_not_found")
    if args["user"] not in store.workspace.users:
        return fail("user_not_found")
    if store.config.bot_user_id not in channel.members:
        return fail("not_in_channel")
    if args["user"] not in channel.members:
        return fail("user_not_in_channel")
    content = message_content(store, args)
    if isinstance(content, Reply):
        return content
    message = store.add_message(
        Message(
            channel=channel.id,
            ts=store.new_ts(),
            text=content.text or "",
            blocks=content.blocks or [],
            user=store.config.bot_user_id,
            bot_id=store.config.bot_id,
            thread_ts=args.get("thread_ts") or None,
            ephemeral_to=args["user"],
            truncated=content.truncated,
        )
    )
    return ok(message_ts=message.ts)


def delete(store: SlackStore, args: JSON) -> Reply:
    message = _message_in_channel(store, args, ts_arg="ts")
    if isinstance(message, Reply):
        return message
    if message.bot_id != store.config.bot_id:
        return fail("cant_delete_message")
    store.delete_message(message.channel, message.ts)
    return ok(channel=message.channel, ts=message.ts)


def get_permalink(store: SlackStore, args: JSON) -> Reply:
    message = _message_in_channel(store, args, ts_arg="message_ts")
    if isinstance(message, Reply):
        return message
    link = (
        f"https://{store.config.team_domain}.slack.com/archives/"
        f"{message.channel}/p{message.ts.replace('.', '')}"
    )
    if message.thread_ts not in (None, message.ts):
        link += f"?thread_ts={message.thread_ts}&cid={message.channel}"
    return ok(channel=message.channel, permalink=link)


HANDLERS: dict[str, Handler] = {
    "chat.postMessage": post_message,
    "chat.update": update,
    "chat.postEphemeral": post_ephemeral,
    "chat.delete": delete,
    "chat.getPermalink": get_permalink,
}
