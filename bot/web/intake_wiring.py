"""The intake API in `dealfinder serve`: its routes on the bot's port and its worker thread.

    ROUTE_FACTORIES.append(intake_routes)     # "/api/*" beside /slack/events (one port)
    STARTUP_HOOKS.append(start_intake)        # the worker that turns the queue into deals

Both hooks get the process's (settings, services) and share one `IntakeWorker` per services.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from bot.settings import Settings
from bot.web.api_tokens import RateLimiter
from bot.web.intake_api import API_PREFIX, IntakeParts, create_intake_app, intake_wsgi
from services.intake.worker import IntakeWorker

_workers: dict[int, IntakeWorker] = {}
_lock = threading.Lock()


def build_worker(services: Any) -> IntakeWorker:
    """A worker whose pipeline is the import's, with the bot's hot-deal card as its hook."""

    def pipeline() -> Any:
        from services.ghl_map import GHLMap
        from services.pipeline.core import DealPipeline

        return DealPipeline(
            services.ghl, services.engine, services.config,
            GHLMap.load(services.ghl, services.config), clock=services.clock,
            on_hot_deal=[services.alerts.on_hot_deal], rules=services.rules,
        )  # fmt: skip

    return IntakeWorker(
        engine=services.engine, location_id=services.ghl.location_id, pipeline=pipeline,
        clock=services.clock,
    )  # fmt: skip


def worker_for(services: Any) -> IntakeWorker:
    """The one intake worker of the bot process whose `BotServices` is `services`."""
    with _lock:
        found = _workers.get(id(services))
        if found is None:
            found = _workers[id(services)] = build_worker(services)
        return found


def intake_parts(settings: Settings, services: Any, *, worker: IntakeWorker) -> IntakeParts:
    return IntakeParts(
        engine=services.engine, location_id=services.ghl.location_id,
        tokens=settings.api_tokens, limiter=RateLimiter(per_minute=settings.api_rate_per_minute),
        max_body=settings.api_max_body_bytes, desk=services.desk, on_submitted=worker.wake,
        clock=services.clock,
    )  # fmt: skip


def intake_routes(settings: Settings, services: Any) -> Mapping[str, Callable[..., object]]:
    """`/api/*` (the intake API) for the bot's WSGI server."""
    parts = intake_parts(settings, services, worker=worker_for(services))
    return {f"{API_PREFIX}/*": intake_wsgi(create_intake_app(parts))}


def start_intake(settings: Settings, services: Any) -> Callable[[], None]:
    """Start the intake worker thread; return how `serve` stops it on its way out."""
    worker = worker_for(services).start()
    return worker.stop
