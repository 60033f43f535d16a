"""Every `dealfinder` command against every service it uses, down or misconfigured.

The README promises that no command ends in a traceback: a setting that is malformed (exit 2)
or a service that is unreachable (exit 3) ends with ONE line on stderr naming the setting to
check. This runs each command as a user runs it (a real process) against real broken
services: PostgreSQL and Redis on closed ports, a SQLite file in a missing folder, Slack and GHL
on closed ports, the Slack fake and the GHL emulator refusing the token, and a GHL that accepts
connections and never answers (a real silent socket).

The commands are listed from the typer app itself: a new command fails
`test_every_command_is_in_the_matrix` until it has a row in COMMANDS saying how to run it and
which services it uses.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import typer

from bot.cli.main import app
from sandbox.ghl_emulator import DEFAULT_TOKEN, DEMO_LOCATION_ID, Emulator, EmulatorConfig
from sandbox.slack_fake import SlackFake
from sandbox.slack_fake.config import BOT_TOKEN

pytestmark = pytest.mark.slow  # every CLI command in a subprocess, per fault

EXE = Path(sys.executable).with_name("dealfinder")
SAMPLE = Path(__file__).resolve().parents[2] / "services" / "samples" / "mls_batch.json"

RUN_TIMEOUT = 90  # seconds; a command still running then is a failure (it hangs)

SETTINGS, DB, REDIS, SLACK, GHL = "settings", "db", "redis", "slack", "ghl"


@dataclass(frozen=True)
class Command:
    args: tuple[str, ...]
    uses: frozenset[str]  # services the command needs before it can do anything useful
    reports: frozenset[str] = frozenset()  # services whose failure is its output (exit 1)


def _cmd(*args: str, uses: tuple[str, ...] = (), reports: tuple[str, ...] = ()) -> Command:
    return Command(args, frozenset((SETTINGS, *uses)), frozenset(reports))


# Commands that serve forever (emulator, demo, serve) are run only against faults that stop
# them at start. `serve` and `worker` start without GHL on purpose: a GHL outage is what their
# jobs report (/readyz, the health alerts in #ops-alerts: tests/test_ops_health_*); `worker
# --once` prints each job's outcome and exits 1 when one failed: checked here without a traceback.
COMMANDS = {
    "demo": _cmd("demo", "--once", "--buyers", "5"),
    "emulator": _cmd("emulator", "--port", "0"),
    "webhook-key": _cmd("webhook-key"),
    "health": _cmd("health", uses=(GHL, DB, REDIS)),
    "import": _cmd("import", str(SAMPLE), uses=(GHL, DB, REDIS)),
    "validate": _cmd("validate", uses=(GHL, DB, REDIS)),
    "match": _cmd("match", "--mls-id", "MLS-NOPE", uses=(DB,)),
    "sync-buyers": _cmd("sync-buyers", uses=(GHL, DB, REDIS)),
    "notify": _cmd("notify", "--mls-id", "PLACEHOLDER", uses=(GHL, DB, REDIS)),
    "worker": _cmd("worker", "--once", uses=(DB, REDIS, SLACK), reports=(GHL,)),
    "outbox": _cmd("outbox", uses=(DB,)),
    "outbox retry": _cmd("outbox", "retry", "1", uses=(DB,)),
    "outbox resolve": _cmd("outbox", "resolve", "1", uses=(DB,)),
    "serve": _cmd("serve", "--http", "--port", "0", uses=(DB, REDIS, SLACK)),
    "agency-status": _cmd("agency-status", uses=(DB,)),
    "locations": _cmd("locations", "list", uses=(DB,)),
    "locations list": _cmd("locations", "list", uses=(DB,)),
    "locations show": _cmd("locations", "show", "loc_x", uses=(DB,)),
    "locations set": _cmd("locations", "set", "loc_x", "name=X", uses=(DB,)),
    "locations disable": _cmd("locations", "disable", "loc_x", uses=(DB,)),
    "locations enable": _cmd("locations", "enable", "loc_x", uses=(DB,)),
}


@dataclass(frozen=True)
class Fault:
    service: str
    setting: str  # the setting the one line must name
    exit_code: int


FAULTS = {
    "REDIS_URL=garbage": Fault(SETTINGS, "REDIS_URL", 2),
    "PostgreSQL down": Fault(DB, "DATABASE_URL", 3),
    "SQLite folder missing": Fault(DB, "DATABASE_URL", 2),
    "Redis down": Fault(REDIS, "REDIS_URL", 3),
    "Slack down": Fault(SLACK, "SLACK_API_URL", 3),
    "Slack refuses the token": Fault(SLACK, "SLACK_BOT_TOKEN", 2),
    "GHL down": Fault(GHL, "GHL_BASE_URL", 3),
    "GHL refuses the token": Fault(GHL, "GHL_API_KEY", 2),
    "GHL silent": Fault(GHL, "GHL_BASE_URL", 3),
}

CASES = [(c, f) for c, cmd in COMMANDS.items() for f, fault in FAULTS.items()
         if fault.service in cmd.uses | cmd.reports]  # fmt: skip

# Log records at DEBUG/INFO/WARNING are the log, not the message: the one line is the rest.
_LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ (DEBUG|INFO|WARNING) ")


def command_names(group: typer.core.TyperGroup, prefix: str = "") -> Iterator[str]:
    """Every command and sub-command of the typer app, as a user types it."""
    for name, command in group.commands.items():
        path = f"{prefix}{name}"
        yield path
        if hasattr(command, "commands"):  # a group: its sub-commands too
            yield from command_names(command, f"{path} ")


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SilentServer:
    """Accepts TCP connections and never answers: a GHL that hangs."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.held: list[socket.socket] = []
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)  # kept open, never read from nor written to

    def close(self) -> None:
        self._stop.set()
        self.sock.close()
        for conn in self.held:
            conn.close()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    """Healthy services (emulator, Slack fake, a store with one imported property) and the
    base environment; each fault breaks one of them."""
    folder = tmp_path_factory.mktemp("services-down")
    emulator = Emulator(EmulatorConfig())
    emulator.seed_demo(buyers=5, seed=1)
    emulator.serve()
    fake = SlackFake()
    silent = SilentServer()
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GHL_", "SLACK_", "DEALFINDER_", "DATABASE_URL", "REDIS_URL"))
    }
    base |= {
        "COLUMNS": "200",
        "GHL_API_KEY": DEFAULT_TOKEN,
        "GHL_LOCATION_ID": DEMO_LOCATION_ID,
        "GHL_BASE_URL": emulator.url,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": "signing-secret-for-tests",
        "DATABASE_URL": f"sqlite:///{folder / 'store.db'}",
    }
    with fake.serve():
        base["SLACK_API_URL"] = fake.api_url
        seeded = subprocess.run(
            [str(EXE), "import", str(SAMPLE), "--json"], cwd=folder, env=base, text=True,
            capture_output=True, timeout=300,
        )  # fmt: skip
        assert seeded.returncode in (0, 1), seeded.stderr[-2000:]
        mls_id = re.search(r'"mls_id": "([^"]+)"', seeded.stdout)
        assert mls_id, seeded.stdout[-2000:]
        yield {"folder": folder, "base": base, "silent": silent, "mls_id": mls_id.group(1)}
    silent.close()
    emulator.stop()


