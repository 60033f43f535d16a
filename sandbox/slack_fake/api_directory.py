"""Read methods and joining: auth.test, users.*, conversations.*, usergroups.users.list."""

from __future__ import annotations

import base64

from sandbox.slack_fake.replies import Handler, Reply, fail, ok
from sandbox.slack_fake.state import JSON, Message
from sandbox.slack_fake.store import SlackStore

_MAX_PAGE = 999  # conversations.history/replies: "limit" above 999 is clamped by Slack


def auth_test(store: SlackStore, args: JSON) -> Reply:
    config = store.config
    return ok(
        url=f"https://{config.team_domain}.slack.com/",
        team=config.team_name,
        user=store.workspace.users[config.bot_user_id].name,
        team_id=config.team_id,
        user_id=config.bot_user_id,
        bot_id=config.bot_id,
        is_enterprise_install=False,
    )


def users_info(store: SlackStore, args: JSON) -> Reply:
    user = store.workspace.users.get(args["user"])
    if user is None:
        return fail("user_not_found")
    wire = user.to_slack(team_id=store.config.team_id)
    if "users:read.email" not in store.config.bot_scopes:
        wire["profile"].pop("email", None)  # Slack shows emails only with users:read.email
    return ok(user=wire)


def users_lookup_by_email(store: SlackStore, args: JSON) -> Reply:
    wanted = str(args["email"]).strip().lower()
    user = next((u for u in store.workspace.users.values() if u.email.lower() == wanted), None)
    if user is None or not wanted:
        return fail("users_not_found")
    return ok(user=user.to_slack(team_id=store.config.team_id))


def conversations_info(store: SlackStore, args: JSON) -> Reply:
    channel = store.channel(args["channel"])
    if channel is None:
        return fail("channel_not_found")
    return ok(channel=channel.to_slack(bot_user_id=store.config.bot_user_id))


def conversations_join(store: SlackStore, args: JSON) -> Reply:
    channel = store.channel(args["channel"])
    if channel is None:
        return fail("channel_not_found")
    if channel.is_private or channel.im_user is not None:
        # Bots cannot join private channels or IMs by themselves; someone must invite them.
        return fail("method_not_supported_for_channel_type")
    already = store.config.bot_user_id in channel.members
    channel.members.add(store.config.bot_user_id)
    wire = channel.to_slack(bot_user_id=store.config.bot_user_id)
    if already:
        return ok(
            channel=wire,
            warning="already_in_channel",
            response_metadata={"warnings": ["already_in_channel"]},
        )
    return ok(channel=wire)


def _page(messages: list[Message], store: SlackStore, args: JSON) -> JSON | Reply:
    """One page of messages and Slack's cursor fields (`has_more`, `next_cursor`)."""
    try:
        limit = max(1, min(int(args.get("limit") or 100), _MAX_PAGE))
    except ValueError:
        return fail("invalid_limit")
    start = 0
    if args.get("cursor"):
        try:
            start = int(base64.b64decode(args["cursor"]).decode().split(":", 1)[1])
        except (ValueError, IndexError):
            return fail("invalid_cursor")
    chosen = messages[start : start + limit]
    has_more = start + limit < len(messages)
    next_cursor = base64.b64encode(f"offset:{start + limit}".encode()).decode() if has_more else ""
    wire = [m.to_slack(team_id=store.config.team_id, app_id=store.config.app_id) for m in chosen]
    return {
        "messages": wire,
        "has_more": has_more,
        "response_metadata": {"next_cursor": next_cursor},
    }


def _within(message: Message, args: JSON) -> bool:
    inclusive = str(args.get("inclusive", "")).lower() in ("1", "true")
    ts = float(message.ts)
    if args.get("oldest"):
        oldest = float(args["oldest"])
        if ts < oldest or (ts == oldest and not inclusive):
            return False
    if args.get("latest"):
        latest = float(args["latest"])
        if ts > latest or (ts == latest and not inclusive):
            return False
    return True


def conversations_history(store: SlackStore, args: JSON) -> Reply:
    channel = store.channel(args["channel"])
    if channel is None:
        return fail("channel_not_found")
    if store.config.bot_user_id not in channel.members:
        return fail("not_in_channel")
    try:
        top_level = [
            m
            for m in store.messages.get(channel.id, [])
            if m.thread_ts in (None, m.ts) and _within(m, args)
        ]
    except ValueError:
        return fail("invalid_ts_oldest")
    page = _page(list(reversed(top_level)), store, args)  # newest first, as Slack lists them
    return page if isinstance(page, Reply) else ok(**page)


def conversations_replies(store: SlackStore, args: JSON) -> Reply:
    channel = store.channel(args["channel"])
    if channel is None:
        return fail("channel_not_found")
    if store.config.bot_user_id not in channel.members:
        return fail("not_in_channel")
    parent = store.find_message(channel.id, args["ts"])
    if parent is None:
        return fail("thread_not_found")
    thread_ts = parent.thread_ts or parent.ts
    thread = [
        m
        for m in store.messages.get(channel.id, [])
        if m.ts == thread_ts or m.thread_ts == thread_ts
    ]
    page = _page(thread, store, args)  # parent first, then replies oldest first
    return page if isinstance(page, Reply) else ok(**page)


def usergroups_users_list(store: SlackStore, args: JSON) -> Reply:
    group = store.workspace.usergroups.get(args["usergroup"])
    if group is None:
        return fail("no_such_subteam")
    return ok(users=list(group.users))


HANDLERS: dict[str, Handler] = {
    "auth.test": auth_test,
    "users.info": users_info,
    "users.lookupByEmail": users_lookup_by_email,
    "conversations.info": conversations_info,
    "conversations.join": conversations_join,
    "conversations.history": conversations_history,
    "conversations.replies": conversations_replies,
    "usergroups.users.list": usergroups_users_list,
}
