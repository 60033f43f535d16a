"""The emulator object and its server: werkzeug's threaded server in a background thread.

emulator = Emulator(EmulatorConfig(burst_max=20, burst_interval_ms=1_000))
emulator.seed_demo(buyers=50)
with emulator.serve() as server:
    requests.get(f"{server.url}/contacts/abc", headers={...})
emulator.stats["rate_limited"], emulator.violations
"""

from __future__ import annotations

import random
import threading
from dataclasses import replace
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from bot.web.stoppable import StopsOnExit
from sandbox.ghl_emulator.agency import AGENCY_COMPANY_ID, agency_token, seed_agency
from sandbox.ghl_emulator.app import GHLApp
from sandbox.ghl_emulator.config import DEMO_LOCATION_ID, DEMO_TOKEN, EmulatorConfig
from sandbox.ghl_emulator.control import ControlAPI
from sandbox.ghl_emulator.demo_data import seed_demo
from sandbox.ghl_emulator.events import EventEmitter
from sandbox.ghl_emulator.faults import FaultPlan, Faults
from sandbox.ghl_emulator.limits import Limits, RateLimiter
from sandbox.ghl_emulator.spec import GHLSpecs, load_specs
from sandbox.ghl_emulator.state import State
from sandbox.ghl_emulator.stats import Stats
from sandbox.ghl_emulator.webhooks_out import WebhookSender


class _QuietHandler(WSGIRequestHandler):
    """werkzeug's handler without its access log line per request."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


class RunningServer(StopsOnExit):
    """A served emulator: `.url`, `.port`, `.stop()`; also a context manager."""

    def __init__(self, server: BaseWSGIServer, thread: threading.Thread) -> None:
        self._server = server
        self._thread = thread
        self.host = str(server.server_address[0])
        self.port = int(server.server_address[1])
        self.url = f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class Emulator:
    """GHL API v2 for tests, demos and benchmarks: state, limits, faults, checks, server."""

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.config = config or EmulatorConfig()
        self.specs: GHLSpecs = load_specs(self.config.openapi_dir)
        self.limiter = RateLimiter(
            Limits(self.config.burst_max, self.config.burst_interval_ms, self.config.daily_max),
            clock=self.config.clock,
        )
        self.fault_plan = FaultPlan(self.config.faults)
        self._stats = Stats()
        self.state = self._fresh_state()
        self._servers: list[RunningServer] = []
        self._expected_request_violations: int | None = 0
        self.webhooks = WebhookSender(
            clock=self.config.clock,
            url=self.config.webhook_url,
            jitter_s=self.config.webhook_retry_jitter_s,
            rng=random.Random(self.config.id_seed),
        )
        self.events = EventEmitter(self.state, self.webhooks)
        self.app = GHLApp(
            config=self.config,
            state=self.state,
            specs=self.specs,
            limiter=self.limiter,
            faults=self.fault_plan,
            stats=self._stats,
            control=ControlAPI(self),
            events=self.events,
        )

    def _fresh_state(self) -> State:
        rng = random.Random(self.config.id_seed)
        state = State(rng=rng, tokens=dict(self.config.tokens))
        for location_id in set(self.config.tokens.values()):
            state.ensure_location(location_id)
        return state

    # -- serving -------------------------------------------------------------------------

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> RunningServer:
        """Start serving in a background thread; port 0 picks a free one."""
        server = make_server(host, port, self.app, threaded=True, request_handler=_QuietHandler)
        # A short poll keeps stop() quick: shutdown() waits for the loop's next poll.
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="ghl-emulator",
            daemon=True,
        )
        thread.start()
        running = RunningServer(server, thread)
        self._servers.append(running)
        return running

    @property
    def wsgi_app(self) -> GHLApp:
        """The WSGI app itself, for in-process use without a server (e.g. dry-run)."""
        return self.app

    @property
    def url(self) -> str:
        """The URL of the most recent `serve()`."""
        if not self._servers:
            raise RuntimeError("the emulator is not being served; call serve() first")
        return self._servers[-1].url

    # -- data, faults, observation ---------------------------------------------------------

    def seed_demo(
        self, buyers: int = 200, seed: int = 1, *, location_id: str = DEMO_LOCATION_ID
    ) -> dict[str, int]:
        """Load demo data (default: `loc_demo`, token `emu-demo-token`) with `buyers` buyers."""
        return seed_demo(self.state, buyers=buyers, seed=seed, location_id=location_id)

    def seed_agency(
        self, locations: int, *, buyers: int = 20, seed: int = 1, distinct_pipelines: bool = False
    ) -> list[str]:
        """Seed an agency's `locations` sub-accounts (`sandbox.ghl_emulator.agency`); their ids."""
        return seed_agency(
            self.state,
            locations=locations,
            buyers=buyers,
            seed=seed,
            distinct_pipelines=distinct_pipelines,
        )

    def set_location_limits(self, location_id: str, limits: Limits | None) -> None:
        """Give one location limits of its own (None: back to the emulator's defaults)."""
        if limits is None:
            self.config.location_limits.pop(location_id, None)
        else:
            self.config.location_limits[location_id] = limits

    def reset(self) -> None:
        """Back to a fresh emulator: no records, counters, violations or faults."""
        fresh = self._fresh_state()
        with self.state.lock:
            for name in vars(fresh):
                if name != "lock":
                    setattr(self.state, name, getattr(fresh, name))
        self.limiter.reset()
        self.fault_plan.clear()
        self._stats.reset()
        self.webhooks.clear()

    @property
    def faults(self) -> Faults:
        return self.fault_plan.faults

    def set_faults(self, faults: Faults | None = None, **changes: Any) -> None:
        """Replace the random fault shares, e.g. `set_faults(Faults(drop=0.1))` or `(slow=1)`."""
        self.fault_plan.set(replace(faults or Faults(), **changes))

    def queue_fault(
        self,
        method: str,
        path_pattern: str,
        kind: str,
        *,
        times: int = 1,
        status: int | None = None,
        seconds: float | None = None,
    ) -> None:
        """Make the next `times` requests matching method + path (template or glob) fail."""
        self.fault_plan.queue(
            method, path_pattern, kind, times=times, status=status, seconds=seconds
        )

    @property
    def stats(self) -> dict[str, Any]:
        return self._stats.snapshot()

    def count(self, method: str, template: str, status: int | None = None) -> int:
        """How many `method template` calls were answered, optionally with `status`."""
        return self._stats.count(method, template, status)

    @property
    def violations(self) -> list[dict[str, Any]]:
        return list(self._stats.violations)

    def expect_request_violations(self, count: int | None = None) -> None:
        """Declare that this test sends invalid requests on purpose (`count`, or any number)."""
        self._expected_request_violations = count

    def unexpected_violations(self) -> list[dict[str, Any]]:
        """Response violations, plus request violations beyond what the test declared."""
        found = self.violations
        responses = [v for v in found if v["kind"] == "response"]
        requests_ = [v for v in found if v["kind"] == "request"]
        allowed = self._expected_request_violations
        if allowed is None or len(requests_) == allowed:
            return responses
        return responses + requests_

    def stop(self) -> None:
        self.webhooks.stop()
        while self._servers:
            self._servers.pop().stop()


