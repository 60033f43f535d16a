"""Authorization where the work happens: after the ack, the role is asked for again.

Over real signed HTTP to the bot on waitress, the GHL emulator behind it (read through its
control API, `/_emulator/state`), the Slack fake, and the store on SQLite and PostgreSQL. A
forged but correctly signed request from a user without a role, and a user whose role is
taken away between the ack and the work, create nothing in GHL, post nothing in Slack, change
nothing in the store, and are told why privately.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from slack_sdk import WebClient
from sqlalchemy import Engine

from bot.slack import blocks
from bot.slack.listeners.authz import NO_PERMISSION
from bot.slack.listeners.views import form_metadata
from bot.slack.roles import (
    WORK_GROUP_MAX_AGE,
    Role,
    RoleDirectory,
    parse_roles,
    slack_group_members,
)
from sandbox.ghl_emulator import Emulator
from sandbox.slack_fake import BOT_TOKEN, Message, SlackFake, UserGroup
from sandbox.slack_fake.payloads import form_body, view_submission_payload
from sandbox.slack_fake.view_state import state_values
from tests.fixtures.bot import BotWorld, build_bot_world, wait_for
from tests.fixtures.world_state import ghl_state, said_to, slack_seen, store_rows

ROLELESS = "U0AGENT02"  # in the workspace and in #deals, but not in the roles file below
ROLES = {
    "default_role": "none",
    "users": {"U0AGENT01": "agent", "U0BROKER1": "broker", "U0ADMIN01": "admin"},
    "ghl_users": {"U0AGENT01": "james.carter@example.com", "U0BROKER1": "maria.lopez@example.com"},
}
FORM = {
    "mls_id": {"mls_id": "PHX-77"}, "address": {"address": "900 N Central Ave"},
    "city": {"city": "Phoenix"}, "state": {"state": "AZ"}, "zip": {"zip": "85004"},
    "list_price": {"list_price": "$310,000"}, "deal_score": {"deal_score": "95"},
    "seller_contact": {"seller_contact": "seller@example.com"},
}  # fmt: skip


class GatedWork(Executor):
    """The bot's work pool, held shut: work after an ack waits until `release()`, so a test
    can change the roles file between the ack and the work."""

    def __init__(self, real: ThreadPoolExecutor) -> None:
        self.real = real
        self.pending: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []
        self._lock = threading.Lock()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        assert not kwargs
        with self._lock:
            self.pending.append((fn, args))
        return Future()

    def release(self) -> None:
        with self._lock:
            waiting, self.pending = self.pending, []
        for fn, args in waiting:
            self.real.submit(fn, *args)

    def shutdown(self, wait: bool = True, **kwargs: Any) -> None:
        self.release()
        self.real.shutdown(wait=wait)


def write_roles(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data), encoding="utf-8")


@pytest.fixture
def roles_file(tmp_path: Path) -> Path:
    path = tmp_path / "roles.json"
    write_roles(path, ROLES)
    return path


@pytest.fixture
def world(
    slack_fake: SlackFake, seeded_emulator: Emulator, engine: Engine, roles_file: Path
) -> Iterator[BotWorld]:
    """The bot over HTTP with `ROLES` (default role: none), on SQLite and on PostgreSQL."""
    built = build_bot_world(
        slack=slack_fake, emulator=seeded_emulator, engine=engine,
        DEALFINDER_ROLES_FILE=str(roles_file),
    )  # fmt: skip
    built.sync_buyers()
    yield built
    built.http.stop()
    built.finish()
    built.ghl.close()


def forged_add_form(world: BotWorld, *, user_id: str, metadata: str) -> bytes:
    """A `view_submission` of the add form nobody opened, signed with the app's secret."""
    config = world.slack.config
    view = blocks.add_form_view(private_metadata=metadata) | {
        "id": "V0FORGED1", "team_id": config.team_id, "app_id": config.app_id,
    }  # fmt: skip
    user = world.slack.store.workspace.users[user_id]
    payload = view_submission_payload(
        config=config, user=user, view=view,
        state_values=state_values(view, FORM), trigger_id="1.2.forged",
    )  # fmt: skip
    return form_body({"payload": json.dumps(payload)})


def deal_message(world: BotWorld, *buttons: dict[str, Any]) -> Message:
    posted = world.services.alerts.client.chat_postMessage(
        channel="C0DEALS", text="TPA-1001", blocks=[blocks.actions(*buttons)]
    )
    found = world.slack.find_message("C0DEALS", posted["ts"])
    assert found is not None
    return found


# -- forged, signed, role-less --------------------------------------------------------------