def fault_env(name: str, world: dict[str, object]) -> dict[str, str]:
    folder = world["folder"]
    return {
        "REDIS_URL=garbage": {"REDIS_URL": "garbage"},
        "PostgreSQL down": {"DATABASE_URL": f"postgresql://dealfinder@127.0.0.1:{closed_port()}/x"},
        "SQLite folder missing": {"DATABASE_URL": f"sqlite:///{folder}/no/such/folder/df.db"},
        "Redis down": {"REDIS_URL": f"redis://127.0.0.1:{closed_port()}/0"},
        "Slack down": {"SLACK_API_URL": f"http://127.0.0.1:{closed_port()}/api/"},
        "Slack refuses the token": {"SLACK_BOT_TOKEN": "xoxb-not-the-workspace-token"},
        "GHL down": {"GHL_BASE_URL": f"http://127.0.0.1:{closed_port()}"},
        "GHL refuses the token": {"GHL_API_KEY": "pit-not-the-location-token"},
        # The commands' own GHL read timeout (a setting), short so the matrix stays quick;
        # `health` has its own budget (test_health_answers_a_silent_ghl_within_10_s).
        "GHL silent": {"GHL_BASE_URL": world["silent"].url, "GHL_TIMEOUT_SECONDS": "1"},
    }[name]  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def answers(
    request: pytest.FixtureRequest, world: dict[str, object]
) -> Iterator[dict[tuple[str, str], Future[tuple[int, str, str]]]]:
    """The selected (command, fault) runs, started together a few at a time (two cores)."""

    def run(case: tuple[str, str]) -> tuple[int, str, str]:
        command, fault = case
        args = [a.replace("PLACEHOLDER", str(world["mls_id"])) for a in COMMANDS[command].args]
        env = world["base"] | fault_env(fault, world)  # type: ignore[operator]
        try:
            done = subprocess.run(
                [str(EXE), *args], cwd=world["folder"], env=env, text=True,
                capture_output=True, timeout=RUN_TIMEOUT,
            )  # fmt: skip
        except subprocess.TimeoutExpired as exc:
            return -1, str(exc.stdout or ""), f"still running after {RUN_TIMEOUT} s"
        return done.returncode, done.stdout, done.stderr

    selected = [
        case
        for item in request.session.items
        if (params := getattr(getattr(item, "callspec", None), "params", {})).keys()
        >= {"command", "fault"}
        and (case := (params["command"], params["fault"])) in CASES
    ]
    with ThreadPoolExecutor(max_workers=6) as pool:
        yield {case: pool.submit(run, case) for case in dict.fromkeys(selected)}


