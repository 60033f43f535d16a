"""Soak: two DealFinder workers, one killed mid-run, against a faulty GHL and a rate-limited Slack.

The GHL emulator (demo location, 200 buyers) answers 10 % of requests with a 5xx, 5 % with a
429 without Retry-After, drops 2 % of connections (half of them after the change was stored)
and stalls 1 % for half a second; the Slack fake keeps its one-post-per-second channel limit
and fails a few calls. Two worker processes (`tests/e2e/soak_worker.py`) share a PostgreSQL
store and a simulated evening clock: each syncs buyers, imports the same batch (hot deals
alert Slack and queue buyer texts) and delivers the outbox until nothing is due. One worker is
SIGKILLed once GHL holds 40 % of the opportunities, and started again.

Then it checks what matters: one opportunity, analysis note and task set per property, one
Slack alert per hot deal, no buyer over the SMS cap, no text inside quiet hours, every text
recorded once, nothing due left behind, no 429 of our own making, every fault met.

    .venv/bin/python bench/soak.py [--properties 1000] [--speed 10] [--keep]
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import secrets
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sandbox.ghl_emulator import (  # noqa: E402
    DEFAULT_TOKEN,
    DEMO_LOCATION_ID,
    Emulator,
    EmulatorConfig,
    Faults,
)
from sandbox.slack_fake import BOT_TOKEN, SlackFake  # noqa: E402
from tests.e2e.soak_data import soak_rows, write_jsonl  # noqa: E402
from tests.e2e.soak_worker import SharedClock, WorkerProcesses, evening_anchor  # noqa: E402

PG_BASE = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DEALS_CHANNEL = "C0DEALS"
FAULTS = Faults(
    server_error=0.10, rate_limit_no_retry_after=0.05, drop=0.01, drop_after_commit=0.01,
    slow=0.01, slow_seconds=0.5, seed=26,
)  # fmt: skip
FAULT_KINDS = ("server_error", "rate_limit_no_retry_after", "drop", "drop_after_commit", "slow")
# Slack misbehaves too, beyond its own per-channel limit: (method, kind, times).
SLACK_FAULTS = (
    ("chat.postMessage", "server_error", 2), ("chat.postMessage", "drop", 1),
    ("chat.postMessage", "ratelimited", 3), ("chat.update", "server_error", 2),
)  # fmt: skip


@dataclass
class SoakConfig:
    properties: int = 1000
    buyers: int = 200
    kill_at: float = 0.4  # share of the opportunities in GHL when one worker is killed
    speed: float = 10.0  # simulated seconds per real second
    seed: int = 7
    timeout: float = 1800.0  # real seconds for the whole run
    settle_timeout: float = 240.0  # real seconds a worker keeps delivering at the end


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class SoakResult:
    config: SoakConfig
    checks: list[Check]
    figures: dict[str, Any]
    workers: list[dict[str, Any]] = field(default_factory=list, repr=False)
    logs: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def passed(self) -> bool:
        return all(check.ok for check in self.checks)

    def check(self, name: str) -> Check:
        return next(c for c in self.checks if c.name == name)

    def lines(self) -> list[str]:
        """The figures, then one PASS/FAIL line per check, then the verdict."""
        width = max(len(c.name) for c in self.checks)
        rows = [f"{'PASS' if c.ok else 'FAIL'}  {c.name:<{width}}  {c.detail}" for c in self.checks]
        figures = [f"{name:<36} {value}" for name, value in self.figures.items()]
        return [*figures, "", *rows, "", f"soak: {'PASS' if self.passed else 'FAIL'}"]


@contextlib.contextmanager
def fresh_schema(base_url: str = PG_BASE) -> Iterator[str]:
    """A new, empty PostgreSQL schema (dropped afterwards), as a URL selecting it."""
    import psycopg

    conninfo = base_url.replace("postgresql+psycopg://", "postgresql://")
    schema = f"soak_{secrets.token_hex(5)}"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{base_url}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def worker_env(*, ghl_url: str, slack_api_url: str, database_url: str) -> dict[str, str]:
    """Production settings, by environment, pointing at the emulator, the fake and the store."""
    prefixes = ("GHL_", "DEALFINDER_", "SLACK_", "DATABASE_URL", "REDIS_URL")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    return env | {
        "PYTHONPATH": str(ROOT),
        "GHL_API_KEY": DEFAULT_TOKEN,
        "GHL_LOCATION_ID": DEMO_LOCATION_ID,
        "GHL_BASE_URL": ghl_url,
        "GHL_TIMEOUT_SECONDS": "10",  # well above the 0.5 s stalls
        "GHL_MAX_RETRIES": "5",  # 17 % of requests fail: 4 misses in a row happen in 1,000
        "DATABASE_URL": database_url,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": secrets.token_hex(16),
        "SLACK_API_URL": slack_api_url,
        "SLACK_DEALS_CHANNEL": DEALS_CHANNEL,
        "SLACK_OPS_CHANNEL": "C0OPS",
        "DEALFINDER_LOG_LEVEL": "WARNING",
    }


# -- the checks ------------------------------------------------------------------------------


def _sample(items: Any, n: int = 3) -> str:
    return ", ".join(str(i) for i in list(items)[:n])


def exactly_once(name: str, found: Counter, wanted: Counter) -> Check:
    """Each wanted key found exactly once, and nothing else found."""
    missing, extra = wanted - found, found - wanted
    repeated = [k for k, n in found.items() if n > 1]
    return Check(name, found == wanted,
                 f"{sum(found.values())} for {len(wanted)}; missing {len(missing)} "
                 f"({_sample(missing)}), repeated {len(repeated)} ({_sample(repeated)}), "
                 f"unexpected {len(set(extra) - set(repeated))}")  # fmt: skip


def ghl_checks(rows: list[dict[str, Any]], state: dict[str, Any], config: Any) -> list[Check]:
    """One opportunity, analysis note and task set per property; no repeated follow-up."""
    from services.pipeline.rules import NAME_SEPARATOR

    marker = "DealFinder analysis — MLS "
    notes = Counter(n["body"].removeprefix(marker).split(" (version")[0]
                    for n in state["notes"] if n["body"].startswith(marker))  # fmt: skip
    tasks = Counter(t["title"] for t in state["tasks"] if NAME_SEPARATOR in t["title"])
    wanted_tasks = Counter(f"{spec.title}{NAME_SEPARATOR}{r['mls_id']}" for r in rows
                           for spec in config.tasks_for(score=r["deal_score"]))  # fmt: skip
    hot_flow = {w["id"] for w in state["workflows"] if w["name"] == config.workflows["hot_deal"]}
    repeats = Counter((n["contact_id"], n["body"]) for n in state["notes"]
                      if "texted this buyer about" in n["body"])  # fmt: skip
    repeats += Counter(e["contact_id"] for e in state["enrolments"] if e["workflow_id"] in hot_flow)
    repeated = [k for k, n in repeats.items() if n > 1]
    return [
        exactly_once("one opportunity per property",
                     Counter(o["name"].split(NAME_SEPARATOR)[0] for o in state["opportunities"]),
                     Counter(r["mls_id"] for r in rows)),
        exactly_once("one analysis note per property", notes, Counter(r["mls_id"] for r in rows)),
        exactly_once("one task set per property", tasks, wanted_tasks),
        Check("no repeated buyer note or hot-deal enrolment", not repeated,
              f"{repeats.total()} checked; repeated {len(repeated)} ({_sample(repeated)})"),
    ]  # fmt: skip


def slack_checks(rows: list[dict[str, Any]], fake: SlackFake, *, hot: int) -> list[Check]:
    """Exactly one alert in the deals channel per hot deal, and nothing Slack refused."""
    posted = Counter(
        str((m.blocks or [{}])[0].get("block_id", "-")).removeprefix("deal:")
        for m in fake.messages(DEALS_CHANNEL)
    )
    refused = [f"{c.method}: {c.error}" for c in fake.unexpected_rejections()]
    wanted = Counter(r["mls_id"] for r in rows if r["deal_score"] >= hot)
    return [
        exactly_once("one Slack alert per hot deal", posted, wanted),
        Check("Slack refused nothing", not refused, f"{len(refused)} ({_sample(refused)})"),
    ]


def sms_checks(state: dict[str, Any], engine: Any, *, now: datetime) -> tuple[list[Check], dict]:
    """The cap and quiet hours (on the workers' clock, in the buyer's zone resolved as the
    policy does), every GHL text recorded once, and nothing due left behind."""
    from sqlmodel import select

    from matching.notify import (
        cap_for,
        is_quiet,
        load_rules,
        normalize_phone,
        resolve_states,
        resolve_timezone,
        window_for,
    )
    from store.db import session_scope
    from store.models import Buyer, OutboxItem
    from store.outbox import pending_stats

    rules = load_rules()
    with session_scope(engine, readonly=True) as session:
        buyers = {b.contact_id: b for b in session.exec(select(Buyer)).all()}
        items = list(session.exec(select(OutboxItem)).all())
        due, _ = pending_stats(session=session, now=now)
    texts = Counter(m["contact_id"] for m in state["messages"] if m["type"] == "SMS")
    over_cap = {}
    for contact_id, count in texts.items():
        buyer = buyers.get(contact_id)
        states = resolve_states(contact_state=buyer.state, phone=normalize_phone(buyer.phone)
                                ) if buyer else ()  # fmt: skip
        if buyer is None or count > cap_for(state=states, rules=rules):
            over_cap[contact_id] = count
    sms = [i for i in items if i.kind == "sms"]
    quiet, recorded = [], Counter()
    for item in (i for i in sms if i.status == "sent"):
        recorded[item.result["message_id"]] += 1
        buyer = buyers[item.contact_id]
        phone = normalize_phone(buyer.phone)
        zone = resolve_timezone(
            contact_timezone=buyer.timezone, phone=phone, default=rules.default_timezone,
            location_timezone=item.payload.get("location_timezone"),
        )  # fmt: skip
        states = resolve_states(contact_state=buyer.state, phone=phone)
        sent_at = datetime.fromisoformat(item.result["sent_at"])
        if is_quiet(at=sent_at, zone=zone, window=window_for(state=states, rules=rules)):
            quiet.append(f"{item.contact_id} at {sent_at.astimezone(zone.zone):%H:%M} {zone.zone}")
    in_ghl = Counter(m["id"] for m in state["messages"] if m["type"] == "SMS")
    waiting = [i for i in items if i.status in ("pending", "deferred", "in_flight")]
    stuck = [i for i in waiting if i.status == "in_flight" or (i.not_before or now) <= now]
    status = Counter(i.status for i in sms)
    checks = [
        Check("no buyer over the SMS cap", not over_cap,
              f"{texts.total()} texts to {len(texts)} buyers, at most "
              f"{max(texts.values(), default=0)} each; over the cap or not a buyer: "
              f"{len(over_cap)} ({_sample(over_cap.items())})"),
        Check("no text inside quiet hours", not quiet,
              f"{status['sent']} sent texts checked; {len(quiet)} inside ({_sample(quiet)})"),
        exactly_once("every GHL text recorded once", recorded, in_ghl),
        Check("nothing due left behind", due == 0 and not stuck,
              f"{due} due, {len(stuck)} waiting though due or in flight; {len(waiting)} wait "
              "for a later time"),
    ]  # fmt: skip
    why = Counter((i.last_error or "").split(":")[0] for i in sms if i.status == "deferred")
    figures = {
        "SMS sent / deferred / excluded": f"{status['sent']} / {status['deferred']} / "
        f"{status['excluded']} (all: {dict(status)})",
        "SMS deferred because": dict(why),
        "other outbox items":
            dict(Counter(f"{i.kind} {i.status}" for i in items if i.kind != "sms")),
    }  # fmt: skip
    return checks, figures


def run_checks(
    *, rows: list[dict[str, Any]], emulator: Emulator, fake: SlackFake, engine: Any,
    reports: list[dict[str, Any]], now: datetime,
) -> tuple[list[Check], dict[str, Any]]:  # fmt: skip
    """Every check of a run, and the figures the bench prints."""
    from services.config import load_deal_config

    config = load_deal_config()
    state, stats = emulator.state.snapshot(), emulator.stats
    checks = ghl_checks(rows, state, config) + slack_checks(rows, fake, hot=config.thresholds.hot)
    sms, sms_figures = sms_checks(state, engine, now=now)
    limited, violations = stats["rate_limited"], emulator.unexpected_violations()
    faults = stats["faults"] | {"429 injected": limited["injected"]}
    finals = [r for r in reports if r["name"] != "w1"]
    killed = len(reports) == 3 and reports[0]["exit"] == -signal.SIGKILL
    retries = sum(r.get("ghl", {}).get("retries", 0) for r in finals)
    checks += [
        *sms,
        Check("no 429 of our own pacing", limited["limit"] == 0,
              f"{limited['limit']} from the limit, {limited['injected']} injected"),
        Check("GHL's OpenAPI files respected", not violations,
              f"{len(violations)} ({_sample(v['path'] for v in violations)})"),
        Check("a worker killed mid-run, the others finished",
              killed and all(r["exit"] == 0 for r in finals),
              ", ".join(f"{r['name']} exit {r['exit']}" for r in reports)),
        Check("every kind of GHL fault met", all(faults.get(k) for k in FAULT_KINDS),
              f"{faults}; {retries} retries by the finished workers"),
    ]  # fmt: skip
    imported = max((r["started"] + r.get("import_seconds", 0) for r in finals), default=0)
    outcomes = sum((Counter(r.get("delivered", {})) for r in finals), Counter())
    figures = {
        "properties/min (batch, 2 workers)":
            round(len(rows) / max(imported - min(r["started"] for r in reports), 1e-9) * 60, 1),
        "GHL requests per property (all work)": round(stats["total"] / len(rows), 2),
        **sms_figures,
        "GHL faults injected": faults,
        "Slack faults injected": sum(1 for c in fake.calls if c.fault),
        "GHL retries (finished workers)": retries,
        "delivery outcomes (finished workers)": dict(outcomes),
    }  # fmt: skip
    return checks, figures


# -- the run ---------------------------------------------------------------------------------


def run_soak(config: SoakConfig, *, workdir: Path, database_url: str) -> SoakResult:
    """One soak run on an empty PostgreSQL schema (`database_url`); nothing is printed."""
    import sqlalchemy as sa

    from store.db import make_engine, migrate

    rows = soak_rows(config.properties, seed=config.seed)
    batch = write_jsonl(workdir / "soak.jsonl", rows)
    engine = make_engine(database_url)
    migrate(engine)
    emulator = Emulator(EmulatorConfig(burst_max=1000, burst_interval_ms=10_000, faults=FAULTS))
    emulator.seed_demo(buyers=config.buyers, seed=1)
    fake = SlackFake()
    for method, kind, times in SLACK_FAULTS:
        fake.queue_fault(method, kind, times=times)
    clock = SharedClock(anchor=evening_anchor(datetime.now(UTC)), started=time.time(),
                        speed=config.speed)  # fmt: skip
    deadline = time.monotonic() + config.timeout
    target = int(config.properties * config.kill_at)
    with contextlib.ExitStack() as stack:
        stack.callback(engine.dispose)
        ghl_url = stack.enter_context(emulator.serve()).url
        stack.enter_context(fake.serve())
        env = worker_env(ghl_url=ghl_url, slack_api_url=fake.api_url, database_url=database_url)
        args = {"batch": str(batch), "clock": clock.as_dict(),
                "settle_timeout": config.settle_timeout}  # fmt: skip
        workers = WorkerProcesses(workdir=workdir, env=env, args=args)
        started = time.time()
        workers.start("w1")
        # w2 starts once w1 has made the limiter's table: two processes making it at the same
        # instant crash one of them (tests/e2e/test_soak_race.py pins that bug).
        while not sa.inspect(engine).has_table("ghl_rate_window") and time.monotonic() < deadline:
            time.sleep(0.05)
        workers.start("w2")
        reached = lambda: len(emulator.state.opportunities) >= target  # noqa: E731
        killed = workers.kill_when("w1", reached=reached, deadline=deadline)
        killed_at = len(emulator.state.opportunities)
        if killed:
            workers.start("w1-restarted")
        workers.wait(deadline=deadline)
        finished = time.time()
        reports = workers.reports()
        checks, figures = run_checks(rows=rows, emulator=emulator, fake=fake, engine=engine,
                                     reports=reports, now=clock())  # fmt: skip
    figures = {
        "properties": config.properties,
        "w1 killed at": f"{killed_at} opportunities in GHL" if killed else "never (it ended)",
        "wall time (s)": round(finished - started, 1),
        "simulated clock (UTC)": f"{clock.at(started):%H:%M} -> {clock.at(finished):%H:%M} "
        f"(x{config.speed:g})",
        **figures,
    }
    return SoakResult(config=config, checks=checks, figures=figures, workers=reports,
                      logs=workers.logs())  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--properties", type=int, default=1000)
    parser.add_argument("--speed", type=float, default=10.0, help="simulated s per real s")
    parser.add_argument("--database", default=PG_BASE, help="PostgreSQL URL (a schema is made)")
    parser.add_argument("--keep", action="store_true", help="keep the batch and worker logs")
    options = parser.parse_args(argv)
    # The emulator's server logs every connection the faults drop on purpose: noise here.
    logging.getLogger("werkzeug").setLevel(logging.CRITICAL)
    config = SoakConfig(properties=options.properties, speed=options.speed)
    workdir = Path(tempfile.mkdtemp(prefix="dealfinder-soak-"))
    with fresh_schema(options.database) as url:
        result = run_soak(config, workdir=workdir, database_url=url)
    print("\n".join(result.lines()))
    print(f"batch and worker logs: {workdir}")
    return 0 if result.passed else 1


if __name__ == "__main__":
    sys.exit(main())