def test_a_forged_roleless_add_form_creates_nothing_and_is_refused(world: BotWorld) -> None:
    before_ghl, before_store = ghl_state(world), store_rows(world.engine)
    before_slack = slack_seen(world)
    body = forged_add_form(world, user_id=ROLELESS, metadata='{"channel_id": "C0DEALS"}')
    sent = world.driver.post_signed(body)
    assert sent.status == 200 and sent.json()["response_action"] == "errors"
    assert "Only team members can add deals" in sent.json()["errors"]["mls_id"]
    refusal = world.wait_for_ephemeral(ROLELESS, "Only team members can add deals")
    assert "you are not on the team list" in refusal.text
    world.finish()
    after = ghl_state(world)
    assert after == before_ghl  # no contact, opportunity, note, task or workflow enrolment
    assert after["enrolments"] == before_ghl["enrolments"]
    assert not [o for o in after["opportunities"] if o["name"].startswith("PHX-77")]
    assert store_rows(world.engine) == before_store
    assert slack_seen(world) == before_slack  # no #deals card
    told = said_to(world, ROLELESS)
    assert not any("created in GHL" in text for text in told), told
    assert len(told) == 1  # told once, privately


def test_the_same_form_from_a_team_member_does_create_the_deal(world: BotWorld) -> None:
    # The control for the test above: the forged body is a working request for an agent.
    sent = world.driver.post_signed(
        forged_add_form(world, user_id="U0AGENT01", metadata='{"channel_id": "C0DEALS"}')
    )
    assert sent.status == 200 and not sent.response.content
    world.wait_for_ephemeral("U0AGENT01", "PHX-77` created in GHL")
    assert [o for o in ghl_state(world)["opportunities"] if o["name"].startswith("PHX-77")]


BUTTONS = [
    (blocks.CLAIM, "Only team members can claim deals"),
    (blocks.NOTIFY, "Only brokers and admins can text buyers"),
    (blocks.NOTIFY_CONFIRM, "Only brokers and admins can text buyers"),
    (blocks.SKIP_DEAL, "Only brokers and admins can pass on deals"),
]


@pytest.mark.parametrize(("action_id", "refusal"), BUTTONS, ids=[b for b, _ in BUTTONS])
def test_a_roleless_click_does_nothing_and_is_refused(
    world: BotWorld, action_id: str, refusal: str
) -> None:
    world.add_deal("TPA-1001")  # hot: a card in #deals, a GHL opportunity, buyers to text
    message = deal_message(world, blocks.button("Do it", action_id, value="TPA-1001"))
    before_ghl, before_store = ghl_state(world), store_rows(world.engine)
    before_slack = slack_seen(world)
    click = world.driver.click_button(message, action_id, user_id=ROLELESS)
    assert click.acked_in_time and click.status == 200
    answer = world.wait_for_ephemeral(ROLELESS, refusal)
    assert "you are not on the team list" in answer.text
    world.finish()
    assert ghl_state(world) == before_ghl  # no assignment, no text, no enrolment
    assert store_rows(world.engine) == before_store
    assert slack_seen(world) == before_slack
    assert len(said_to(world, ROLELESS)) == 1


# -- a role taken away between the ack and the work -----------------------------------------


def open_form(world: BotWorld, user_id: str) -> dict[str, Any]:
    world.driver.slash_command(text="add", user_id=user_id)
    [view] = wait_for(lambda: world.slack.views(user_id), what="the add form")
    return view


def submit_form(world: BotWorld, user_id: str, view: dict[str, Any]) -> Any:
    return world.driver.submit_view(view, FORM, user_id=user_id)


def click(action_id: str) -> Callable[[BotWorld, str, Any], Any]:
    def clicked(world: BotWorld, user_id: str, message: Any) -> Any:
        return world.driver.click_button(message, action_id, user_id=user_id)

    return clicked


def typed(text: str) -> Callable[[BotWorld, str, Any], Any]:
    def sent(world: BotWorld, user_id: str, _: Any) -> Any:
        return world.driver.slash_command(text=text, user_id=user_id)

    return sent


# (what, who, how it is done after the setup, the refusal after the role is gone)
REMOVED = [
    ("add form", "U0AGENT01", submit_form, "Only team members can add deals"),
    ("claim", "U0AGENT01", click(blocks.CLAIM), "Only team members can claim deals"),
    ("confirm", "U0BROKER1", click(blocks.NOTIFY_CONFIRM), "Only brokers and admins can text"),
    ("/deal add", "U0AGENT01", typed("add TPA-9 | 1 Main St | Tampa | FL | 33611 | 200000 | 3 "
                                     "| 95 | s@example.com"), "Only team members can add deals"),
]  # fmt: skip


@pytest.mark.parametrize(("what", "user_id", "act", "refusal"), REMOVED,
                         ids=[r[0] for r in REMOVED])  # fmt: skip
