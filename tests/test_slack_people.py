"""People by email (issue 15): the matching policy, the `people_refresh` job on SQLite and
PostgreSQL (time from freezegun), `/deal whoami` through signed requests, and Claim acting as
the GHL user the email match found."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from freezegun import freeze_time
from slack_sdk import WebClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.ops.jobs import OpsContext, build_job_specs
from bot.ops.people_refresh import JOB_PEOPLE, run_people_refresh
from bot.slack import blocks
from bot.slack.people import choose_ghl_email, match_by_email
from ghl.client import GHLClient
from ghl.models import User
from sandbox.ghl_emulator import DEFAULT_TOKEN, DEMO_LOCATION_ID, Emulator
from sandbox.slack_fake import BOT_TOKEN, FakeConfig, SlackFake
from store.models_people import PersonLink
from tests.fixtures.bot import BotWorld
from tests.fixtures.people import ghl_user_id, hot_card, opportunity


def ghl_user(user_id: str, email: str | None, name: str = "") -> User:
    return User.model_validate({"id": user_id, "email": email, "name": name or None})


@pytest.mark.parametrize(
    ("slack_ids", "users", "expected"),
    [
        ({"a@x.com": "U1"}, [ghl_user("g1", "A@X.com ")], [("U1", "a@x.com", "g1")]),
        ({"a@x.com": None}, [ghl_user("g1", "a@x.com")], []),  # nobody in Slack
        ({}, [ghl_user("g1", None)], []),  # a GHL user without an email
        ({"a@x.com": "U1", "b@x.com": "U2"},
         [ghl_user("g1", "a@x.com"), ghl_user("g2", "b@x.com")],
         [("U1", "a@x.com", "g1"), ("U2", "b@x.com", "g2")]),
        # One Slack user found for two GHL emails (Slack aliases): the first GHL user keeps it.
        ({"a@x.com": "U1", "b@x.com": "U1"},
         [ghl_user("g1", "a@x.com"), ghl_user("g2", "b@x.com")], [("U1", "a@x.com", "g1")]),
    ],
)  # fmt: skip
def test_match_by_email(
    slack_ids: dict[str, str | None], users: list[User], expected: list[tuple[str, str, str]]
) -> None:
    found = match_by_email(slack_ids=slack_ids, ghl_users=users)
    assert [(m.slack_user_id, m.email, m.ghl_user_id) for m in found] == expected


@pytest.mark.parametrize(
    ("override", "matched", "expected"),
    [
        ("Maria@X.com", "james@x.com", ("maria@x.com", "override")),  # the file wins
        (None, "James@x.com", ("james@x.com", "email")),
        (None, None, (None, None)),
        ("", None, (None, None)),
    ],
)
def test_the_roles_file_overrides_the_email_match(
    override: str | None, matched: str | None, expected: tuple[str | None, str | None]
) -> None:
    assert choose_ghl_email(override=override, matched=matched) == expected


# -- the refresh job ----------------------------------------------------------------------


@pytest.fixture
def people_parts(
    slack_fake: SlackFake, seeded_emulator: Emulator
) -> Iterator[tuple[WebClient, GHLClient]]:
    maria = slack_fake.store.workspace.users["U0BROKER1"]
    slack_fake.add_user(replace(maria, email="maria.lopez@example.com"))
    ghl = GHLClient(token=DEFAULT_TOKEN, location_id=DEMO_LOCATION_ID,
                    base_url=seeded_emulator.url, sleep=lambda s: None)  # fmt: skip
    yield WebClient(token=BOT_TOKEN, base_url=slack_fake.api_url), ghl
    ghl.close()


def links(engine: Engine) -> dict[str, PersonLink]:
    with Session(engine) as session:
        return {row.slack_user_id: row for row in session.exec(select(PersonLink)).all()}


def test_the_refresh_job_keeps_matches_current(
    people_parts: tuple[WebClient, GHLClient], slack_fake: SlackFake, engine: Engine
) -> None:
    slack, ghl = people_parts
    with freeze_time("2027-03-01 09:00:00"):
        report = run_people_refresh(slack=slack, ghl=ghl, engine=engine, now=datetime.now(UTC))
    assert report.matched == ["U0BROKER1"] and report.problem is None
    assert "james.carter@example.com" in report.unmatched_emails
    [maria] = links(engine).values()
    assert (maria.email, maria.ghl_name) == ("maria.lopez@example.com", "Maria Lopez")
    assert maria.refreshed_at == datetime(2027, 3, 1, 9, tzinfo=UTC)

    # An hour later Maria changed her Slack email and James took his GHL one: the next run
    # moves the match, and forgets Maria's.
    slack_fake.add_user(replace(slack_fake.store.workspace.users["U0BROKER1"],
                                email="maria@elsewhere.example"))  # fmt: skip
    slack_fake.add_user(replace(slack_fake.store.workspace.users["U0AGENT01"],
                                email="JAMES.CARTER@example.com"))  # fmt: skip
    with freeze_time("2027-03-01 10:00:00"):
        report = run_people_refresh(slack=slack, ghl=ghl, engine=engine, now=datetime.now(UTC))
    assert report.matched == ["U0AGENT01"] and report.removed == 1
    [james] = links(engine).values()
    assert james.slack_user_id == "U0AGENT01" and james.ghl_name == "James Carter"
    assert james.refreshed_at == datetime(2027, 3, 1, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    "slack_fake_config", [FakeConfig(bot_scopes=frozenset({"commands", "users:read"}))]
)
def test_without_the_email_scope_the_refresh_says_so_and_keeps_the_last_matches(
    people_parts: tuple[WebClient, GHLClient], slack_fake: SlackFake, sqlite_engine: Engine
) -> None:
    slack, ghl = people_parts
    slack_fake.expect_rejection("missing_scope", method="users.lookupByEmail")
    with Session(sqlite_engine) as session:
        session.add(PersonLink(slack_user_id="U0AGENT01", email="james.carter@example.com",
                               ghl_user_id="g-james"))  # fmt: skip
        session.commit()
    report = run_people_refresh(slack=slack, ghl=ghl, engine=sqlite_engine, now=datetime.now(UTC))
    assert report.problem is not None and "users:read.email" in report.problem
    assert list(links(sqlite_engine)) == ["U0AGENT01"]  # not forgotten
    # users.info still answers, without the email Slack shows only with that scope.
    profile = slack.users_info(user="U0BROKER1")["user"]["profile"]
    assert "email" not in profile and profile["real_name"] == "Dana Broker"


def test_the_job_is_registered_when_the_process_has_slack(
    people_parts: tuple[WebClient, GHLClient], sqlite_engine: Engine
) -> None:
    from datetime import timedelta

    slack, ghl = people_parts
    base = dict(engine=sqlite_engine, client=ghl, config=None, rules=None, handlers=None,
                post_ops=lambda text: True, polling="off")  # fmt: skip
    with_slack = build_job_specs(OpsContext(**base, slack_client=slack,  # type: ignore[arg-type]
                                            people_interval=timedelta(minutes=30)))  # fmt: skip
    [spec] = [s for s in with_slack if s.id == JOB_PEOPLE]
    assert spec.every == timedelta(minutes=30) and spec.run_when_first_scheduled
    without = build_job_specs(OpsContext(**base))  # type: ignore[arg-type]
    assert JOB_PEOPLE not in {s.id for s in without}


# -- /deal whoami and Claim, through signed requests ------------------------------------------


def test_whoami_names_the_ghl_user_matched_by_email(people_world: BotWorld) -> None:
    world = people_world
    sent = world.driver.slash_command(text="whoami", user_id="U0AGENT01")
    assert sent.acked_in_time
    answer = world.wait_for_ephemeral("U0AGENT01", "In GHL you are James Carter")
    james = ghl_user_id(world, "james.carter@example.com")
    assert f"james.carter@example.com, GHL user id `{james}`" in answer.text
    assert "your Slack email is this GHL user's email" in answer.text
    assert "*Role:* an agent" in answer.text and "move deals between stages" in answer.text
    assert "reassign deals" not in answer.text  # brokers only


def test_whoami_shows_a_roles_file_override_and_broker_powers(people_world: BotWorld) -> None:
    world = people_world
    world.driver.slash_command(text="whoami", user_id="U0ADMIN01")
    answer = world.wait_for_ephemeral("U0ADMIN01", "In GHL you are Priya Shah")
    assert "the roles file's `ghl_users` names this GHL user" in answer.text
    assert "reassign deals" in answer.text and "mark deals won or lost" in answer.text


def test_whoami_takes_the_role_from_a_slack_user_group(people_world: BotWorld) -> None:
    world = people_world  # U0BROKER1 is named nowhere in the roles file but its S0BROKERS group
    world.driver.slash_command(text="whoami", user_id="U0BROKER1")
    answer = world.wait_for_ephemeral("U0BROKER1", "In GHL you are Maria Lopez")
    assert "*Role:* a broker" in answer.text and "reassign deals" in answer.text


def test_whoami_without_a_ghl_match_says_how_to_fix_it(people_world: BotWorld) -> None:
    world = people_world
    world.driver.slash_command(text="whoami", user_id="U0AGENT02")
    answer = world.wait_for_ephemeral("U0AGENT02", "does not know which GHL user that is")
    assert "your Slack email (bea@dealfinder.example) is not the email of any GHL user" in (
        answer.text
    )
    assert "same email in Slack and in GHL" in answer.text
    assert "`ghl_users` in the roles file (DEALFINDER_ROLES_FILE)" in answer.text
    # Arguments are a usage error, answered in the ack.
    world.driver.slash_command(text="whoami please", user_id="U0AGENT02")
    world.wait_for_ephemeral("U0AGENT02", "/deal whoami takes no arguments")


def test_claim_acts_as_the_ghl_user_matched_by_email(people_world: BotWorld) -> None:
    world = people_world
    card = hot_card(world)
    world.driver.click_button(card, blocks.CLAIM, user_id="U0AGENT01")
    world.wait_for_ephemeral("U0AGENT01", "You claimed `TPA-1001`")
    assert opportunity(world).assigned_to == ghl_user_id(world, "james.carter@example.com")  # type: ignore[attr-defined]
