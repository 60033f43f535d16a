"""The processes and the store of bench/agency.py: the emulator as an agency, a PostgreSQL
store per phase, the app install for the agency's locations, the intake queue, `dealfinder
worker` processes and what they cost at rest.

    with AgencyWorld.open(folder, emulator_port=port, locations=50) as world:
        world.install(["loc_agency_01", "loc_agency_02"])   # /ghl/install -> chooser -> callback
        world.queue({"loc_agency_01": rows})
        with world.workers(2):
            ...  world.worked()
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from cryptography.fernet import Fernet
from sqlalchemy import Engine, text
from werkzeug.test import Client

from bench.agency_figures import cpu_percent
from bench.slack_ack import wait_until_up
from bench.soak import fresh_schema
from bot.oauth_wiring import OAuthParts
from bot.ops.wiring import log_poster
from bot.settings import load_settings
from sandbox.ghl_emulator.agency import AGENCY_COMPANY_ID
from sandbox.ghl_emulator.oauth_state import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from services.intake.queue import submit_properties
from store.db import make_engine, migrate
from tests.fixtures.db import PG_URL

ROOT = Path(__file__).resolve().parents[1]
WORKER = [sys.executable, "-c", "from bot.cli.main import main; main()", "worker", "--agency"]
REDIRECT = "http://dealfinder.bench.invalid/ghl/oauth/callback"  # never opened: read here
TICKS = os.sysconf("SC_CLK_TCK")


class Worker:
    """One `dealfinder worker` process, its log in a file."""

    @dataclass(frozen=True)
    class Usage:
        cpu_percent: float
        rss_mb: float

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("w") as out:
            self.process = subprocess.Popen(
                WORKER, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
            )

    def check(self) -> None:
        if self.process.poll() is not None:
            tail = self.log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"`dealfinder worker` exited ({self.process.returncode}):\n{tail}")

    def ticks(self) -> int:
        """The process's CPU so far (user + system), in clock ticks (`TICKS` a second)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)

    def usage(self, seconds: float) -> Worker.Usage:
        """CPU % over the next `seconds`, and the resident memory at their end."""
        before, began = self.ticks(), time.monotonic()
        time.sleep(seconds)
        self.check()
        ticks, spent = self.ticks() - before, time.monotonic() - began
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        rss = next(line for line in status.splitlines() if line.startswith("VmRSS:"))
        rss_kb = int(rss.split()[1])
        return Worker.Usage(
            cpu_percent(ticks=ticks, seconds=spent, ticks_per_second=TICKS), rss_kb / 1024
        )

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


