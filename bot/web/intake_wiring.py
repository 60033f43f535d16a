"""The intake API in `dealfinder serve`: its routes on the bot's port.

    routes = intake_routes(settings, services, worker=runtime.intake_worker)  # "/api/*"

The worker (`bot.runtime.Runtime.intake_worker`) turns the queue into deals through the
process's one pipeline; a submission wakes it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from bot.settings import Settings
from bot.web.api_tokens import RateLimiter
from bot.web.intake_api import API_PREFIX, IntakeParts, create_intake_app, intake_wsgi
from services.intake.worker import IntakeWorker


def intake_parts(settings: Settings, services: Any, *, worker: IntakeWorker) -> IntakeParts:
    return IntakeParts(
        engine=services.engine, location_id=services.ghl.location_id,
        tokens=settings.api_tokens, limiter=RateLimiter(per_minute=settings.api_rate_per_minute),
        max_body=settings.api_max_body_bytes, desk=services.desk, on_submitted=worker.wake,
        clock=services.clock,
    )  # fmt: skip


def intake_routes(
    settings: Settings, services: Any, *, worker: IntakeWorker
) -> Mapping[str, Callable[..., object]]:
    """`/api/*` (the intake API) for the bot's WSGI server."""
    parts = intake_parts(settings, services, worker=worker)
    return {f"{API_PREFIX}/*": intake_wsgi(create_intake_app(parts))}
