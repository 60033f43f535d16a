"""What the fake workspace holds: users, channels, user groups, messages, views, issued ids.

The records render themselves in Slack's wire shape (`to_slack`), so the fake answers with the
JSON the Web API returns. `seed_workspace` builds the DealFinder sandbox team.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from sandbox.slack_fake.config import FakeConfig

JSON = dict[str, Any]


@dataclass
class User:
    """A workspace member; `tz` is an IANA zone name as users.info reports it."""

    id: str
    name: str
    real_name: str
    email: str
    tz: str
    tz_label: str
    tz_offset: int
    is_admin: bool = False
    is_bot: bool = False
    title: str = ""

    def to_slack(self, *, team_id: str) -> JSON:
        return {
            "id": self.id,
            "team_id": team_id,
            "name": self.name,
            "deleted": False,
            "real_name": self.real_name,
            "tz": self.tz,
            "tz_label": self.tz_label,
            "tz_offset": self.tz_offset,
            "is_admin": self.is_admin,
            "is_owner": False,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "profile": {
                "real_name": self.real_name,
                "display_name": self.name,
                "email": self.email,
                "title": self.title,
                "team": team_id,
            },
        }


@dataclass
class Channel:
    """A conversation: public/private channel, or an IM opened by posting to a user id."""

    id: str
    name: str
    members: set[str] = field(default_factory=set)
    is_private: bool = False
    im_user: str | None = None
    created: int = 1_700_000_000

    def to_slack(self, *, bot_user_id: str) -> JSON:
        if self.im_user is not None:
            return {"id": self.id, "is_im": True, "user": self.im_user, "created": self.created}
        return {
            "id": self.id,
            "name": self.name,
            "name_normalized": self.name,
            "is_channel": not self.is_private,
            "is_group": False,
            "is_im": False,
            "is_private": self.is_private,
            "is_archived": False,
            "is_general": self.name == "general",
            "is_member": bot_user_id in self.members,
            "created": self.created,
            "num_members": len(self.members),
        }


@dataclass
class UserGroup:
    """A user group (`@brokers`) and its member ids."""

    id: str
    handle: str
    name: str
    users: list[str] = field(default_factory=list)


@dataclass
class Message:
    """A message as stored: channel, thread and ephemeral recipient beside Slack's fields."""

    channel: str
    ts: str
    text: str
    blocks: list[JSON] = field(default_factory=list)
    user: str = ""
    bot_id: str | None = None
    thread_ts: str | None = None
    reply_count: int = 0
    edited_ts: str | None = None
    ephemeral_to: str | None = None  # the only user who sees it, for ephemerals
    truncated: bool = False  # Slack cut the text to 40,000 characters
    via: str = "api"  # "api", "response_url" or "ack"

    @property
    def is_ephemeral(self) -> bool:
        return self.ephemeral_to is not None

    def to_slack(self, *, team_id: str, app_id: str) -> JSON:
        """The message as conversations.history and interaction payloads show it."""
        data: JSON = {"type": "message", "ts": self.ts, "text": self.text, "team": team_id}
        data["user"] = self.user
        if self.bot_id is not None:
            data["bot_id"] = self.bot_id
            data["app_id"] = app_id
        if self.blocks:
            data["blocks"] = copy.deepcopy(self.blocks)
        if self.thread_ts is not None:
            data["thread_ts"] = self.thread_ts
            if self.thread_ts == self.ts:
                data["reply_count"] = self.reply_count
        if self.edited_ts is not None:
            data["edited"] = {"user": self.user, "ts": self.edited_ts}
        return data


@dataclass
class Call:
    """One Web API call as the fake saw it; `args` never holds the token."""

    method: str
    args: JSON
    status: int
    response: JSON
    at: float
    fault: str | None = None

    @property
    def error(self) -> str | None:
        return None if self.response.get("ok", True) else self.response.get("error")

    def to_json(self) -> JSON:
        return {
            "method": self.method,
            "args": self.args,
            "status": self.status,
            "response": self.response,
            "at": self.at,
            "fault": self.fault,
        }


@dataclass
class TriggerId:
    """A trigger_id Slack put in a payload: usable once, for 3 seconds."""

    issued_at: float
    user_id: str
    exchanged: bool = False


@dataclass
class ResponseUrl:
    """A response_url and the interaction it answers (5 uses, 30 minutes)."""

    id: str
    issued_at: float
    channel_id: str
    user_id: str
    message_ts: str | None = None  # the message whose button was clicked, if any
    message_is_ephemeral: bool = False
    uses: int = 0


@dataclass
class Workspace:
    """The team's directory: who and where, as opposed to what was said."""

    users: dict[str, User]
    channels: dict[str, Channel]
    usergroups: dict[str, UserGroup]


def seed_workspace(config: FakeConfig) -> Workspace:
    """The sandbox team: a broker, two agents, an admin, the bot, #deals, #ops-alerts, #general."""
    people = [
        User("U0BROKER1", "dana.broker", "Dana Broker", "dana@dealfinder.example",
             "America/New_York", "Eastern Standard Time", -18_000, title="Broker"),
        User("U0AGENT01", "ari.agent", "Ari Agent", "ari@dealfinder.example",
             "America/Chicago", "Central Standard Time", -21_600, title="Agent"),
        User("U0AGENT02", "bea.agent", "Bea Agent", "bea@dealfinder.example",
             "America/Los_Angeles", "Pacific Standard Time", -28_800, title="Agent"),
        User("U0ADMIN01", "casey.admin", "Casey Admin", "casey@dealfinder.example",
             "America/Denver", "Mountain Standard Time", -25_200, is_admin=True, title="Ops"),
        User(config.bot_user_id, "dealfinder", "DealFinder", "", "America/Los_Angeles",
             "Pacific Standard Time", -28_800, is_bot=True),
    ]  # fmt: skip
    humans = {user.id for user in people if not user.is_bot}
    everyone = humans | {config.bot_user_id}
    channels = [
        Channel("C0DEALS", "deals", members=set(everyone)),
        Channel("C0OPS", "ops-alerts", members={"U0ADMIN01", "U0BROKER1", config.bot_user_id}),
        # The bot starts outside #general, so posting there needs conversations.join first.
        Channel("C0GENERAL", "general", members=set(humans)),
    ]
    brokers = UserGroup("S0BROKERS", "brokers", "Brokers", users=["U0BROKER1"])
    return Workspace(
        users={user.id: user for user in people},
        channels={channel.id: channel for channel in channels},
        usergroups={brokers.id: brokers},
    )
