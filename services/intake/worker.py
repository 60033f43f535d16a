"""Drains the intake queue: each queued property goes through the deal pipeline that
`dealfinder import` uses, and its outcome is kept with the queue item for the status API.

    worker = IntakeWorker(engine=engine, location_id="loc_123", pipeline=lambda: pipeline)
    worker.drain()                 # work everything due now; returns how many items
    worker.start(); worker.wake(); worker.stop()   # a background thread (`dealfinder serve`)

Crash-safe: an item is claimed under a lease and marked done only after the pipeline
returned; a worker that dies mid-way leaves the item to be claimed again when the lease
ends, and the pipeline's own idempotency (MLS id -> opportunity link, progress marks, a
per-deal lock) makes the second run finish the deal instead of making another.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from ghl.errors import GHLAuthError, GHLDailyLimitError, GHLError, GHLPermissionError
from services.ghl_map import GHLMapError
from services.intake.queue import KIND, location_prefix
from services.pipeline.core import IN_PROGRESS
from services.property import PropertyRecord
from store import outbox
from store.db import session_scope
from store.models import OutboxItem
from store.types import utcnow

log = logging.getLogger("dealfinder.intake")

LEASE_SECONDS = 300.0  # one property costs a few GHL calls; a retry storm stays well below
BATCH = 10
POLL_SECONDS = 5.0  # a submission from another process is seen within this (a POST wakes it)
MAX_ATTEMPTS = 8
RETRY_SOON = timedelta(minutes=1)
BUSY_RETRY = timedelta(seconds=30)  # another process is working the deal: it takes seconds
RETRY_LATER = timedelta(minutes=15)  # GHL refused the token or the day's requests ran out


class DealBusy(RuntimeError):
    """The pipeline skipped the property because another process is working on it."""


def retry_delay(*, error: BaseException, attempts: int) -> timedelta | None:
    """When to try an item again after `error` on attempt `attempts` (None: give up)."""
    if attempts >= MAX_ATTEMPTS:
        return None
    if isinstance(error, GHLDailyLimitError | GHLAuthError | GHLPermissionError):
        return RETRY_LATER
    if isinstance(error, DealBusy):
        return BUSY_RETRY
    return RETRY_SOON * attempts


class IntakeWorker:
    """Works queued properties for one location; `pipeline` builds (or returns) the
    `DealPipeline` on first use, so a worker starts even while GHL is unreachable."""

    def __init__(
        self,
        *,
        engine: Engine,
        location_id: str,
        pipeline: Callable[[], Any],
        clock: Callable[[], datetime] = utcnow,
        poll_seconds: float = POLL_SECONDS,
        worker_id: str | None = None,
        batch: int = BATCH,
        own_location_only: bool = False,
        on_error: Callable[[BaseException], None] | None = None,
    ):
        """`own_location_only` keeps to `location_id`'s items (an agency worker: one per
        location); `on_error` sees each failure after it is recorded, and may raise to end
        the pass (a location whose day of GHL requests ran out)."""
        self.engine, self.location_id, self.clock = engine, location_id, clock
        self.batch, self.on_error = batch, on_error
        self.key_prefix = location_prefix(location_id) if own_location_only else None
        self._build_pipeline, self._pipeline = pipeline, None
        self.poll_seconds = poll_seconds
        self.worker_id = worker_id or (
            f"intake:{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        )
        self._wake, self._stop = threading.Event(), threading.Event()
        self._thread: threading.Thread | None = None
        self._drain_lock = threading.Lock()  # the pipeline is not thread-safe

    # -- one pass ------------------------------------------------------------------------

    def drain(self) -> int:
        """Work every due item (several passes of `BATCH`); returns how many were worked."""
        done = 0
        with self._drain_lock:
            while not self._stop.is_set():
                with session_scope(self.engine) as session:
                    items = outbox.claim_due(
                        session=session, now=self.clock(), worker_id=self.worker_id,
                        lease_seconds=LEASE_SECONDS, limit=self.batch, kinds=[KIND],
                        key_prefix=self.key_prefix,
                    )  # fmt: skip
                if not items:
                    return done
                for item in items:
                    self._work(item)
                    done += 1
        return done

    def _work(self, item: OutboxItem) -> None:
        assert item.id is not None
        try:
            record = PropertyRecord.parse((item.payload or {}).get("record") or {})
            if self._pipeline is None:
                self._pipeline = self._build_pipeline()
            result = self._pipeline.process(record)
        except (GHLError, GHLMapError, OSError, RuntimeError, ValueError, LookupError) as exc:
            self._failed(item, exc)
            return
        if result.action == "skipped" and result.reason == IN_PROGRESS:
            # Another process holds the deal's lock (an import of the same property): this
            # version may not be the one it is writing, so try again once it is done.
            self._failed(item, DealBusy(IN_PROGRESS))
            return
        with session_scope(self.engine) as session:
            outbox.mark_sent(
                session=session, item_id=item.id, worker_id=self.worker_id,
                result=result.as_dict(), now=self.clock(),
            )  # fmt: skip
        log.info("intake %s: %s", record.mls_id, result.action)

    def _failed(self, item: OutboxItem, exc: BaseException) -> None:
        assert item.id is not None
        delay = retry_delay(error=exc, attempts=item.attempts)
        now = self.clock()
        # The class and message only: GHL's errors carry no token, and the payload stays out.
        error = f"{type(exc).__name__}: {exc}"[:500]
        with session_scope(self.engine) as session:
            outbox.mark_failed(
                session=session, item_id=item.id, worker_id=self.worker_id, error=error,
                retry_at=now + delay if delay else None, now=now,
            )  # fmt: skip
        log.warning("intake item %s: %s (%s)", item.id, error,
                    f"retry in {delay}" if delay else "gave up")  # fmt: skip
        if self.on_error is not None:
            self.on_error(exc)

    # -- a background thread -----------------------------------------------------------

    def wake(self) -> None:
        """Work the queue now (after a submission) instead of at the next poll."""
        self._wake.set()

    def start(self) -> IntakeWorker:
        self._thread = threading.Thread(target=self._run, name="intake-worker", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the property in hand, then stop (an unfinished item is claimed again)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.drain()
            except Exception:  # the thread must outlive a bad pass (database away, a bug)
                log.exception("intake worker pass failed; trying again in %ss", self.poll_seconds)
            self._wake.wait(self.poll_seconds)
            self._wake.clear()
