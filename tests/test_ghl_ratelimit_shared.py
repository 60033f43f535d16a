"""The limiter's shared backends are atomic: across threads and real processes, on SQLite,
PostgreSQL and Redis, a window of N slots hands out exactly N — never N+1."""

import multiprocessing
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from ghl.ratelimit import MemoryBackend
from ghl.ratelimit_backends import RedisBackend, WindowState
from ghl.ratelimit_sql import SQLBackend

NOW = 1_800_000_000.0
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379/15"


def defaults():
    return WindowState(
        burst_max=50,
        interval=10.0,
        daily_max=200_000,
        daily_remaining=200_000,
        daily_day="2027-01-15",
    )


def grab(backend, key, tries):
    """Try `tries` times at one frozen instant; return how many slots were granted."""
    granted = 0
    for _ in range(tries):
        result = backend.try_acquire(
            key,
            now=NOW,
            defaults=defaults(),
            capacity=lambda s: s.burst_max,
            daily_floor=lambda s: 0,
            day="2027-01-15",
        )
        granted += result.acquired
        if not result.acquired:
            assert result.wait == pytest.approx(10.0)  # the earliest slot frees a window later
    return granted


def _grab_in_process(kind, url, key, tries, queue):
    backend = SQLBackend(url) if kind == "sql" else RedisBackend(url)
    queue.put(grab(backend, key, tries))


def run_processes(kind, url, key, processes=3, tries=30):
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [
        ctx.Process(target=_grab_in_process, args=(kind, url, key, tries, queue))
        for _ in range(processes)
    ]
    for p in procs:
        p.start()
    results = [queue.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    return sum(results)


def run_threads(backend, key, threads=8, tries=20):
    with ThreadPoolExecutor(threads) as pool:
        return sum(pool.map(lambda _: grab(backend, key, tries), range(threads)))


def test_memory_backend_threads():
    assert run_threads(MemoryBackend(), "loc") == 50


@pytest.mark.slow  # starts processes
def test_sqlite_backend_threads_and_processes(tmp_path):
    url = f"sqlite:///{tmp_path / 'rate.db'}"
    assert run_threads(SQLBackend(url), "loc-threads") == 50
    assert run_processes("sql", url, "loc-procs") == 50


@pytest.mark.slow  # starts processes
@pytest.mark.postgres
def test_postgres_backend_threads_and_processes():
    key = f"loc-{uuid.uuid4().hex}"
    try:
        assert run_threads(SQLBackend(PG_URL), key) == 50
        assert run_processes("sql", PG_URL, key + "-p") == 50
    finally:
        engine = sa.create_engine(PG_URL)
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM ghl_rate_window WHERE key LIKE :k"), {"k": key + "%"})
        engine.dispose()


@pytest.mark.slow  # starts processes
@pytest.mark.redis
def test_redis_backend_threads_and_processes():
    key = f"loc-{uuid.uuid4().hex}"
    assert run_threads(RedisBackend(REDIS_URL), key) == 50
    assert run_processes("redis", REDIS_URL, key + "-p") == 50


def test_snapshot_reports_what_is_used(tmp_path):
    backend = SQLBackend(f"sqlite:///{tmp_path / 'r.db'}")
    grab(backend, "loc", 7)
    state, used = backend.snapshot("loc", now=NOW + 1, defaults=defaults())
    assert used == 7 and state.daily_remaining == 200_000 - 7
    _state, used_later = backend.snapshot("loc", now=NOW + 11, defaults=defaults())
    assert used_later == 0  # the window slid past them


def _held_by_another_process(path):
    """A rollback-journal file whose write lock another connection holds, as at the moment a
    second `dealfinder` process creates the same fresh file."""
    import sqlite3

    other = sqlite3.connect(path, isolation_level=None)
    other.execute("CREATE TABLE seed (x INTEGER)")
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO seed VALUES (1)")
    return other


def test_a_fresh_file_locked_by_another_process_is_waited_for_not_fatal(tmp_path):
    """SQLite refuses the switch to WAL at once ("database is locked", no busy wait) while
    another process holds the file; the backend waits and tries again instead of dying."""
    path = tmp_path / "r.db"
    other = _held_by_another_process(path)
    waits = []

    def sleep(seconds):  # the other process finishes its write while we wait
        waits.append(seconds)
        if len(waits) == 2:
            other.execute("COMMIT")

    backend = SQLBackend(f"sqlite:///{path}", sleep=sleep)
    assert len(waits) == 2  # refused twice, then it went through
    assert backend._sqlite().execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    grab(backend, "loc", 3)
    assert backend.snapshot("loc", now=NOW + 1, defaults=defaults())[1] == 3


def test_a_file_that_stays_locked_is_an_error_not_a_hang(tmp_path):
    path = tmp_path / "r.db"
    other = _held_by_another_process(path)
    waits = []
    with pytest.raises(Exception, match="locked"):
        SQLBackend(f"sqlite:///{path}", sleep=waits.append)
    assert len(waits) == 199  # about 10 s of waiting in all, then the error
    other.execute("ROLLBACK")
