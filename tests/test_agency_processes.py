"""Three `dealfinder worker --agency` processes share four GHL locations on PostgreSQL (issue
14): one is SIGKILLed mid-import, its locations move to the others within a minute, and every
property of every location ends up done exactly once in GHL (the emulator, over HTTP) — and
every hot deal has exactly one card in Slack (the fake, over HTTP) per location, naming it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import select

from sandbox.ghl_emulator.oauth_state import InstallChoice
from sandbox.slack_fake import BOT_TOKEN
from sandbox.slack_fake.state import Channel
from services.intake.queue import submit_properties
from store.db import session_scope
from store.location_leases import lease_holders
from store.locations import update_location
from store.models import OutboxItem, OutboxStatus
from tests.fixtures.pipeline import property_rows
from tests.oauth_world import OAuthWorld

ROOT = Path(__file__).resolve().parents[1]
LOCATIONS = ("loc_1", "loc_2", "loc_3", "loc_4")
PER_LOCATION = 10
LEASE_SECONDS = 3


def _env(world: OAuthWorld, slack_api_url: str) -> dict[str, str]:
    prefixes = ("GHL_", "DEALFINDER_", "SLACK_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    settings = world.settings
    return env | {
        "PYTHONPATH": str(ROOT),
        "GHL_BASE_URL": settings.ghl_base_url,
        "GHL_CLIENT_ID": settings.ghl_client_id or "",
        "GHL_CLIENT_SECRET": settings.ghl_client_secret.get_secret_value(),  # type: ignore[union-attr]
        "GHL_APP_REDIRECT_URL": settings.ghl_app_redirect_url or "",
        "DEALFINDER_SECRET_KEY": world.key,
        "DATABASE_URL": settings.database_url,
        "GHL_RATE_BACKEND": "database",
        "GHL_MAX_RETRIES": "2",
        "DEALFINDER_LEASE_SECONDS": str(LEASE_SECONDS),
        "DEALFINDER_LOG_LEVEL": "WARNING",
        # with Slack: each location posts its hot deals' cards in its own channel
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_API_URL": slack_api_url,
    }


def _worker(env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "bot.cli.main", "worker", "--agency"],
            env=env, cwd=ROOT, stdout=out, stderr=out,
        )  # fmt: skip


def _sent(engine) -> int:
    with session_scope(engine, readonly=True) as session:
        items = session.exec(select(OutboxItem).where(OutboxItem.kind == "intake")).all()
        return sum(item.status == OutboxStatus.SENT for item in items)


def _until(condition, what: str, timeout: float) -> float:
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < timeout, f"timed out waiting for {what}"
        time.sleep(0.05)
    return time.monotonic() - start


@pytest.mark.slow
def test_a_killed_worker_s_locations_finish_elsewhere_with_nothing_done_twice(
    make_emulator, slack_fake, pg_url, tmp_path
):
    emulator = make_emulator(burst_max=100_000, burst_interval_ms=1_000)
    for location_id in LOCATIONS:
        emulator.seed_demo(buyers=3, seed=1, location_id=location_id)
    emulator.state.oauth.choice = InstallChoice(
        user_type="Company", company_id="comp_1", locations=LOCATIONS
    )
    world = OAuthWorld.build(emulator=emulator, db_url=pg_url)
    workers: list[subprocess.Popen] = []
    try:
        assert world.install().status_code == 200
        with session_scope(world.engine) as session:
            for location_id in LOCATIONS:
                channel = _channel(location_id)
                slack_fake.add_channel(
                    Channel(channel, channel.lower(), members={slack_fake.config.bot_user_id})
                )
                update_location(
                    session=session, location_id=location_id,
                    settings={"channels": {"deals": channel}},
                )  # fmt: skip
        rows = property_rows(PER_LOCATION)
        for location_id in LOCATIONS:
            submit_properties(rows, engine=world.engine, location_id=location_id)
        env, log = _env(world, slack_fake.api_url), tmp_path / "workers.log"
        workers = [_worker(env, log) for _ in range(3)]
        total = PER_LOCATION * len(LOCATIONS)

        # Mid-import: every location is held and some deals are made, far from all.
        _until(lambda: None not in lease_holders(world.engine, now=datetime.now(UTC)).values()
               and len(lease_holders(world.engine, now=datetime.now(UTC))) == 4
               and len(emulator.state.opportunities) >= 6, "the import to start", 60)  # fmt: skip
        holders = lease_holders(world.engine, now=datetime.now(UTC))
        victim_pid = Counter(holders.values()).most_common(1)[0][0]
        victim = next(w for w in workers if f":{w.pid}:" in victim_pid)
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)
        done_at_kill = _sent(world.engine)
        assert done_at_kill < total, "the import ended before the kill"
        orphans = [loc for loc, holder in holders.items() if holder == victim_pid]

        def moved() -> bool:
            now = lease_holders(world.engine, now=datetime.now(UTC))
            return all(now.get(loc) not in (None, victim_pid) for loc in orphans)

        failover = _until(moved, "the killed worker's locations to move", 60)
        _until(lambda: _sent(world.engine) == total, "every location to finish", 120)
        hot = [r["mls_id"] for r in rows if r["deal_score"] >= 90]
        _until(lambda: len(_cards(slack_fake)) >= len(hot) * len(LOCATIONS), "the cards", 60)
        for worker in workers:
            if worker is not victim:
                worker.send_signal(signal.SIGTERM)
        assert [w.wait(timeout=60) for w in workers if w is not victim] == [0, 0], log.read_text()[
            -3000:
        ]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
        world.close()

    assert failover < 60
    state = emulator.state
    for location_id in LOCATIONS:
        contacts = {c.id for c in state.contacts.values() if c.location_id == location_id}
        deals = Counter(o.name.split(" — ")[0] for o in state.opportunities.values()
                        if o.location_id == location_id)  # fmt: skip
        assert deals == Counter({r["mls_id"]: 1 for r in rows}), (location_id, done_at_kill)
        notes = Counter(n.body.splitlines()[0] for n in state.notes.values()
                        if n.contact_id in contacts)  # fmt: skip
        assert len(notes) == PER_LOCATION and set(notes.values()) == {1}, location_id
        tasks = Counter((t.contact_id, t.title) for t in state.tasks.values()
                        if t.contact_id in contacts)  # fmt: skip
        assert set(tasks.values()) <= {1}, location_id
    # One card per hot deal per location, each naming its location: none lost, none twice.
    cards = _cards(slack_fake)
    assert sorted(cards) == sorted((loc, mls) for loc in LOCATIONS for mls in hot), cards


def _channel(location_id: str) -> str:
    return f"C0DEALS{location_id[-1]}"


def _cards(slack_fake) -> list[tuple[str, str]]:
    """(location, MLS id) of each card in the locations' channels; a card's location is the
    one it names, and it must be posted in that location's own channel."""
    found = []
    for channel in map(_channel, LOCATIONS):
        for message in slack_fake.messages(channel):
            blocks = json.dumps(message.blocks or [])
            [location] = [loc for loc in LOCATIONS if f"({loc})" in blocks or f": {loc}" in blocks]
            assert _channel(location) == channel, (location, channel)
            [mls_id] = {b["block_id"].removeprefix("deal:") for b in message.blocks or []
                        if str(b.get("block_id", "")).startswith("deal:")}  # fmt: skip
            found.append((location, mls_id))
    return found
