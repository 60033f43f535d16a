"""The fake's memory: one lock around the workspace, messages, views and issued ids.

The werkzeug server answers on many threads; every read and write goes through `store.lock`.
Handlers hold the lock for a whole call so a call sees and leaves a consistent state.
"""

from __future__ import annotations

import copy
import itertools
import secrets
import threading
from collections.abc import Callable

from sandbox.slack_fake.blocks import with_generated_ids
from sandbox.slack_fake.config import FakeConfig
from sandbox.slack_fake.links import LinkShare
from sandbox.slack_fake.policies import TokenBucket, format_ts, next_ts_micros, take_token
from sandbox.slack_fake.state import (
    JSON,
    Call,
    Channel,
    Message,
    ResponseUrl,
    TriggerId,
    Workspace,
    seed_workspace,
)


class SlackStore:
    """In-memory, thread-safe state of one fake Slack workspace."""

    def __init__(self, config: FakeConfig, *, clock: Callable[[], float]):
        self.config = config
        self.clock = clock
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        """Back to the seeded workspace with no messages, views, calls or issued ids."""
        with self.lock:
            self.workspace: Workspace = seed_workspace(self.config)
            self.messages: dict[str, list[Message]] = {}
            self.ephemerals: list[Message] = []
            self.views: dict[str, JSON] = {}
            self.view_stacks: dict[str, list[str]] = {}
            self.triggers: dict[str, TriggerId] = {}
            self.response_urls: dict[str, ResponseUrl] = {}
            self.calls: list[Call] = []
            self.buckets: dict[str, TokenBucket] = {}
            self.last_ts_micros = 0
            self.ids = itertools.count(1)
            self.link_shares: dict[str, LinkShare] = {}  # unfurl_id -> what link_shared named
            self.home_views: dict[str, JSON] = {}  # user id -> their published Home tab

    # -- ids ---------------------------------------------------------------------------------

    def new_ts(self) -> str:
        """A message ts unique in the workspace and later than every earlier one."""
        with self.lock:
            self.last_ts_micros = next_ts_micros(last_micros=self.last_ts_micros, now=self.clock())
            return format_ts(self.last_ts_micros)

    def new_id(self, prefix: str) -> str:
        """An id in Slack's style: a type letter, then upper-case letters and digits."""
        return f"{prefix}0{next(self.ids):04d}{secrets.token_hex(3).upper()}"

    def issue_trigger_id(self, *, user_id: str) -> str:
        """A trigger_id like those in slash command and interaction payloads."""
        with self.lock:
            now = self.clock()
            trigger_id = f"{int(now)}.{next(self.ids)}.{secrets.token_hex(8)}"
            self.triggers[trigger_id] = TriggerId(issued_at=now, user_id=user_id)
            return trigger_id

    def issue_response_url(
        self,
        *,
        channel_id: str,
        user_id: str,
        message_ts: str | None = None,
        message_is_ephemeral: bool = False,
    ) -> str:
        """The id part of a new response_url (the server builds the full URL)."""
        with self.lock:
            url_id = f"{self.config.team_id}/{next(self.ids)}/{secrets.token_urlsafe(12)}"
            self.response_urls[url_id] = ResponseUrl(
                id=url_id,
                issued_at=self.clock(),
                channel_id=channel_id,
                user_id=user_id,
                message_ts=message_ts,
                message_is_ephemeral=message_is_ephemeral,
            )
            return url_id

    # -- lookups -------------------------------------------------------------------------

    def channel(self, channel: str) -> Channel | None:
        """A channel by id ("C0DEALS"); None when the workspace has no such channel."""
        return self.workspace.channels.get(channel)

    def channel_by_name(self, name: str) -> Channel | None:
        """A channel by name, with or without "#" (chat.postMessage accepts names)."""
        wanted = name.removeprefix("#")
        return next((c for c in self.workspace.channels.values() if c.name == wanted), None)

    def im_with(self, user_id: str) -> Channel:
        """The bot's IM with a user, opened on first use (posting to a user id does this)."""
        channel_id = "D" + user_id[1:]
        existing = self.workspace.channels.get(channel_id)
        if existing is not None:
            return existing
        im = Channel(channel_id, "", members={user_id, self.config.bot_user_id}, im_user=user_id)
        self.workspace.channels[channel_id] = im
        return im

    def find_message(self, channel: str, ts: str) -> Message | None:
        """The message (top-level or reply) with this ts in the channel."""
        return next((m for m in self.messages.get(channel, []) if m.ts == ts), None)

    def find_ephemeral(self, channel: str, ts: str) -> Message | None:
        return next((m for m in self.ephemerals if m.channel == channel and m.ts == ts), None)

    # -- changes ---------------------------------------------------------------------------

    def add_message(self, message: Message) -> Message:
        """Store a posted message, counting it as a reply when it is in a thread."""
        if message.is_ephemeral:
            _insert_in_time_order(self.ephemerals, message)
            return message
        _insert_in_time_order(self.messages.setdefault(message.channel, []), message)
        if message.thread_ts is not None and message.thread_ts != message.ts:
            parent = self.find_message(message.channel, message.thread_ts)
            if parent is not None:
                parent.thread_ts = parent.ts
                parent.reply_count += 1
        return message

    def delete_message(self, channel: str, ts: str) -> bool:
        """Remove a message (or ephemeral); False if there was none."""
        kept = [m for m in self.messages.get(channel, []) if m.ts != ts]
        if len(kept) != len(self.messages.get(channel, [])):
            self.messages[channel] = kept
            return True
        before = len(self.ephemerals)
        self.ephemerals = [m for m in self.ephemerals if not (m.channel == channel and m.ts == ts)]
        return len(self.ephemerals) != before

    def take_post_allowance(self, channel: str) -> int | None:
        """Spend one chat.postMessage for `channel`; the Retry-After seconds if none is left."""
        bucket, retry_after = take_token(
            self.buckets.get(channel),
            now=self.clock(),
            per_second=self.config.post_message_per_second,
            burst=self.config.post_message_burst,
        )
        self.buckets[channel] = bucket
        return retry_after

    def record(self, call: Call) -> None:
        with self.lock:
            self.calls.append(call)

    # -- views -----------------------------------------------------------------------------

    def store_view(self, *, view: JSON, user_id: str, previous: str | None) -> JSON:
        """Keep a modal as Slack returns it (id, hash, state, root) on top of the user's stack."""
        view_id = self.new_id("V")
        stack = self.view_stacks.setdefault(user_id, [])
        stored = self._view_record(view, view_id=view_id, root=stack[0] if stack else view_id)
        stored["previous_view_id"] = previous
        self.views[view_id] = stored
        stack.append(view_id)
        return copy.deepcopy(stored)

    def replace_view(self, view_id: str, view: JSON) -> JSON:
        """Replace an open modal's content, keeping its id, root and place in the stack."""
        old = self.views[view_id]
        stored = self._view_record(view, view_id=view_id, root=old["root_view_id"])
        stored["previous_view_id"] = old["previous_view_id"]
        self.views[view_id] = stored
        return copy.deepcopy(stored)

    def _view_record(self, view: JSON, *, view_id: str, root: str) -> JSON:
        record = {
            "id": view_id,
            "team_id": self.config.team_id,
            "type": view["type"],
            "title": view.get("title"),
            "submit": view.get("submit"),
            "close": view.get("close"),
            "blocks": with_generated_ids(view.get("blocks", [])),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "external_id": view.get("external_id", ""),
            "state": {"values": {}},
            "hash": f"{int(self.clock())}.{secrets.token_hex(4)}",
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "root_view_id": root,
            "app_id": self.config.app_id,
            "app_installed_team_id": self.config.team_id,
            "bot_id": self.config.bot_id,
        }
        return record

    def open_views(self, user_id: str) -> list[JSON]:
        """The user's modal stack, bottom first."""
        return [copy.deepcopy(self.views[v]) for v in self.view_stacks.get(user_id, [])]

    def close_views(self, user_id: str, *, all_views: bool) -> None:
        """Close the top modal (or the whole stack, for `response_action: clear`)."""
        stack = self.view_stacks.get(user_id, [])
        if all_views:
            stack.clear()
        elif stack:
            stack.pop()

    def view_owner(self, view_id: str) -> str | None:
        return next((u for u, stack in self.view_stacks.items() if view_id in stack), None)


def _insert_in_time_order(messages: list[Message], message: Message) -> None:
    """Append, or insert before later messages when its ts was reserved earlier (an ack)."""
    at = len(messages)
    while at and _ts_key(messages[at - 1].ts) > _ts_key(message.ts):
        at -= 1
    messages.insert(at, message)


def _ts_key(ts: str) -> tuple[int, int]:
    seconds, _, micros = ts.partition(".")
    return int(seconds), int(micros or 0)  # exact, where a float might round two apart
