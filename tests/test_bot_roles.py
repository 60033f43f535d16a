"""Who may do what: the roles file, user groups read from Slack (cached), and the table of
permissions. The group lookups go to the Slack fake over HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from slack_sdk import WebClient
from slack_sdk.http_retry import RateLimitErrorRetryHandler

from bot.slack.roles import (
    EXAMPLE_ROLES_FILE,
    PERMISSIONS,
    Role,
    RoleDirectory,
    RolesConfig,
    RolesError,
    allowed,
    load_roles,
    parse_roles,
    slack_group_members,
)
from sandbox.slack_fake import BOT_TOKEN, SlackFake, UserGroup


@pytest.mark.parametrize(
    ("role", "permission", "ok"),
    [
        (Role.NONE, "deal.help", True),
        (Role.NONE, "deal.show", False),
        (Role.AGENT, "deal.show", True),
        (Role.AGENT, "deal.add", True),
        (Role.AGENT, "deal.claim", True),
        (Role.AGENT, "deal.claim_override", False),
        (Role.AGENT, "deal.notify", False),
        (Role.AGENT, "deal.pass", False),
        (Role.AGENT, "ghl.validate", False),
        (Role.BROKER, "deal.notify", True),
        (Role.BROKER, "ghl.validate", True),
        (Role.ADMIN, "deal.notify", True),
        (Role.ADMIN, "no.such.permission", True),
        (Role.BROKER, "no.such.permission", False),
        ("agent", "deal.match", True),
        (None, "deal.match", False),
    ],
)
def test_permission_table(role: Role | str | None, permission: str, ok: bool) -> None:
    assert allowed(role, permission) is ok


def test_texting_buyers_is_for_brokers_and_admins_only() -> None:
    assert PERMISSIONS["deal.notify"] is Role.BROKER


def test_the_shipped_example_loads() -> None:
    config = load_roles(EXAMPLE_ROLES_FILE)
    assert config.groups == {"S0BROKERS": Role.BROKER}
    assert config.ghl_users["U0BROKER1"] == "maria.lopez@example.com"
    assert config.default_role is Role.AGENT


def test_no_roles_file_makes_everyone_an_agent() -> None:
    directory = RoleDirectory(load_roles(None))
    assert directory.role_of("U123") is Role.AGENT
    assert directory.role_of(None) is Role.NONE


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ([], "expected a JSON object"),
        ({"users": ["U1"]}, "'users' must be an object"),
        ({"users": {"U1": "boss"}}, "'boss' is not a role"),
        ({"groups": {"G1": "broker"}}, "user group ids start with S"),
        ({"default_role": "owner"}, "default_role"),
    ],
)
def test_a_wrong_roles_file_says_what_is_wrong(data: object, problem: str) -> None:
    with pytest.raises(RolesError, match=problem):
        parse_roles(data)


def test_unreadable_roles_files(tmp_path: Path) -> None:
    with pytest.raises(RolesError, match="not found"):
        load_roles(tmp_path / "missing.json")
    broken = tmp_path / "roles.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(RolesError, match="not valid JSON"):
        load_roles(broken)


def test_default_role_none_lets_only_named_people_act() -> None:
    config = parse_roles({"default_role": None, "users": {"U1": "agent"}})
    directory = RoleDirectory(config)
    assert directory.role_of("U1") is Role.AGENT
    assert directory.role_of("U2") is Role.NONE


class Ticks:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_group_roles_come_from_slack_and_are_cached(slack_fake: SlackFake) -> None:
    client = WebClient(token=BOT_TOKEN, base_url=slack_fake.api_url)
    ticks = Ticks()
    directory = RoleDirectory(
        parse_roles({"groups": {"S0BROKERS": "broker"}, "users": {"U0ADMIN01": "admin"}}),
        group_members=slack_group_members(client),
        cache_seconds=300,
        clock=ticks,
    )
    assert directory.role_of("U0BROKER1") is Role.BROKER  # member of @brokers in the fake
    assert directory.role_of("U0AGENT01") is Role.AGENT
    assert directory.role_of("U0ADMIN01") is Role.ADMIN  # highest of user entry and default
    assert len(slack_fake.calls_to("usergroups.users.list")) == 1  # cached for the others

    slack_fake.store.workspace.usergroups["S0BROKERS"] = UserGroup(
        "S0BROKERS", "brokers", "Brokers", users=["U0AGENT01"]
    )
    assert directory.role_of("U0AGENT01") is Role.AGENT  # still the cached membership
    ticks.now += 301
    assert directory.role_of("U0AGENT01") is Role.BROKER
    assert directory.role_of("U0BROKER1") is Role.AGENT
    assert len(slack_fake.calls_to("usergroups.users.list")) == 2


def test_slack_failing_keeps_the_last_known_members(slack_fake: SlackFake) -> None:
    client = WebClient(token=BOT_TOKEN, base_url=slack_fake.api_url)
    ticks = Ticks()
    directory = RoleDirectory(
        parse_roles({"groups": {"S0BROKERS": "broker", "S0GONE": "admin"}}),
        group_members=slack_group_members(client),
        clock=ticks,
    )
    slack_fake.expect_rejection("no_such_subteam", method="usergroups.users.list")
    assert directory.role_of("U0BROKER1") is Role.BROKER  # S0GONE: unknown group, no members
    ticks.now += 1_000
    slack_fake.queue_fault("usergroups.users.list", "server_error", times=2)
    assert directory.role_of("U0BROKER1") is Role.BROKER  # Slack down: last known members
    asked = len(slack_fake.calls_to("usergroups.users.list"))
    ticks.now += 30
    assert directory.role_of("U0BROKER1") is Role.BROKER
    assert len(slack_fake.calls_to("usergroups.users.list")) == asked  # not asked again yet
    ticks.now += 31
    directory.role_of("U0BROKER1")
    assert len(slack_fake.calls_to("usergroups.users.list")) > asked


def test_a_rate_limited_lookup_fails_fast_instead_of_waiting(slack_fake: SlackFake) -> None:
    client = WebClient(
        token=BOT_TOKEN,
        base_url=slack_fake.api_url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=3)],
    )
    directory = RoleDirectory(
        parse_roles({"groups": {"S0BROKERS": "broker"}}), group_members=slack_group_members(client)
    )
    slack_fake.queue_fault("usergroups.users.list", "ratelimited", times=3)
    assert directory.role_of("U0BROKER1") is Role.AGENT  # unknown for now, answered at once
    assert len(slack_fake.calls_to("usergroups.users.list")) == 1  # no Retry-After wait


def test_roles_config_files_roundtrip(tmp_path: Path) -> None:
    path = tmp_path / "roles.json"
    path.write_text(json.dumps({"users": {"U9": "BROKER"}, "ghl_users": {"U9": " A@B.COM "}}))
    config = load_roles(path)
    assert config == RolesConfig(users={"U9": Role.BROKER}, ghl_users={"U9": "a@b.com"})
