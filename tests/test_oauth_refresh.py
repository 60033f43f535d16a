"""OAuth tokens after the install: renewed before they expire, renewed once on a 401, one
refresh for many threads, and a refresh whose answer is lost after GHL rotated the tokens:
that location is marked "needs re-install", #ops-alerts is told once, nothing crashes and the
other location carries on. Over real HTTP against the emulator, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time
from slack_sdk import WebClient

from ghl.auth import GHLReinstallNeeded
from ghl.errors import GHLAuthError
from ghl.oauth import GHLOAuthError
from ghl.redact import RedactingFilter
from sandbox.ghl_emulator.oauth_state import InstallChoice
from sandbox.slack_fake import BOT_TOKEN
from store.models_oauth import GrantStatus
from tests.oauth_world import OAuthWorld

TWO = "loc_two"


@pytest.fixture
def world(seeded_emulator, db_url, slack_fake, slack_api_url) -> Iterator[OAuthWorld]:
    """Two locations installed through the app: loc_demo and loc_two."""
    seeded_emulator.state.ensure_location(TWO)
    web = WebClient(token=BOT_TOKEN, base_url=slack_api_url)
    built = OAuthWorld.build(emulator=seeded_emulator, db_url=db_url, web_client=web)
    for location_id in ("loc_demo", TWO):
        seeded_emulator.state.oauth.choice = InstallChoice(location_id=location_id)
        assert built.install().status_code == 200
    yield built
    built.close()


def ops_messages(slack_fake) -> list[str]:
    return [m.text for m in slack_fake.messages("C0OPS")]


def stored_access(world: OAuthWorld, location_id: str) -> str:
    record = world.parts.vault.read(location_id)
    assert record is not None
    return record.access_token


def test_a_401_for_an_expired_token_renews_once_and_repeats_the_call(world):
    client = world.client("loc_demo")
    assert client.locations.get().id == "loc_demo"
    old = stored_access(world, "loc_demo")
    world.emulator.state.oauth.expire(old)  # GHL's clock ran ahead of ours

    assert client.locations.get().id == "loc_demo"

    assert world.emulator.count("GET", "/locations/{locationId}", 401) == 1
    assert world.emulator.state.oauth.count("refresh_token", "200") == 1
    assert stored_access(world, "loc_demo") != old


def test_a_refused_token_that_a_refresh_cannot_fix_is_not_retried_forever(world):
    client = world.client("loc_demo")
    client.locations.get()
    # Both the new and the old token refused: one renewal, one repeat, then the 401 stands.
    world.emulator.state.oauth.access_seconds = 0
    world.emulator.state.oauth.expire()
    with pytest.raises(GHLAuthError) as refused:
        client.locations.get()
    assert refused.value.status == 401 and not isinstance(refused.value, GHLReinstallNeeded)
    # One renewal after the 401, one more before the repeat (the new token expires at once);
    # one repeat, then the 401 stands: no loop.
    assert world.emulator.state.oauth.count("refresh_token") == 2
    assert world.emulator.count("GET", "/locations/{locationId}", 401) == 2


def test_tokens_are_renewed_before_they_expire(world):
    client = world.client("loc_demo")
    client.locations.get()
    with freeze_time(datetime.now(UTC) + timedelta(hours=23, minutes=57), tick=True):
        assert client.locations.get().id == "loc_demo"
    assert world.emulator.count("GET", "/locations/{locationId}", 401) == 0
    assert world.emulator.state.oauth.count("refresh_token", "200") == 1


def test_many_threads_with_an_expiring_token_refresh_once(world):
    client = world.client("loc_demo")
    with (
        freeze_time(datetime.now(UTC) + timedelta(hours=23, minutes=58), tick=True),
        ThreadPoolExecutor(8) as pool,
    ):
        found = list(pool.map(lambda _: client.locations.get().id, range(16)))
    assert found == ["loc_demo"] * 16
    assert world.emulator.state.oauth.count("refresh_token") == 1


def test_a_lost_refresh_answer_marks_the_location_alerts_once_and_spares_the_other(
    world, slack_fake
):
    client = world.client("loc_demo")
    world.emulator.queue_fault("POST", "/oauth/token", "drop_after_commit")
    world.emulator.state.oauth.expire(stored_access(world, "loc_demo"))

    with pytest.raises(GHLReinstallNeeded, match="re-install at location loc_demo"):
        client.locations.get()
    with pytest.raises(GHLReinstallNeeded):  # and again, without asking GHL or alerting
        client.locations.get()

    oauth = world.emulator.state.oauth
    # The lost answer, then the same refresh token once more, which GHL had already rotated.
    assert oauth.count("refresh_token", "200") == 1 and oauth.count("refresh_token", "400") == 1
    assert world.parts.vault.status_of("loc_demo") == GrantStatus.NEEDS_REINSTALL
    alerts = [t for t in ops_messages(slack_fake) if "re-install" in t]
    assert len(alerts) == 1 and "loc_demo" in alerts[0] and "/ghl/install" in alerts[0]
    assert world.client(TWO).locations.get().id == TWO
    assert world.parts.vault.status_of(TWO) == GrantStatus.ACTIVE


def test_a_refresh_lost_before_ghl_acted_is_recovered_with_the_same_refresh_token(world):
    client = world.client("loc_demo")
    world.emulator.queue_fault("POST", "/oauth/token", "drop")
    world.emulator.state.oauth.expire(stored_access(world, "loc_demo"))

    assert client.locations.get().id == "loc_demo"

    assert world.emulator.state.oauth.count("refresh_token", "200") == 1
    assert world.parts.vault.status_of("loc_demo") == GrantStatus.ACTIVE


def test_a_company_location_whose_token_expires_is_minted_again(world):
    emulator = world.emulator
    emulator.state.ensure_location("loc_c")
    emulator.state.oauth.choice = InstallChoice(
        user_type="Company", company_id="comp_9", locations=("loc_c",)
    )
    assert world.install().status_code == 200
    client = world.client("loc_c")
    client.locations.get()
    emulator.state.oauth.expire(stored_access(world, "loc_c"))

    assert client.locations.get().id == "loc_c"

    assert emulator.state.oauth.count("location_token", "200") == 2
    assert emulator.state.oauth.count("refresh_token") == 0  # the company token was still good


def test_no_token_reaches_a_log_line(world, slack_fake):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())  # what `bot.logs.configure_logging` installs
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        world.emulator.state.ensure_location("loc_three")
        world.emulator.state.oauth.choice = InstallChoice(location_id="loc_three")
        world.install()
        client = world.client("loc_demo")
        world.emulator.state.oauth.expire(stored_access(world, "loc_demo"))
        client.locations.get()  # 401, refresh, repeat
        world.emulator.queue_fault("POST", "/oauth/token", "drop_after_commit")
        world.emulator.state.oauth.expire(stored_access(world, "loc_demo"))
        with pytest.raises(GHLReinstallNeeded):
            client.locations.get()
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)
    logged = stream.getvalue()
    oauth = world.emulator.state.oauth
    secrets = list(oauth.access) + list(oauth.refresh) + list(oauth.used_refresh)
    secrets.append(world.settings.ghl_client_secret.get_secret_value())
    assert len(secrets) >= 6
    assert "loc_demo" in logged and "renew" in logged  # the log did see this work
    leaked = [s for s in secrets if s in logged]
    assert leaked == []


def test_a_5xx_from_the_token_endpoint_is_asked_again_and_recovers(world):
    world.emulator.queue_fault("POST", "/oauth/token", "server_error", status=502)
    world.emulator.state.oauth.expire(stored_access(world, "loc_demo"))

    assert world.client("loc_demo").locations.get().id == "loc_demo"

    assert world.emulator.state.oauth.count("refresh_token", "200") == 1
    assert world.parts.vault.status_of("loc_demo") == GrantStatus.ACTIVE


def test_ghl_refusing_the_apps_own_credentials_marks_no_location(world, slack_fake):
    world.emulator.state.oauth.apps["emu-client-id"] = "rotated-in-ghl"  # secret changed there
    world.emulator.state.oauth.expire(stored_access(world, "loc_demo"))

    with pytest.raises(GHLOAuthError) as refused:
        world.client("loc_demo").locations.get()

    assert refused.value.status == 401
    assert world.parts.vault.status_of("loc_demo") == GrantStatus.ACTIVE
    assert [t for t in ops_messages(slack_fake) if "re-install" in t] == []
