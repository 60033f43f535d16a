"""Sustained GHL throughput for one location through DealFinder's client, vs the seed's client.

Both run at the same time against the GHL emulator at GHL's real limits (100 requests per 10 s,
200,000 a day), each as its own location so they do not share a quota:
- DealFinder: the header-driven sliding-window limiter (default 3 % margin), 4 threads;
- naive: the seed's `GHLRateLimiter` (95 requests per 60 s sliding window, sleep when full).

Throughput counts requests *started* within whole windows, so the burst a sliding window allows
at each window boundary is not counted twice. Target: >= 95 % of the 10 req/s limit, zero 429s.

    .venv/bin/python bench/ghl_throughput.py [--seconds 60] [--threads 4]
"""

from __future__ import annotations

import argparse
import collections
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ghl.client import GHLClient
from ghl.retry import RetryPolicy
from sandbox.ghl_emulator import Emulator, EmulatorConfig

LIMIT_PER_SECOND = 10.0  # 100 per 10 s


class SeedRateLimiter:
    """The seed's limiter, as its summary describes it: 95 per 60 s, deque, sleep when full."""

    def __init__(self, max_requests: int = 95, time_window: float = 60.0):
        self.requests: collections.deque[float] = collections.deque()
        self.max_requests = max_requests
        self.time_window = time_window
        self.lock = threading.Lock()

    def wait_if_needed(self) -> None:
        while True:
            with self.lock:
                now = time.time()
                while self.requests and self.requests[0] <= now - self.time_window:
                    self.requests.popleft()
                if len(self.requests) < self.max_requests:
                    self.requests.append(now)
                    return
                sleep_for = self.requests[0] + self.time_window - now
            time.sleep(max(sleep_for, 0.01))


class NoLimiter:
    """Stands in for DealFinder's limiter in the naive client: the seed's limiter paces it."""

    def acquire(self, *, max_wait=None):
        return 0.0

    def observe(self, headers, *, slot=None):
        pass

    def remaining(self):
        raise NotImplementedError


def run_client(
    client: GHLClient, *, seconds: float, threads: int, contact_id: str, before_each=None
) -> list[float]:
    """Call GET /contacts/{id} from `threads` threads until `seconds` pass; return start times."""
    starts: list[float] = []
    lock = threading.Lock()
    deadline = time.time() + seconds

    def worker() -> None:
        while True:
            if before_each:
                before_each()
            start = time.time()
            if start >= deadline:
                return
            with lock:
                starts.append(start)
            client.contacts.get(contact_id)

    pool = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=seconds + 120)
    return starts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--seconds", type=float, default=60.0, help="run length (whole 60 s windows are fairest)"
    )
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()

    ours_token, naive_token = "bench-ours", "bench-naive"
    emulator = Emulator(EmulatorConfig(tokens={ours_token: "loc_ours", naive_token: "loc_naive"}))
    contacts = {}
    for loc in ("loc_ours", "loc_naive"):
        emulator.seed_demo(location_id=loc, buyers=5)
        contacts[loc] = next(c.id for c in emulator.state.contacts.values() if c.location_id == loc)

    with emulator.serve() as server:
        ours = GHLClient(
            token=ours_token,
            location_id="loc_ours",
            base_url=server.url,
            retry=RetryPolicy(max_retries=5),
        )
        naive_limiter = SeedRateLimiter()
        # The naive client: same transport (so its requests are valid), pacing by the seed's
        # limiter only; our limiter is opened wide so it never waits.
        naive = GHLClient(
            token=naive_token,
            location_id="loc_naive",
            base_url=server.url,
            limiter=NoLimiter(),
            retry=RetryPolicy(max_retries=5),
        )

        results: dict[str, list[float]] = {}

        def go(name, client, contact, before=None):
            results[name] = run_client(
                client,
                seconds=args.seconds,
                threads=args.threads,
                contact_id=contact,
                before_each=before,
            )

        runs = [
            threading.Thread(target=go, args=("dealfinder", ours, contacts["loc_ours"])),
            threading.Thread(
                target=go,
                args=("seed (95/min)", naive, contacts["loc_naive"], naive_limiter.wait_if_needed),
            ),
        ]
        began = time.time()
        for t in runs:
            t.start()
        for t in runs:
            t.join()
        elapsed = time.time() - began
        stats = emulator.stats

    rate_limited = stats["rate_limited"].get("limit", 0)
    print(
        f"GHL throughput, one location, {args.seconds:.0f} s, {args.threads} threads, "
        f"emulator at 100 req / 10 s (wall {elapsed:.1f} s)"
    )
    print(f"{'client':<16}{'requests':>10}{'req/s':>8}{'of limit':>10}")
    shares = {}
    for name, starts in results.items():
        rate = len(starts) / args.seconds
        shares[name] = rate / LIMIT_PER_SECOND
        print(f"{name:<16}{len(starts):>10}{rate:>8.2f}{shares[name]:>10.1%}")
    speedup = shares["dealfinder"] / shares["seed (95/min)"]
    print(f"speed-up over the seed's limiter: {speedup:.1f}x")
    print(f"429s from the emulator's limits: {rate_limited}")
    ok = shares["dealfinder"] >= 0.95 and rate_limited == 0
    print("PASS" if ok else "FAIL", "(target: >= 95 % of the limit, zero 429s)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
