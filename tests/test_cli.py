"""The `dealfinder` command as a user runs it: a real subprocess, real settings from the
environment, the GHL emulator over HTTP. Errors end with a message and an exit code, never a
traceback; secrets are never echoed."""

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from sandbox.ghl_emulator import DEFAULT_TOKEN, DEMO_LOCATION_ID

pytestmark = pytest.mark.slow  # the CLI in subprocesses

EXE = Path(sys.executable).with_name("dealfinder")


def run(args, *, env=None, cwd, timeout=120):
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GHL_", "SLACK_", "DEALFINDER_", "DATABASE_URL", "REDIS_URL"))
    }
    base.update(env or {})
    return subprocess.run(
        [str(EXE), *args],
        env=base,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def assert_no_traceback(result):
    assert "Traceback" not in result.stdout + result.stderr, result.stderr


@pytest.fixture
def ghl_env(make_emulator, tmp_path):
    emulator = make_emulator()
    emulator.seed_demo(buyers=60, seed=2)
    return emulator, {
        "GHL_API_KEY": DEFAULT_TOKEN,
        "GHL_LOCATION_ID": DEMO_LOCATION_ID,
        "GHL_BASE_URL": emulator.url,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'df.db'}",
    }


def test_help_lists_the_commands(tmp_path):
    result = run(["--help"], cwd=tmp_path)
    assert result.returncode == 0
    for command in ("demo", "emulator", "health", "match", "sync-buyers"):
        assert command in result.stdout


def test_without_credentials_the_missing_settings_are_named(tmp_path):
    result = run(["health"], cwd=tmp_path)
    assert result.returncode == 2
    assert (
        "GHL_API_KEY is not set" in result.stderr and "GHL_LOCATION_ID is not set" in result.stderr
    )
    assert_no_traceback(result)


def test_malformed_setting_is_named(tmp_path):
    result = run(["health"], env={"GHL_BASE_URL": "not-a-url"}, cwd=tmp_path)
    assert result.returncode == 2 and "GHL_BASE_URL" in result.stderr
    assert_no_traceback(result)


def test_dry_run_needs_no_credentials_and_no_network(tmp_path):
    result = run(["health"], env={"DEALFINDER_DRY_RUN": "1"}, cwd=tmp_path)
    assert result.returncode == 0 and "HEALTHY" in result.stdout
    assert "dry-run GHL GET /locations/" in result.stderr  # each call is logged


def test_health_against_ghl(ghl_env, tmp_path):
    _emulator, env = ghl_env
    result = run(["health", "--json"], env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["state"] == "healthy" and report["burst_max"] == 100


def test_a_wrong_token_names_the_setting_and_is_not_echoed(ghl_env, tmp_path):
    _emulator, env = ghl_env
    env = {**env, "GHL_API_KEY": "pit-0000aaaa-1111-2222-3333-444455556666"}
    result = run(["health"], env=env, cwd=tmp_path)
    assert result.returncode == 2 and "GHL_API_KEY" in result.stdout
    assert result.stderr.strip().splitlines()[-1].startswith("GHL rejected the token (401")
    assert "pit-0000aaaa" not in result.stdout + result.stderr


def test_sync_then_match_a_property_file(ghl_env, tmp_path):
    _emulator, env = ghl_env
    synced = run(["sync-buyers"], env=env, cwd=tmp_path)
    assert synced.returncode == 0, synced.stderr
    assert "synced 60 buyers (1 pages, full)" in synced.stdout
    assert "kept out of matching" in synced.stdout  # the demo's bad records, with reasons
    prop = tmp_path / "p.json"
    prop.write_text(
        json.dumps(
            {
                "mls_id": "TPA-1",
                "address": "1 Bay St",
                "city": "Tampa",
                "state": "FL",
                "zip": "33611",
                "list_price": 250000,
                "property_type": "single_family",
                "beds": 3,
            }
        )
    )
    result = run(["match", "--file", str(prop), "--json", "--limit", "5"], env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["total"] >= 1 and 1 <= len(data["matches"]) <= 5 and data["stale"] is False
    top = data["matches"][0]
    assert top["score"] == sum(c["points"] for c in top["components"].values())
    table = run(["match", "--file", str(prop)], env=env, cwd=tmp_path)
    assert table.returncode == 0 and "buyers synced" in table.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["match"], "exactly one of --mls-id"),
        (["match", "--mls-id", "NOPE-1"], "No analysed property with MLS id 'NOPE-1'"),
        (["match", "--file", "missing.json"], "Cannot read missing.json"),
    ],
)
def test_match_bad_input_gets_a_clear_error(ghl_env, tmp_path, args, message):
    _emulator, env = ghl_env
    result = run(args, env=env, cwd=tmp_path)
    assert result.returncode == 1 and message in result.stderr
    assert_no_traceback(result)


