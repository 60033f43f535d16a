"""Named locks (`store.locks`): held across threads and processes, gone with their holder.

Each test runs on SQLite (a byte-range lock on a file) and PostgreSQL (advisory locks); the
other process is a real Python process on the same database.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from store.db import PG_SERVER_KEEPALIVES, make_engine
from store.locks import named_lock
from tests.fixtures.bot import wait_for

ROOT = Path(__file__).resolve().parent.parent

# The other process: tries each name on argv[2:], prints "name=held" per name, and with
# `hold` as argv[1] keeps the first lock until it is killed.
_OTHER = textwrap.dedent(
    """
    import sys, time
    from store.db import make_engine
    from store.locks import named_lock
    engine = make_engine(sys.argv[1])
    mode, names = sys.argv[2], sys.argv[3:]
    if mode == "hold":
        with named_lock(engine, names[0]) as held:
            print(f"{names[0]}={held}", flush=True)
            time.sleep(600)
    for name in names:
        with named_lock(engine, name) as held:
            print(f"{name}={held}", flush=True)
    """
)


def _other_process(url: str, mode: str, *names: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", _OTHER, url, mode, *names],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip


def _tried_elsewhere(url: str, *names: str) -> dict[str, bool]:
    child = _other_process(url, "try", *names)
    out, _ = child.communicate(timeout=60)
    assert child.returncode == 0, out
    return {k: v == "True" for k, v in (line.split("=") for line in out.split())}


def _name() -> str:
    return f"deal:test:{secrets.token_hex(4)}"


@pytest.mark.slow  # starts processes
def test_a_held_name_is_busy_for_another_process_and_free_once_released(
    engine: Engine, db_url: str
) -> None:
    name, other = _name(), _name()
    with named_lock(engine, name) as held:
        assert held
        assert _tried_elsewhere(db_url, name, other) == {name: False, other: True}
    assert _tried_elsewhere(db_url, name) == {name: True}


def test_a_held_name_is_busy_for_another_thread_of_the_same_process(engine: Engine) -> None:
    name = _name()
    seen: list[bool] = []
    with named_lock(engine, name) as held:
        assert held
        worker = threading.Thread(target=lambda: seen.append(_try(engine, name)))
        worker.start()
        worker.join()
    assert seen == [False]
    assert _try(engine, name)  # released


def _try(engine: Engine, name: str) -> bool:
    with named_lock(engine, name) as held:
        return held


@pytest.mark.slow  # over 0.5 s: the full run only (README, 'fast lane')
def test_releasing_one_name_keeps_the_others_held(engine: Engine, db_url: str) -> None:
    # POSIX record locks all go when a process closes any descriptor of the file: a thread
    # taking and releasing another name must not free this one for other processes.
    name = _name()
    with named_lock(engine, name) as held:
        assert held
        for _ in range(3):
            assert _try(engine, _name())
        assert _tried_elsewhere(db_url, name) == {name: False}


@pytest.mark.slow  # starts and kills a process
def test_a_lock_dies_with_a_killed_holder(engine: Engine, db_url: str) -> None:
    name = _name()
    holder = _other_process(db_url, "hold", name)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == f"{name}=True"
        assert not _try(engine, name)
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    # PostgreSQL ends the dead session when it sees the connection drop: a moment later.
    assert wait_for(lambda: _try(engine, name), timeout=10, what="the dead holder's lock to go")


def test_sqlite_in_memory_has_no_named_locks() -> None:
    engine = make_engine("sqlite://")
    with pytest.raises(ValueError, match="database file"), named_lock(engine, "x"):
        pass


@pytest.mark.postgres
def test_two_stores_in_one_postgres_database_do_not_share_names(
    pg_url: str, second_pg_url: str
) -> None:
    # Advisory locks are per database; a second DealFinder in its own schema must not be held
    # up by the first one's deals (the per-process bookkeeping is per store too).
    first, second = make_engine(pg_url), make_engine(second_pg_url)
    name = _name()
    try:
        with named_lock(first, name) as held_first, named_lock(second, name) as held_second:
            assert held_first and held_second
            assert not _try(first, name)  # still one holder per store
    finally:
        first.dispose()
        second.dispose()


@pytest.mark.postgres
def test_postgres_sessions_notice_a_dead_machine_in_minutes(pg_engine: Engine) -> None:
    # A lock holder whose machine dies leaves a half-open connection; the server's keepalives
    # on every DealFinder session end it (and its locks) in minutes, not the OS's 2 hours.
    with pg_engine.connect() as conn:
        shown = {
            name: int(conn.execute(text(f"SHOW {name}")).scalar_one())
            for name in PG_SERVER_KEEPALIVES
        }
    assert shown == PG_SERVER_KEEPALIVES
    idle, interval, count = PG_SERVER_KEEPALIVES.values()
    assert idle + interval * count <= 180
