"""An agency worker: locations shared between worker processes by lease (issue 14, item 4).

`dealfinder worker --agency` runs `run_agency_worker`. Every `lease_seconds / 3` it renews
and takes location leases (`store.location_leases`), starts a `LocationRunner` thread for
each location it newly holds and stops the ones it lost, released, or that stopped being
active (uninstalled or disabled: they are let go within one cycle). A location taken over from
a worker that died gets its in-flight intake items back at once (`outbox.expire_leases`); the
pipeline's progress marks and per-deal lock make finishing them safe (nothing done twice).

    stop = threading.Event()
    run_agency_worker(settings, engine=engine, client_for=parts.client_for, stop=stop,
                      web_client=runtime.web_client)   # with Slack: hot-deal cards too

With SLACK_BOT_TOKEN each location posts its own hot deals' cards in its own channel
(`bot.ops.agency_slack`); without it they wait in the store for a process with Slack.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from bot.ops.agency_slack import location_alerts
from bot.ops.location_jobs import location_jobs
from bot.ops.location_runner import POLL_SECONDS, LocationJob, LocationRunner
from bot.settings import Settings
from services.intake.queue import KIND, location_prefix
from store import outbox
from store.db import session_scope
from store.location_leases import LeaseCycle, LocationLeases
from store.locations import active_location_ids
from store.types import utcnow

log = logging.getLogger("dealfinder.agency")

Clock = Callable[[], datetime]


def active_locations(engine: Engine, *, configured: str | None = None) -> list[str]:
    """The locations to work now (`store.locations.active_location_ids`: installed, or the
    private-token location `configured`, and not disabled)."""
    with session_scope(engine, readonly=True) as session:
        return sorted(active_location_ids(session, configured=configured))


def worker_name() -> str:
    """This process's lease holder name: host, pid and a random tag (pids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class AgencyWorker:
    """The leases and location threads of one process; `step` is one lease cycle."""

    def __init__(
        self,
        *,
        engine: Engine,
        active: Callable[[], list[str]],
        pipeline_for: Callable[[str], Any],
        holder: str | None = None,
        lease_seconds: float = 30.0,
        poll_seconds: float = POLL_SECONDS,
        clock: Clock = utcnow,
        jobs_for: Callable[[str], Sequence[LocationJob]] | None = None,
    ) -> None:
        self.engine, self.active, self.pipeline_for = engine, active, pipeline_for
        self.jobs_for = jobs_for or (lambda _location_id: ())
        self.holder = holder or worker_name()
        self.leases = LocationLeases(engine, holder=self.holder, lease_seconds=lease_seconds)
        self.lease_seconds, self.poll_seconds, self.clock = lease_seconds, poll_seconds, clock
        self.runners: dict[str, LocationRunner] = {}

    def step(self) -> LeaseCycle:
        """Renew and take leases, then start and stop location threads to match."""
        cycle = self.leases.cycle(active=self.active(), now=self.clock())
        for location_id in [loc for loc in self.runners if loc not in cycle.held]:
            log.info("location %s: no longer held by %s", location_id, self.holder)
            self.runners.pop(location_id).stop()
        for location_id in cycle.held:
            if location_id in self.runners and self.runners[location_id].alive:
                continue
            if location_id in cycle.taken_over:
                self._take_over(location_id, cycle.taken_over[location_id])
            self.runners[location_id] = self._runner(location_id).start()
        return cycle

    def run(self, stop: threading.Event) -> None:
        """Lease cycles until `stop` is set; then stop the threads and let go of the leases."""
        try:
            while not stop.is_set():
                try:
                    self.step()
                except Exception:  # the store is away: keep the threads, try again
                    log.exception("lease cycle failed; trying again")
                stop.wait(self.lease_seconds / 3)
        finally:
            self.shutdown()

    def shutdown(self, timeout: float = 30.0) -> None:
        for runner in self.runners.values():
            runner.stop()
        for runner in self.runners.values():
            runner.stop(timeout=timeout)
        self.runners.clear()
        try:
            self.leases.release_all(now=self.clock())
        except Exception:  # the leases expire by themselves
            log.exception("could not release the location leases")

    def _runner(self, location_id: str) -> LocationRunner:
        return LocationRunner(
            engine=self.engine, location_id=location_id, holder=self.holder,
            pipeline=lambda: self.pipeline_for(location_id), clock=self.clock,
            poll_seconds=self.poll_seconds, jobs=self.jobs_for(location_id),
        )  # fmt: skip

    def _take_over(self, location_id: str, lost_by: str) -> None:
        worker_id = f"{self.holder}:{location_id}"[:128]
        with session_scope(self.engine) as session:
            count = outbox.expire_leases(
                session=session, key_prefix=location_prefix(location_id), kinds=[KIND],
                except_worker=worker_id, now=self.clock(),
            )  # fmt: skip
        log.warning("location %s taken over from %s (%d items in flight handed back)",
                    location_id, lost_by, count)  # fmt: skip


def pipeline_factory(
    settings: Settings,
    *,
    engine: Engine,
    client_for: Callable[[str], Any],
    alerts_for: Callable[[str], Any] | None = None,
) -> Callable[[str], Any]:
    """`location_id -> DealPipeline` with that location's client, map and SMS rules (its
    profile in the store, `services.locations.profile_for`: overrides over the defaults);
    with `alerts_for` (Slack), its hot deals post their cards at once."""
    from services.ghl_map import GHLMapSource
    from services.locations import profile_for
    from services.pipeline.core import DealPipeline

    def build(location_id: str) -> Any:
        client = client_for(location_id)
        with session_scope(engine, readonly=True) as session:
            profile = profile_for(session, location_id, settings)
        config = profile.config
        hooks = [alerts_for(location_id).on_hot_deal] if alerts_for is not None else []
        return DealPipeline(
            client, engine, config, GHLMapSource(client, config).get(), rules=profile.rules,
            on_hot_deal=hooks,
        )  # fmt: skip

    return build


def run_agency_worker(
    settings: Settings,
    *,
    engine: Engine,
    client_for: Callable[[str], Any],
    stop: threading.Event,
    poll_seconds: float = POLL_SECONDS,
    web_client: Any | None = None,
) -> None:
    """Work every active location this process can lease until `stop` is set; with
    `web_client` (SLACK_BOT_TOKEN), each location also posts its hot-deal cards."""
    # A Private Integration Token reaches its one location: other installed ones are not ours.
    only = settings.ghl_location_id if settings.ghl_api_key is not None else None

    def active() -> list[str]:
        found = active_locations(engine, configured=only)
        return [loc for loc in found if loc == only] if only else found

    holder = worker_name()
    alerts_for = None
    if web_client is not None:
        alerts_for = location_alerts(
            settings, engine=engine, client_for=client_for, web_client=web_client,
            worker_id=f"agency-alerts:{holder}",
        )  # fmt: skip
    worker = AgencyWorker(
        engine=engine,
        active=active,
        pipeline_for=pipeline_factory(
            settings, engine=engine, client_for=client_for, alerts_for=alerts_for
        ),
        holder=holder,
        lease_seconds=settings.lease_seconds,
        poll_seconds=poll_seconds,
        jobs_for=location_jobs(
            settings, engine=engine, client_for=client_for, alerts_for=alerts_for
        ),
    )
    log.info("agency worker %s started (lease %ss)", worker.holder, settings.lease_seconds)
    worker.run(stop)