def run_forever(
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    config: EmulatorConfig | None = None,
    demo: bool = False,
    buyers: int = 200,
    seed: int = 1,
    locations: int = 0,
) -> None:
    """Serve until Ctrl-C (for `python -m sandbox.ghl_emulator` and `dealfinder emulator`)."""
    emulator = Emulator(config)
    if demo:
        emulator.seed_demo(buyers=buyers, seed=seed)
    agency = emulator.seed_agency(locations, buyers=buyers, seed=seed) if locations else []
    running = emulator.serve(host, port)
    tokens = emulator.state.tokens
    print(f"GHL emulator at {running.url}", flush=True)
    if demo:
        print(f"demo location {DEMO_LOCATION_ID}, token {DEMO_TOKEN} ({buyers} buyers)", flush=True)
    if agency:
        print(
            f"agency {AGENCY_COMPANY_ID}: {len(agency)} locations {agency[0]}..{agency[-1]} "
            f"({buyers} buyers each), tokens {agency_token(agency[0])}..; the OAuth chooser "
            "approves them all as one company install",
            flush=True,
        )
    if not (demo or agency):
        locations = sorted(set(tokens.values()))
        print(f"{len(tokens)} token(s) configured for location(s) {locations}", flush=True)
    if emulator.webhooks.url:
        from sandbox.ghl_emulator.webhook_keys import TEST_PUBLIC_KEY

        emulator.webhooks.start()
        print(
            f"webhooks to {emulator.webhooks.url}, signed with the emulator's test key: "
            f"GHL_WEBHOOK_PUBLIC_KEY={TEST_PUBLIC_KEY}",
            flush=True,
        )
    print("control API: /_emulator/stats, /_emulator/state; Ctrl-C to stop", flush=True)
    stop = threading.Event()
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