def test_a_role_removed_between_ack_and_work_is_refused(
    world: BotWorld, roles_file: Path, what: str, user_id: str, act: Any, refusal: str
) -> None:
    if what == "add form":
        target: Any = open_form(world, user_id)
    else:
        world.add_deal("TPA-1001")
        target = deal_message(
            world, blocks.button("Claim", blocks.CLAIM, value="TPA-1001"),
            blocks.button("Confirm", blocks.NOTIFY_CONFIRM, value="TPA-1001"),
        )  # fmt: skip
    gate = GatedWork(world.services.work)
    world.services.work = gate  # type: ignore[assignment]
    before_ghl, before_store = ghl_state(world), store_rows(world.engine)
    before_slack = slack_seen(world)

    sent = act(world, user_id, target)
    assert sent.acked_in_time and sent.status == 200  # the ack saw the role
    wait_for(lambda: gate.pending, what="the work after the ack")
    write_roles(roles_file, ROLES | {"users": {"U0ADMIN01": "admin"}})  # the role is taken away
    gate.release()

    answer = world.wait_for_ephemeral(user_id, refusal)
    assert "you are not on the team list" in answer.text
    world.finish()
    assert ghl_state(world) == before_ghl
    assert store_rows(world.engine) == before_store
    assert slack_seen(world) == before_slack


# -- private_metadata that is not ours ------------------------------------------------------

TAMPERED = ["{not json", "[1, 2]", '"C0DEALS"', '{"channel_id": "<!channel>"}',
            '{"channel_id": 7}', '{"channel_id": "C0DEALS", "as_user": "U0ADMIN01"}',
            "{" * 5000]  # fmt: skip


@pytest.mark.parametrize("metadata", TAMPERED, ids=range(len(TAMPERED)))
def test_unreadable_private_metadata_is_told_and_creates_nothing(
    world: BotWorld, metadata: str
) -> None:
    before_ghl, before_store = ghl_state(world), store_rows(world.engine)
    sent = world.driver.post_signed(forged_add_form(world, user_id="U0AGENT01", metadata=metadata))
    assert sent.status == 200 and sent.json()["response_action"] == "errors"
    assert "could not be read" in sent.json()["errors"]["mls_id"]
    world.finish()
    told = said_to(world, "U0AGENT01")
    assert len(told) == 1 and "This form's data could not be read" in told[0], told
    assert world.slack.messages("D0AGENT01")  # a direct message: the channel is unknown
    assert ghl_state(world) == before_ghl
    assert store_rows(world.engine) == before_store


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        (None, {"channel_id": None}),
        ("", {"channel_id": None}),
        ("{}", {"channel_id": None}),
        ('{"channel_id": "C0DEALS"}', {"channel_id": "C0DEALS"}),
        ('{"channel_id": "D0AGENT01"}', {"channel_id": "D0AGENT01"}),
        ('{"channel_id": null}', {"channel_id": None}),
        *[(bad, None) for bad in TAMPERED],
    ],
)
def test_form_metadata_table(metadata: str | None, expected: dict[str, Any] | None) -> None:
    view = {} if metadata is None else {"private_metadata": metadata}
    assert form_metadata(view) == expected


# -- one mechanism, everywhere ----------------------------------------------------------------


def test_every_lazy_listener_declares_the_permission_it_checks_after_the_ack(
    world: BotWorld,
) -> None:
    declared = {}
    for listener in world.app._listeners:
        for lazy in listener.lazy_functions:
            assert hasattr(lazy, "permission"), f"{lazy.__name__} runs work without a recheck"
            declared[lazy.__name__] = lazy.permission
    assert declared["lazy_claim"] == "deal.claim"
    assert declared["lazy_notify"] == "deal.notify"
    assert declared["lazy_confirm"] == "deal.notify"
    assert declared["lazy_pass_deal"] == "deal.pass"
    assert declared["lazy_save_from_form"] == "deal.add"
    assert callable(declared["lazy_run_command"])
    assert declared["lazy_unfurl_links"] == "deal.show"  # checked in `unfurl_links` itself
    assert {k for k, v in declared.items() if v is NO_PERMISSION} == {
        "lazy_cancel",
        "lazy_tell_unknown",
        "lazy_open_home",  # publishes the opener's own tab, its content filtered by their role
    }


# -- the roles file, re-read when it changes ------------------------------------------------


