"""The soak of `bench/soak.py`, smaller: 160 properties through two real worker processes (one
SIGKILLed at 40 % and restarted) on PostgreSQL, against a GHL emulator injecting 5xx, 429s,
dropped connections and stalls, and the Slack fake with its channel limit and a few failures.

It runs once per module; each check is its own test, so a failure names what broke. A failing
check prints the run's figures and the end of each worker's log.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "soak.py"
PROPERTIES = 160
CHECKS = [
    "one opportunity per property",
    "one analysis note per property",
    "one task set per property",
    "no repeated buyer note or hot-deal enrolment",
    "one Slack alert per hot deal",
    "Slack refused nothing",
    "no buyer over the SMS cap",
    "no text inside quiet hours",
    "every GHL text recorded once",
    "nothing due left behind",
    "no 429 of our own pacing",
    "GHL's OpenAPI files respected",
    "a worker killed mid-run, the others finished",
    "every kind of GHL fault met",
]

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.timeout(420)]


def load_bench():
    spec = importlib.util.spec_from_file_location("bench_soak", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def soak(pg_server: str, tmp_path_factory: pytest.TempPathFactory):
    bench = load_bench()
    config = bench.SoakConfig(properties=PROPERTIES, timeout=360, settle_timeout=150)
    with bench.fresh_schema(pg_server) as url:
        return bench.run_soak(config, workdir=tmp_path_factory.mktemp("soak"), database_url=url)


def explain(soak) -> str:
    logs = "\n".join(f"--- {name}\n{text[-1500:]}" for name, text in soak.logs.items())
    return "\n".join(soak.lines()) + "\n" + logs


@pytest.mark.parametrize("name", CHECKS)
def test_the_soak_check(soak, name: str) -> None:
    check = soak.check(name)
    assert check.ok, f"{name}: {check.detail}\n\n{explain(soak)}"


def test_every_check_is_listed_here(soak) -> None:
    assert [c.name for c in soak.checks] == CHECKS


def test_the_run_met_what_it_is_meant_to_test(soak) -> None:
    """A soak that killed nothing, texted nobody or deferred nothing would prove little."""
    w1 = soak.workers[0]
    assert w1["name"] == "w1" and w1["exit"] < 0, explain(soak)
    killed = soak.figures["w1 killed at"]
    assert killed[0].isdigit(), killed
    killed_at = int(killed.split()[0])
    assert PROPERTIES * 0.4 <= killed_at < PROPERTIES, killed_at
    sms = soak.figures["SMS deferred because"]
    sent = int(soak.figures["SMS sent / deferred / excluded"].split(" / ")[0])
    assert sent > 0 and sms.get("quiet_hours", 0) > 0, soak.figures
    assert soak.figures["Slack faults injected"] > 0