def test_match_file_without_a_price(ghl_env, tmp_path):
    _emulator, env = ghl_env
    prop = tmp_path / "p.json"
    prop.write_text(json.dumps({"mls_id": "X1", "city": "Tampa"}))
    result = run(["match", "--file", str(prop)], env=env, cwd=tmp_path)
    assert result.returncode == 1 and "has no list_price" in result.stderr


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_emulator_command_serves_ghl(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GHL_", "DEALFINDER_"))}
    proc = subprocess.Popen(
        [str(EXE), "emulator", "--port", str(port), "--buyers", "10"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                state = requests.get(f"{url}/_emulator/state", timeout=1).json()
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        else:
            pytest.fail("the emulator did not start")
        assert len(state["contacts"]) >= 10
        answer = requests.get(
            f"{url}/locations/{DEMO_LOCATION_ID}",
            timeout=5,
            headers={"Authorization": f"Bearer {DEFAULT_TOKEN}", "Version": "2021-07-28"},
        )
        assert answer.status_code == 200 and "X-RateLimit-Remaining" in answer.headers
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_demo_runs_end_to_end(tmp_path):
    result = run(["demo", "--once", "--buyers", "60"], cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    out = " ".join(result.stdout.split())  # rich wraps long lines
    assert "buyers synced from GHL: 60" in out
    assert "import: 12 created" in out
    assert "hot deals: 5" in out and "5 alerts in #deals" in out
    assert "buyer SMS:" in out and " sent" in out and " deferred" in out  # quiet hours defer some
    assert "health: healthy" in out
    assert "spec violations: 0 request, 0 response" in out
    assert "429s from our own pacing: 0" in out
    assert not (tmp_path / "dealfinder.db").exists()  # the demo never touches the user's store


@pytest.fixture
def port_in_use() -> Iterator[int]:
    """A port some other program listens on."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield int(taken.getsockname()[1])


def test_the_demo_names_a_page_port_that_is_taken(tmp_path, port_in_use):
    result = run(["demo", "--port", str(port_in_use)], cwd=tmp_path, timeout=60)
    assert result.returncode == 2
    assert f"port {port_in_use} is in use" in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr


def test_the_demo_page_port_falls_back_only_when_none_was_asked_for(port_in_use):
    from bot.cli.demo import DEFAULT_PAGE_PORT, page_port

    assert page_port(port_in_use, once=False) is None  # asked for: an error, not a surprise
    assert page_port(port_in_use, once=True) == 0  # --once shows no page: any port will do
    with socket.socket() as default:  # 8080 taken (by this test, or already by someone)
        with contextlib.suppress(OSError):
            default.bind(("127.0.0.1", DEFAULT_PAGE_PORT))
            default.listen()
        assert page_port(None, once=False) == 0  # any free port, shown in the output


def test_match_an_imported_property_by_mls_id_with_custom_weights(ghl_env, tmp_path):
    from store.db import make_engine, migrate, session_scope
    from store.deals import upsert_property

    _emulator, env = ghl_env
    assert run(["sync-buyers"], env=env, cwd=tmp_path).returncode == 0
    engine = make_engine(env["DATABASE_URL"])
    migrate(engine)
    with session_scope(engine) as session:
        upsert_property(
            session=session,
            mls_id="TPA-9",
            location_id=DEMO_LOCATION_ID,
            deal_score=91,
            data={
                "address": "9 Palm Ave",
                "city": "Tampa",
                "state": "FL",
                "zip": "33611",
                "list_price": 240000,
                "property_type": "single_family",
                "beds": 3,
            },
        )
    engine.dispose()
    default = json.loads(
        run(["match", "--mls-id", "TPA-9", "--json"], env=env, cwd=tmp_path).stdout
    )
    heavy_location = json.loads(
        run(
            ["match", "--mls-id", "TPA-9", "--json"],
            cwd=tmp_path,
            env={**env, "MATCH_WEIGHTS": "25,55,10,10"},
        ).stdout
    )
    assert default["matches"] and heavy_location["matches"]
    top = heavy_location["matches"][0]["components"]
    assert top["location"]["max"] == 55 and top["budget"]["max"] == 25
    bad = run(
        ["match", "--mls-id", "TPA-9"], env={**env, "MATCH_WEIGHTS": "50,50,50,50"}, cwd=tmp_path
    )
    assert bad.returncode == 2 and "MATCH_WEIGHTS" in bad.stderr and "sum to 100" in bad.stderr


def test_imported_deal_can_be_matched_and_planned_by_mls_id(ghl_env, tmp_path):
    """The pipeline stores the record nested in Property.data; every reader must find it."""
    _emulator, env = ghl_env
    samples = Path(__file__).resolve().parents[1] / "services" / "samples" / "mls_batch.json"
    assert run(["sync-buyers"], env=env, cwd=tmp_path).returncode == 0
    imported = run(["import", str(samples), "--json"], env=env, cwd=tmp_path)
    assert imported.returncode == 0, imported.stderr[-1500:]
    matched = run(["match", "--mls-id", "TB240000", "--json"], env=env, cwd=tmp_path)
    assert matched.returncode == 0, matched.stderr
    assert json.loads(matched.stdout)["mls_id"] == "TB240000"
    planned = run(["notify", "--mls-id", "TB240000", "--dry-run", "--json"], env=env, cwd=tmp_path)
    assert planned.returncode == 0, planned.stderr[-1500:]
    groups = json.loads(planned.stdout)["groups"]
    assert set(groups) >= {"send_now", "deferred", "excluded"}
    assert sum(len(v) for v in groups.values()) >= 1
