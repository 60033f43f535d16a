"""`dealfinder notify` through typer's CliRunner, with the environment pointing at a test store
and the GHL emulator; the wall clock is frozen with freezegun."""

from __future__ import annotations

import json

import pytest
import typer
from freezegun import freeze_time
from typer.testing import CliRunner

from bot.cli.notify import register
from sandbox.ghl_emulator import DEFAULT_TOKEN, DEMO_LOCATION_ID
from store.db import session_scope
from store.deals import upsert_property

WHEN = "2027-01-15 14:00:00"  # 09:00 in New York, 06:00 in Los Angeles


@pytest.fixture
def cli():
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """DealFinder (test)."""

    register(app)
    return app


@pytest.fixture
def setup(notify_world, sqlite_url):
    world = notify_world
    world.at(WHEN)
    people = {
        "now": world.add_buyer(first_name="Nia", area_code="212"),
        "later": world.add_buyer(first_name="Lou", area_code="310"),
        "never": world.add_buyer(first_name="Ned", tags=("active_buyer",)),
    }
    with session_scope(world.engine) as session:
        upsert_property(
            session=session,
            mls_id="MLS1",
            location_id=DEMO_LOCATION_ID,
            deal_score=92,
            data={
                "address": "12 Oak St",
                "city": "Tampa",
                "state": "FL",
                "zip": "33602",
                "list_price": 245000,
                "property_type": "single_family",
                "beds": 3,
            },
        )
    env = {
        "DATABASE_URL": sqlite_url,
        "GHL_BASE_URL": world.emulator.url,
        "GHL_API_KEY": DEFAULT_TOKEN,
        "GHL_LOCATION_ID": DEMO_LOCATION_ID,
        "GHL_RATE_BACKEND": "memory",
        "DEALFINDER_LOG_LEVEL": "WARNING",
    }
    return world, people, env


def run(cli, env, *args):
    with freeze_time(WHEN):
        return CliRunner().invoke(cli, ["notify", "--mls-id", "MLS1", *args], env=env)


def test_dry_run_prints_the_three_groups_and_sends_nothing(cli, setup):
    world, people, env = setup
    result = run(cli, env, "--dry-run")
    assert result.exit_code == 0, result.output
    out = result.output
    # The conclusion first, then the details, each cause in plain words on the buyer's clock.
    first = out.splitlines()[0]
    assert first.startswith("MLS MLS1: 1 will be texted now, 1 later, 1 not (3 matched buyer(s)")
    now_part, rest = out.split("Later (1):")
    deferred_part, excluded_part = rest.split("Not texted (1):")
    assert "Texted now (1):" in now_part and people["now"] in now_part
    assert "9:00 AM EST their time" in now_part
    assert people["later"] in deferred_part
    assert (
        "- later: quiet hours (texts 8:00 AM–9:00 PM their time) — next at 8:00 AM PST today "
        "(2027-01-15 16:00 UTC)" in deferred_part
    )
    assert people["never"] in excluded_part
    assert "- has not agreed to texts: no SMS consent tag (sms_opt_in) in GHL" in excluded_part
    assert "no_opt_in" not in out
    assert "Dry run: nothing was queued or sent." in out
    assert world.texts() == [] and world.items() == []


def test_dry_run_json(cli, setup):
    _, people, env = setup
    result = run(cli, env, "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    groups = data["groups"]
    assert [e["contact_id"] for e in groups["send_now"]] == [people["now"]]
    assert groups["deferred"][0]["send_at_utc"] == "2027-01-15T16:00:00+00:00"
    assert groups["excluded"][0]["code"] == "no_opt_in"
    assert data["dry_run"] is True


def test_without_dry_run_it_queues_and_sends_what_is_due(cli, setup):
    world, people, env = setup
    result = run(cli, env)
    assert result.exit_code == 0, result.output
    assert "Texts sent now: 1; GHL follow-ups done: 4." in result.output
    assert [m.contact_id for m in world.texts()] == [people["now"]]
    assert world.item(people["later"], "MLS1").status == "deferred"
    assert world.item(people["never"], "MLS1").status == "excluded"
    again = run(cli, env)  # the same property again: nobody is texted twice
    assert "Already texted or queued (3):" in again.output
    assert len(world.texts()) == 1


def test_an_unknown_property_is_a_clear_error(cli, setup):
    _, _, env = setup
    with freeze_time(WHEN):
        result = CliRunner().invoke(cli, ["notify", "--mls-id", "NOPE", "--dry-run"], env=env)
    assert result.exit_code == 1
    assert "No property NOPE in the store" in result.output