def test_the_roles_file_is_re_read_when_it_changes(tmp_path: Path) -> None:
    path = tmp_path / "roles.json"
    write_roles(path, {"default_role": "none", "users": {"U1": "broker"}})
    directory = RoleDirectory.from_file(path)
    assert directory.role_of("U1") is Role.BROKER
    write_roles(path, {"default_role": "none", "users": {"U2": "agent"}})
    assert directory.role_of("U1") is Role.NONE
    assert directory.role_of("U2") is Role.AGENT
    path.write_text("{half saved", encoding="utf-8")  # keeps the last good roles, logged
    assert directory.role_of("U2") is Role.AGENT
    write_roles(
        path, {"default_role": "none", "users": {"U2": "admin"}, "ghl_users": {"U2": "A@x"}}
    )
    assert directory.role_of("U2") is Role.ADMIN and directory.ghl_email("U2") == "a@x"


# -- user groups: fresher members for the work than for the ack -----------------------------


class Ticks:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_member_taken_out_of_a_broker_group_is_refused_when_the_work_runs(
    world: BotWorld, roles_file: Path
) -> None:
    users = {"U0AGENT01": "agent", "U0ADMIN01": "admin"}  # U0BROKER1 is a broker by group only
    write_roles(roles_file, ROLES | {"users": users, "groups": {"S0BROKERS": "broker"}})
    ticks = Ticks()
    world.services.roles._clock = ticks
    world.add_deal("TPA-1001")
    message = deal_message(world, blocks.button("Confirm", blocks.NOTIFY_CONFIRM, value="TPA-1001"))
    gate = GatedWork(world.services.work)
    world.services.work = gate  # type: ignore[assignment]
    before_ghl, before_store = ghl_state(world), store_rows(world.engine)

    sent = world.driver.click_button(message, blocks.NOTIFY_CONFIRM, user_id="U0BROKER1")
    assert sent.acked_in_time
    wait_for(lambda: gate.pending, what="the work after the ack")
    world.slack.store.workspace.usergroups["S0BROKERS"] = UserGroup(
        "S0BROKERS", "brokers", "Brokers", users=[]
    )
    ticks.now += WORK_GROUP_MAX_AGE + 1  # the ack's lookup is older than the work accepts
    gate.release()

    answer = world.wait_for_ephemeral("U0BROKER1", "Only brokers and admins can text buyers")
    assert "you are not on the team list" in answer.text
    world.finish()
    assert ghl_state(world) == before_ghl and ghl_state(world)["messages"] == []
    assert store_rows(world.engine) == before_store


def test_the_work_reads_group_members_fresher_than_the_ack(slack_fake: SlackFake) -> None:
    ticks = Ticks()
    directory = RoleDirectory(
        parse_roles({"default_role": "none", "groups": {"S0BROKERS": "broker"}}),
        group_members=slack_group_members(WebClient(token=BOT_TOKEN, base_url=slack_fake.api_url)),
        clock=ticks,
    )
    assert directory.role_of("U0BROKER1") is Role.BROKER  # the ack's lookup
    slack_fake.store.workspace.usergroups["S0BROKERS"] = UserGroup(
        "S0BROKERS", "brokers", "Brokers", users=[]
    )
    ticks.now += WORK_GROUP_MAX_AGE - 1
    assert directory.role_of("U0BROKER1", max_age=WORK_GROUP_MAX_AGE) is Role.BROKER  # fresh
    ticks.now += 2
    assert directory.role_of("U0BROKER1") is Role.BROKER  # the ack keeps its 5 minutes
    assert directory.role_of("U0BROKER1", max_age=WORK_GROUP_MAX_AGE) is Role.NONE
    assert len(slack_fake.calls_to("usergroups.users.list")) == 2

    # Slack failing: the work does not ask again on every click, and keeps the last members.
    slack_fake.queue_fault("usergroups.users.list", "server_error", times=5)
    ticks.now += WORK_GROUP_MAX_AGE + 1
    for _ in range(3):
        assert directory.role_of("U0BROKER1", max_age=WORK_GROUP_MAX_AGE) is Role.NONE
    assert len(slack_fake.calls_to("usergroups.users.list")) == 3


@pytest.mark.parametrize("text", ["show TPA-1001", "add", "notify TPA-1001", "hot"])
def test_a_roleless_command_is_refused_once_in_the_ack_and_does_nothing(
    world: BotWorld, text: str
) -> None:
    world.add_deal("TPA-1001")
    before_ghl, before_slack = ghl_state(world), slack_seen(world)
    sent = world.driver.slash_command(text=text, user_id=ROLELESS)
    assert sent.acked_in_time and "you are not on the team list" in sent.json()["text"]
    world.finish()
    assert [m.via for m in world.ephemerals(ROLELESS)] == ["ack"]  # not told twice
    assert world.slack.views(ROLELESS) == []  # no add form opened
    assert ghl_state(world) == before_ghl and slack_seen(world) == before_slack