@dataclass
class AgencyWorld:
    folder: Path
    emulator_url: str
    stack: contextlib.ExitStack
    key: str = field(default_factory=lambda: Fernet.generate_key().decode())
    db_url: str = ""
    engine: Engine | None = None

    @classmethod
    @contextlib.contextmanager
    def open(cls, folder: Path, *, emulator_port: int, locations: int) -> Iterator[AgencyWorld]:
        with contextlib.ExitStack() as stack:
            url = f"http://127.0.0.1:{emulator_port}"
            command = [sys.executable, "-m", "sandbox.ghl_emulator", "--port", str(emulator_port),
                       "--locations", str(locations), "--buyers", "20",
                       "--no-response-checks"]  # fmt: skip
            log = (folder / "emulator.log").open("w")
            stack.callback(log.close)
            emulator = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
            stack.callback(emulator.wait, timeout=10)
            stack.callback(emulator.terminate)
            wait_until_up(f"{url}/_emulator/stats", emulator)  # type: ignore[arg-type]
            world = cls(folder=folder, emulator_url=url, stack=stack)
            world.new_store()
            yield world

    def new_store(self) -> None:
        """A fresh, migrated PostgreSQL schema (dropped when the world closes)."""
        self.db_url = self.stack.enter_context(fresh_schema(PG_URL))
        self.engine = make_engine(self.db_url)
        self.stack.callback(self.engine.dispose)
        migrate(self.engine)

    def env(self) -> dict[str, str]:
        """The deployment's settings, as the workers get them."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "GHL_"))}
        return env | {
            "PYTHONPATH": str(ROOT), "DATABASE_URL": self.db_url,
            "GHL_BASE_URL": self.emulator_url, "GHL_CLIENT_ID": DEFAULT_CLIENT_ID,
            "GHL_CLIENT_SECRET": DEFAULT_CLIENT_SECRET, "GHL_APP_REDIRECT_URL": REDIRECT,
            "GHL_OAUTH_AUTHORIZE_URL": f"{self.emulator_url}/oauth/chooselocation",
            "DEALFINDER_SECRET_KEY": self.key, "GHL_RATE_BACKEND": "database",
            "DEALFINDER_LOG_LEVEL": os.environ.get("DEALFINDER_LOG_LEVEL", "WARNING"),
        }  # fmt: skip

    def install(self, location_ids: list[str]) -> None:
        """An agency admin installs DealFinder for `location_ids`: one company install."""
        choice = {"userType": "Company", "companyId": AGENCY_COMPANY_ID, "locations": location_ids}
        requests.post(f"{self.emulator_url}/_emulator/oauth", json={"choice": choice}, timeout=10)
        env = self.env()
        settings = load_settings(**{k: v for k, v in env.items() if k.isupper()})
        assert self.engine is not None
        parts = OAuthParts.from_settings(settings, engine=self.engine, post_ops=log_poster)
        routes = parts.routes()
        start = Client(routes["/ghl/install"]).get("/ghl/install")
        chooser = requests.get(start.headers["Location"], allow_redirects=False, timeout=30)
        back = urlsplit(chooser.headers["Location"])
        done = Client(routes["/ghl/oauth/callback"]).get(back.path, query_string=back.query)
        if done.status_code != 200:
            raise RuntimeError(f"install failed: {done.status_code} {done.get_data(as_text=True)}")

    def queue(self, rows: dict[str, list[dict[str, Any]]]) -> int:
        """Queue each location's properties, as the intake API would; how many in all."""
        assert self.engine is not None
        for location_id, batch in rows.items():
            submit_properties(batch, engine=self.engine, location_id=location_id, source="bench")
        return sum(len(batch) for batch in rows.values())

    def worked(self) -> int:
        """Intake items finished (done or failed for good)."""
        assert self.engine is not None
        query = "select count(*) from outbox where kind = 'intake' and status in ('sent', 'failed')"
        with self.engine.connect() as conn:
            return int(conn.execute(text(query)).scalar_one())

    def stats(self) -> dict[str, Any]:
        return requests.get(f"{self.emulator_url}/_emulator/stats", timeout=30).json()

    def emulator_state(self) -> dict[str, Any]:
        return requests.get(f"{self.emulator_url}/_emulator/state", timeout=60).json()

    @contextlib.contextmanager
    def workers(self, count: int) -> Iterator[list[Worker]]:
        env = self.env()
        started = [Worker(env, self.folder / f"worker-{i}.log") for i in range(count)]
        try:
            time.sleep(2.0)
            for worker in started:
                worker.check()
            yield started
            for worker in started:
                worker.check()
        finally:
            for worker in started:
                worker.stop()


def idle_figures(
    world: AgencyWorld, location_ids: list[str], *, seconds: float, settle: float = 10.0
) -> tuple[Worker.Usage, Worker.Usage]:
    """One worker at rest holding one location, then (a fresh store) all of `location_ids`."""
    found = []
    for chosen in (location_ids[:1], location_ids):
        world.new_store()
        world.install(chosen)
        with world.workers(1) as (worker,):
            time.sleep(settle)  # leases taken, maps loaded, schedulers started
            found.append(worker.usage(seconds))
    return found[0], found[1]
