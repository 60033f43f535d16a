"""Who may do what in Slack: roles from a JSON file, resolved per request by bolt middleware.

The roles file (`DEALFINDER_ROLES_FILE`; see `bot/slack/roles.example.json`) maps Slack users and
user groups (`S…` ids, members read with `usergroups.users.list` and cached) to a role, and
Slack users to their GHL user's email (for Claim). A user's role is the highest one any entry
gives them; someone the file does not name gets `default_role`.

    directory = RoleDirectory.from_file(path, group_members=slack_group_members(client))
    app.use(role_middleware(directory))           # context["role"] in every listener
    allowed(context["role"], "deal.notify")       # brokers and admins only
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

log = logging.getLogger("dealfinder.bot.roles")

EXAMPLE_ROLES_FILE = Path(__file__).with_name("roles.example.json")
GROUP_CACHE_SECONDS = 300.0  # user groups change by hand, rarely; five minutes is fresh enough
# After a failed lookup, wait this long before asking Slack again: roles are resolved inside
# the 3-second ack, which must not pay for a Slack outage on every request.
GROUP_RETRY_SECONDS = 60.0
# The check again when the work runs (after the ack, on the work pool, where a Slack call costs
# no ack time) wants fresher group members than the ack: a member taken out of a broker group
# loses the role for work within this long. At most one usergroups.users.list per group per
# 30 s, well inside its Tier 2 limit (20+ a minute).
WORK_GROUP_MAX_AGE = 30.0


class Role(StrEnum):
    """A caller's standing, lowest first."""

    NONE = "none"
    AGENT = "agent"
    BROKER = "broker"
    ADMIN = "admin"


_RANK = {Role.NONE: 0, Role.AGENT: 1, Role.BROKER: 2, Role.ADMIN: 3}

# The lowest role each action needs. Texting buyers and bulk actions are for brokers and
# admins: one click reaches many people's phones.
PERMISSIONS: dict[str, Role] = {
    "deal.help": Role.NONE,
    "deal.location": Role.ADMIN,  # `--location ID`: act on another location than the channel's
    "deal.show": Role.AGENT,
    "deal.add": Role.AGENT,
    "deal.match": Role.AGENT,
    "deal.hot": Role.AGENT,
    "deal.claim": Role.AGENT,
    "deal.claim_override": Role.BROKER,  # take over a deal someone else claimed
    "deal.pass": Role.BROKER,
    "deal.notify": Role.BROKER,
    "ghl.health": Role.AGENT,
    "ghl.validate": Role.BROKER,
    "ghl.outbox": Role.BROKER,
    "optout.decide": Role.BROKER,  # a possible opt-out: Opt out / Not an opt-out
    # Edits from Slack (issue 15): agents work their deals' stages and notes; who owns a deal
    # and whether it is won or lost is a broker's call.
    "deal.whoami": Role.NONE,  # anyone may learn who DealFinder thinks they are, and the fix
    "deal.stage": Role.AGENT,
    "deal.note": Role.AGENT,
    "deal.reassign": Role.BROKER,
    "deal.close": Role.BROKER,  # mark won / lost
}


def required_role(permission: str) -> Role:
    """The lowest role that may do `permission` (unknown permissions need an admin)."""
    return PERMISSIONS.get(permission, Role.ADMIN)


def allowed(role: Role | str | None, permission: str) -> bool:
    """Whether `role` may do `permission`."""
    current = Role(role) if role else Role.NONE
    return _RANK[current] >= _RANK[required_role(permission)]


def highest(roles: list[Role]) -> Role:
    return max(roles, key=_RANK.__getitem__, default=Role.NONE)


class RolesError(Exception):
    """The roles file is missing or wrong; the message names the file and the problem."""


@dataclass(frozen=True)
class RolesConfig:
    """The parsed roles file."""

    users: Mapping[str, Role] = field(default_factory=dict)
    groups: Mapping[str, Role] = field(default_factory=dict)
    ghl_users: Mapping[str, str] = field(default_factory=dict)  # Slack user -> GHL email
    default_role: Role = Role.AGENT


def _role(value: object, where: str) -> Role:
    try:
        return Role(str(value).strip().lower())
    except ValueError:
        choices = ", ".join(r.value for r in Role)
        raise RolesError(f"{where}: {value!r} is not a role ({choices})") from None


def parse_roles(data: Any, *, source: str = "roles file") -> RolesConfig:
    """A `RolesConfig` from the file's JSON object; RolesError says what is wrong."""
    if not isinstance(data, dict):
        raise RolesError(f"{source}: expected a JSON object")
    sections: dict[str, dict[str, Any]] = {}
    for name in ("users", "groups", "ghl_users"):
        value = data.get(name, {})
        if not isinstance(value, dict):
            raise RolesError(f"{source}: {name!r} must be an object of id -> value")
        sections[name] = value
    for group_id in sections["groups"]:
        if not str(group_id).startswith("S"):
            raise RolesError(f"{source}: groups.{group_id}: user group ids start with S")
    default = data.get("default_role", Role.AGENT.value)
    return RolesConfig(
        users={k: _role(v, f"{source}: users.{k}") for k, v in sections["users"].items()},
        groups={k: _role(v, f"{source}: groups.{k}") for k, v in sections["groups"].items()},
        ghl_users={k: str(v).strip().lower() for k, v in sections["ghl_users"].items()},
        default_role=_role(default if default is not None else "none", f"{source}: default_role"),
    )


