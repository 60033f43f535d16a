"""Two `dealfinder` processes sharing one GHL location never cause a 429 when they share the
limiter's window (SQLite file, PostgreSQL or Redis) — and do cause them when they do not,
which shows the test can tell the difference."""

import multiprocessing
import queue as queue_module
import time
import uuid

import pytest

from ghl.client import GHLClient, make_rate_backend
from ghl.retry import RetryPolicy
from sandbox.ghl_emulator import DEFAULT_TOKEN, DEMO_LOCATION_ID

pytestmark = pytest.mark.slow  # GHL clients in several processes

BURST = 40  # the emulator's window: 40 requests per second (GHL: 100 per 10 s)
PER_PROCESS = 70


def _hammer(base_url, backend_kind, database_url, redis_url, key, queue):
    from concurrent.futures import ThreadPoolExecutor

    if backend_kind == "memory":
        backend = make_rate_backend("memory")
    else:
        backend = make_rate_backend(backend_kind, database_url=database_url, redis_url=redis_url)
    client = GHLClient(
        token=DEFAULT_TOKEN,
        location_id=DEMO_LOCATION_ID,
        base_url=base_url,
        rate_backend=backend,
        retry=RetryPolicy(max_retries=6),
    )
    # key the shared window per test run so leftovers of another run cannot interfere
    client.limiter.key = key
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: client.locations.get(), range(PER_PROCESS)))
    queue.put(client.stats.rate_limited)


def _results(queue, procs, *, within=120.0):
    """Each process's 429 count; a process that dies fails the test at once, not after
    the whole timeout."""
    results: list[int] = []
    deadline = time.monotonic() + within
    while len(results) < len(procs):
        try:
            results.append(queue.get(timeout=0.5))
        except queue_module.Empty:
            died = [p.exitcode for p in procs if p.exitcode not in (None, 0)]
            assert not died, f"a process died (exit codes {died}); its traceback is above"
            assert time.monotonic() < deadline, "the processes did not finish in time"
    return results


def run_two(emulator, backend_kind, *, database_url=None, redis_url=None):
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    key = f"{DEMO_LOCATION_ID}-{uuid.uuid4().hex[:8]}"
    procs = [
        ctx.Process(
            target=_hammer, args=(emulator.url, backend_kind, database_url, redis_url, key, queue)
        )
        for _ in range(2)
    ]
    for p in procs:
        p.start()
    seen_429 = sum(_results(queue, procs))
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    served = emulator.count("GET", "/locations/{locationId}", 200)
    return served, seen_429, emulator.stats["rate_limited"].get("limit", 0)


@pytest.fixture
def small_window(make_emulator):
    emulator = make_emulator(burst_max=BURST, burst_interval_ms=1_000)
    emulator.seed_demo(buyers=1)
    return emulator


def test_two_processes_sharing_a_sqlite_file_see_zero_429s(small_window, tmp_path):
    served, client_429s, emulator_429s = run_two(
        small_window, "database", database_url=f"sqlite:///{tmp_path / 'df.db'}"
    )
    assert served == 2 * PER_PROCESS
    assert emulator_429s == 0 and client_429s == 0


@pytest.mark.postgres
def test_two_processes_sharing_postgresql_see_zero_429s(small_window):
    served, _, emulator_429s = run_two(
        small_window, "database", database_url="postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    assert served == 2 * PER_PROCESS and emulator_429s == 0


@pytest.mark.redis
def test_two_processes_sharing_redis_see_zero_429s(small_window):
    served, _, emulator_429s = run_two(small_window, "redis", redis_url="redis://127.0.0.1:6379/15")
    assert served == 2 * PER_PROCESS and emulator_429s == 0


def test_control_two_processes_with_private_windows_do_hit_429s(small_window):
    """Without a shared window each process thinks it has the whole burst: GHL says 429."""
    served, client_429s, emulator_429s = run_two(small_window, "memory")
    assert served == 2 * PER_PROCESS  # retries still get everything through...
    assert emulator_429s > 0 and client_429s > 0  # ...but only after 429s
