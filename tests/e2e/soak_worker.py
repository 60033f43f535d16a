"""One soak worker: DealFinder's real parts, built from the environment, doing a batch's work.

The soak (`bench/soak.py`, `tests/e2e/test_soak.py`) runs two of these at once against one GHL
emulator, one Slack fake and one PostgreSQL store, and SIGKILLs one mid-run. Each worker does
what a deployment does in a morning: sync buyers, import the batch (hot deals alert Slack and
queue buyer texts), then keep delivering the outbox — as the every-minute jobs would — until
nothing is left that is due within a few minutes.

    python -m tests.e2e.soak_worker '{"batch": "/tmp/soak.jsonl", "name": "w1",
                                       "clock": {"anchor": "...", "started": 1.7e9, "speed": 10}}'

Settings come from the environment exactly as in production (GHL_*, DATABASE_URL, SLACK_*).
The last stdout line is a JSON report of this run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, or_
from sqlmodel import col, select

from bot.settings import Settings
from ghl.client import GHLClient

ROOT = Path(__file__).resolve().parents[2]
# Outbox items due within this much simulated time are waited for: retries after an unknown
# outcome (60 s), Slack and workflow retries (1 min), leases of a killed worker (60-120 s).
SETTLE_HORIZON = timedelta(minutes=5)
IMPORT_PASSES = 3  # a property GHL kept failing is finished by running the file again
DELIVER_LIMIT = 10  # few per claim, so a claim never outlives its lease on the fast clock


@dataclass(frozen=True)
class SharedClock:
    """The workers' simulated clock: `anchor` at real epoch second `started`, running `speed`
    times as fast as real time. Every worker (and a restarted one) reads the same time."""

    anchor: datetime
    started: float
    speed: float = 1.0

    def __call__(self) -> datetime:
        return self.anchor + timedelta(seconds=(time.time() - self.started) * self.speed)

    def at(self, real_epoch: float) -> datetime:
        """The simulated time at a real moment."""
        return self.anchor + timedelta(seconds=(real_epoch - self.started) * self.speed)

    def as_dict(self) -> dict[str, Any]:
        return {"anchor": self.anchor.isoformat(), "started": self.started, "speed": self.speed}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SharedClock:
        anchor = datetime.fromisoformat(data["anchor"]).astimezone(UTC)
        return cls(anchor=anchor, started=float(data["started"]), speed=float(data["speed"]))


def evening_anchor(now: datetime, *, behind: timedelta = timedelta(hours=3)) -> datetime:
    """The latest 01:30 UTC that is at least `behind` before `now`.

    01:30 UTC is evening in every US zone (quiet hours start in Florida, not yet in the West),
    as in `sandbox.run.evening_clock`. Keeping the simulated clock behind GHL's real one
    matters: after an unknown outcome the notifier looks for a text in GHL by GHL's own
    timestamps (10 minutes of skew allowed), and a fast clock ahead of GHL would miss it.
    """
    anchor = now.astimezone(UTC).replace(hour=1, minute=30, second=0, microsecond=0)
    while anchor > now - behind:
        anchor -= timedelta(days=1)
    return anchor


def soak_client(settings: Settings, *, base_delay: float) -> GHLClient:
    """`bot.runtime.Runtime.ghl` with a shorter retry backoff: at 17 % injected faults the
    production 1-2-4 s waits would make the soak mostly sleeping, not working."""
    from bot.runtime import Runtime

    return Runtime(settings.model_copy(update={"ghl_retry_base_delay": base_delay})).ghl


class NotifyHook:
    """The pipeline's hot-deal hook that plans a deal's buyer texts and records them in the
    outbox (delivery is the settle loop's job, as it is the release job's in production)."""

    def __init__(self, services: Any, clock: Callable[[], datetime]) -> None:
        self.services, self.clock = services, clock
        self.queued: Counter[str] = Counter()

    def __call__(self, result: Any) -> None:
        from services.notify.notifier import enqueue_notifications

        plan = self.services.actions.plan(result.mls_id)
        facts = self.services.desk.facts(result.mls_id)
        if plan is None or facts is None:
            return
        report = enqueue_notifications(
            engine=self.services.engine, plan=plan, property=facts, now=self.clock()
        )
        for group, ids in report.as_dict().items():
            self.queued[group] += len(ids)


def due_soon(engine: Engine, *, now: datetime, within: timedelta) -> int:
    """Outbox items in flight, or waiting with a time before `now + within`."""
    from store.db import session_scope
    from store.models import OutboxItem, OutboxStatus

    waiting = (OutboxStatus.PENDING, OutboxStatus.DEFERRED)
    soon = or_(col(OutboxItem.not_before).is_(None), col(OutboxItem.not_before) <= now + within)
    stmt = select(func.count()).where(
        or_(
            col(OutboxItem.status) == OutboxStatus.IN_FLIGHT,
            col(OutboxItem.status).in_(waiting) & soon,
        )
    )
    with session_scope(engine, readonly=True) as session:
        return int(session.exec(stmt).one())


def settle(
    services: Any, *, clock: Callable[[], datetime], worker_id: str, timeout: float
) -> tuple[Counter[str], bool]:
    """Deliver, re-post and re-enrol whatever is due until nothing is due soon (or timeout).

    What the deployment's jobs do every minute: the release job (`deliver_due`), the alert
    recovery (`alerts.recover`) and an import's drain of hot-deal workflow enrolments.
    """
    from services.ghl_map import GHLMap
    from services.notify.notifier import deliver_due
    from services.pipeline.core import DealPipeline

    ghl, engine, config = services.ghl, services.engine, services.config
    hot = DealPipeline(
        ghl, engine, config, GHLMap.resolve(ghl, config), clock=clock, rules=services.rules,
        worker_id=worker_id,
    ).hot  # fmt: skip
    zone = services.desk.location_timezone()
    outcomes: Counter[str] = Counter()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        report = deliver_due(
            engine=engine, client=ghl, rules=services.rules, config=config, now=clock(),
            clock=clock, worker_id=worker_id, limit=DELIVER_LIMIT, location_timezone=zone,
        )  # fmt: skip
        outcomes.update(f"{o.kind}:{o.status}" for o in report.outcomes)
        reposted = services.alerts.recover()
        hot.drain()
        if report.outcomes or reposted:
            continue
        if not due_soon(engine, now=clock(), within=SETTLE_HORIZON):
            return outcomes, True
        time.sleep(0.2)
    return outcomes, False


def run(args: dict[str, Any]) -> dict[str, Any]:
    """Everything one worker does; returns its report."""
    from bot.logs import configure_logging
    from bot.settings import load_settings
    from bot.slack.app import build_services, make_web_client
    from services.buyer_sync import sync_buyers
    from services.importer import run_import
    from store.db import make_engine

    settings = load_settings()
    configure_logging(level=settings.log_level)
    clock = SharedClock.from_dict(args["clock"])
    worker_id = f"soak-{args['name']}-{os.getpid()}"
    engine = make_engine(settings.database_url)
    ghl = soak_client(settings, base_delay=float(args.get("retry_base_delay", 0.05)))
    services = build_services(
        settings, ghl=ghl, engine=engine, web_client=make_web_client(settings), clock=clock
    )
    started = time.monotonic()
    synced = sync_buyers(client=ghl, engine=engine, config=services.config, now=clock())
    hook = NotifyHook(services, clock)
    passes = []
    for _ in range(IMPORT_PASSES):
        summary = run_import(
            Path(args["batch"]), client=ghl, engine=engine, config=services.config, clock=clock,
            on_hot_deal=[services.alerts.on_hot_deal, hook], rules=services.rules,
        )  # fmt: skip
        failed = [r.reason for r in summary.results if r.action == "failed"]
        passes.append({"counts": summary.counts(), "failed": failed[:5], "stopped": summary.stopped,
                       "hot": sum(r.hot for r in summary.results)})  # fmt: skip
        if summary.ok:
            break
    imported_in = time.monotonic() - started
    outcomes, settled = settle(
        services, clock=clock, worker_id=worker_id, timeout=float(args.get("settle_timeout", 120))
    )
    stats = ghl.stats
    services.close()
    ghl.close()
    engine.dispose()
    return {
        "name": args["name"], "pid": os.getpid(), "buyers_seen": synced.seen, "passes": passes,
        "import_seconds": round(imported_in, 2),
        "total_seconds": round(time.monotonic() - started, 2),
        "queued": dict(hook.queued), "delivered": dict(outcomes), "settled": settled,
        "ghl": {"calls": stats.calls, "requests": stats.requests, "retries": stats.retries,
                "rate_limited": stats.rate_limited, "errors": dict(stats.errors)},
    }  # fmt: skip


# -- starting and stopping workers (the soak's side) ------------------------------------------


class WorkerProcesses:
    """The worker processes of one soak run: started by name, their output in `workdir`."""

    def __init__(self, *, workdir: Path, env: dict[str, str], args: dict[str, Any]) -> None:
        self.workdir, self.env, self.args = workdir, env, args
        self.procs: dict[str, subprocess.Popen] = {}
        self.started: dict[str, float] = {}

    def start(self, name: str) -> subprocess.Popen:
        command = [
            sys.executable,
            "-m",
            "tests.e2e.soak_worker",
            json.dumps(self.args | {"name": name}),
        ]
        with (
            (self.workdir / f"{name}.out").open("wb") as out,
            (self.workdir / f"{name}.log").open("wb") as log,
        ):
            proc = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=out, stderr=log)
        self.procs[name], self.started[name] = proc, time.time()
        return proc

    def kill_when(self, name: str, *, reached: Callable[[], bool], deadline: float) -> bool:
        """SIGKILL worker `name` once `reached()`; False if it ended (or time ran out) first."""
        proc = self.procs[name]
        while time.monotonic() < deadline and proc.poll() is None:
            if reached():
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=30)
                return True
            time.sleep(0.02)
        return False

    def wait(self, *, deadline: float) -> None:
        """Wait for every worker; one still running at `deadline` is killed (and says so)."""
        for name, proc in self.procs.items():
            try:
                proc.wait(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                with (self.workdir / f"{name}.log").open("a") as log:
                    log.write("\nsoak: killed at the deadline\n")

    def reports(self) -> list[dict[str, Any]]:
        """Each worker's report (its last stdout line), with its name, exit code and start."""
        found = []
        for name, proc in self.procs.items():
            lines = (self.workdir / f"{name}.out").read_text().strip().splitlines()
            try:
                report = json.loads(lines[-1]) if lines else {}
            except ValueError:  # killed while printing
                report = {}
            found.append(report | {"name": name, "exit": proc.returncode,
                                   "started": self.started[name]})  # fmt: skip
        return found

    def logs(self) -> dict[str, str]:
        """The end of each worker's log (stderr)."""
        return {name: (self.workdir / f"{name}.log").read_text()[-4000:] for name in self.procs}


def main(argv: list[str]) -> int:
    report = run(json.loads(argv[1]))
    print(json.dumps(report), flush=True)
    return 0 if report["settled"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