def load_roles(path: Path | None) -> RolesConfig:
    """The roles file at `path`; without one every user is an agent and nobody a broker."""
    if path is None:
        return RolesConfig()
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RolesError(f"roles file not found: {path}") from None
    except json.JSONDecodeError as exc:
        raise RolesError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    return parse_roles(data, source=str(path))


GroupMembers = Callable[[str], list[str]]


def slack_group_members(client: WebClient, *, timeout: float = 2.0) -> GroupMembers:
    """Members of a Slack user group, read with `usergroups.users.list` (scope usergroups:read).

    Uses its own client without retry handlers and with a short timeout: the lookup runs
    inside the ack, where waiting out a 429's Retry-After would miss Slack's 3 seconds.
    """
    lookup = WebClient(token=client.token, base_url=client.base_url, timeout=int(timeout))

    def members(group_id: str) -> list[str]:
        answer = lookup.usergroups_users_list(usergroup=group_id)
        return [str(user) for user in answer.get("users") or []]

    return members


class RoleDirectory:
    """Answers "what is this Slack user's role?" with user groups cached for a few minutes.

    Thread-safe. When Slack cannot be asked about a group, the last known members are used
    (or none), so a Slack hiccup lowers nobody below their own entry and never blocks an ack.
    With a `source` file, every answer first re-reads the file if it changed on disk (one
    `stat` per question), so a role an admin removes is gone for the next click, also for work
    already acked; a file that became unreadable keeps the last good roles and is logged.
    """

    def __init__(
        self,
        config: RolesConfig,
        *,
        source: Path | None = None,
        group_members: GroupMembers | None = None,
        cache_seconds: float = GROUP_CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.config = config
        self._source = source
        self._stamp = _file_stamp(source)
        self._group_members = group_members
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._groups: dict[str, tuple[float, frozenset[str]]] = {}
        self._failed_until: dict[str, float] = {}
        self._lock = threading.Lock()
        # Slack user -> GHL email matched by email (`bot.slack.people.PeopleDirectory.ghl_email`);
        # set after construction by the wiring that has the store.
        self.people: Callable[[str], str | None] | None = None

    @classmethod
    def from_file(cls, path: Path | None, **options: Any) -> RoleDirectory:
        """The directory of the roles file at `path` (None: everyone an agent), kept current."""
        return cls(load_roles(path), source=path, **options)

    def _reload_if_changed(self) -> None:
        if self._source is None:
            return
        stamp = _file_stamp(self._source)
        if stamp == self._stamp:
            return
        try:
            config = load_roles(self._source)
        except RolesError as exc:
            # Keep the last good roles: a half-saved edit must not lock the whole team out.
            log.error("roles file changed but cannot be read, keeping the previous roles: %s", exc)
            self._stamp = stamp
            return
        log.info("roles file %s re-read", self._source)
        self.config, self._stamp = config, stamp

    def role_of(self, user_id: str | None, *, max_age: float | None = None) -> Role:
        """The highest role the file gives `user_id` directly or through a group; group
        members are re-read from Slack when older than `max_age` (default: the cache time)."""
        self._reload_if_changed()
        if not user_id:
            return Role.NONE
        found = [self.config.default_role]
        if user_id in self.config.users:
            found.append(self.config.users[user_id])
        for group_id, role in self.config.groups.items():
            if user_id in self._members(group_id, max_age):
                found.append(role)
        return highest(found)

    def ghl_email(self, user_id: str | None) -> str | None:
        """The GHL user email a Slack user acts as (Claim assigns the deal to them): the roles
        file's `ghl_users` entry (an override), else the email match (`people`, if set)."""
        self._reload_if_changed()
        override = self.config.ghl_users.get(user_id or "")
        if override is not None or not user_id or self.people is None:
            return override
        return self.people(user_id)

    def _members(self, group_id: str, max_age: float | None = None) -> frozenset[str]:
        now = self._clock()
        limit = self._cache_seconds if max_age is None else min(max_age, self._cache_seconds)
        with self._lock:
            cached = self._groups.get(group_id)
            failed_until = self._failed_until.get(group_id, float("-inf"))
        known = cached[1] if cached is not None else frozenset()
        if cached is not None and now - cached[0] < limit:
            return known
        if self._group_members is None or now < failed_until:
            return known  # after a failed lookup, Slack is not asked again for a while
        try:
            members = frozenset(self._group_members(group_id))
        except (SlackApiError, SlackClientError, OSError) as exc:
            log.warning("cannot read members of user group %s: %s", group_id, exc)
            with self._lock:
                self._failed_until[group_id] = now + GROUP_RETRY_SECONDS
            return known
        with self._lock:
            self._groups[group_id] = (now, members)
            self._failed_until.pop(group_id, None)
        return members


def _file_stamp(path: Path | None) -> tuple[int, int, int] | None:
    """What changes when the file is rewritten or replaced (mtime, size, inode)."""
    if path is None:
        return None
    try:
        stat = Path(path).stat()
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size, stat.st_ino)


def role_middleware(directory: RoleDirectory) -> Callable[..., None]:
    """Bolt global middleware: puts the caller's `role` and `ghl_email` in the context."""

    def attach_role(context: Any, next: Callable[[], None]) -> None:
        user_id = context.get("user_id")
        context["role"] = directory.role_of(user_id)
        context["ghl_email"] = directory.ghl_email(user_id)
        next()

    return attach_role