def test_every_command_is_in_the_matrix() -> None:
    listed = set(command_names(typer.main.get_command(app)))  # type: ignore[arg-type]
    assert listed == set(COMMANDS), "add a row to COMMANDS for each new command"


def test_the_help_lists_the_exit_codes() -> None:
    from typer.testing import CliRunner

    shown = " ".join(CliRunner().invoke(app, ["--help"]).output.replace("│", " ").split())
    assert "Exit codes: 0 done; 1 the work failed" in shown
    assert "2 a setting is missing or malformed" in shown and "3 a service is unreachable" in shown


@pytest.mark.slow
@pytest.mark.timeout(600)  # the first test waits for the seeded store and the first runs
@pytest.mark.parametrize(("command", "fault"), CASES, ids=[f"{c} / {f}" for c, f in CASES])
def test_a_broken_service_ends_with_one_line_naming_the_setting(answers, command, fault) -> None:
    code, stdout, stderr = answers[(command, fault)].result()
    expected = FAULTS[fault]
    message = [line for line in stderr.splitlines() if line.strip() and not _LOG_LINE.match(line)]
    shown = f"exit {code}\n--- stdout\n{stdout[-1500:]}\n--- stderr\n{stderr[-3000:]}"
    assert "Traceback" not in stdout + stderr, shown
    if expected.service in COMMANDS[command].reports:
        # Its own report: each job's outcome, exit 1 when one failed (a job whose tick another
        # process of this matrix already ran is "skipped", so 0 is possible here).
        assert code in (0, 1) and ": " in stdout, shown
        return
    assert code == expected.exit_code, shown
    assert len(message) == 1, shown
    assert expected.setting in message[0], shown


def test_the_silent_server_is_silent() -> None:
    """The fixture itself: a connection is accepted and nothing ever comes back."""
    silent = SilentServer()
    try:
        with socket.create_connection(("127.0.0.1", int(silent.url.rsplit(":", 1)[1]))) as s:
            s.settimeout(0.5)
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            with pytest.raises(TimeoutError):
                s.recv(1)
    finally:
        silent.close()


assert shutil.which(str(EXE)) or EXE.exists(), f"{EXE} is not installed (pip install -e .)"
