"""`GHLClient`: the facade the rest of DealFinder uses to talk to GoHighLevel API v2.

It takes plain constructor arguments (never the environment); `bot.runtime.Runtime`
builds one from Settings.

    client = GHLClient(base_url=..., token="pit-...", location_id="loc_123")
    client = GHLClient(base_url=..., auth=oauth_provider, location_id="loc_123")  # app install
    result = client.contacts.upsert({"email": "seller@example.com", "tags": ["dealfinder"]})
    client.opportunities.create({"contactId": result.contact.id, "pipelineId": ..., "name": ...})
    client.remaining()   # burst and daily headroom
"""

from __future__ import annotations

import copy
import random
import time
from collections.abc import Callable

import requests

from ghl.auth import TokenProvider
from ghl.ratelimit import Headroom, MemoryBackend, RateLimiter
from ghl.ratelimit_backends import Backend, RedisBackend
from ghl.resources.contacts import Contacts
from ghl.resources.conversations import Conversations
from ghl.resources.locations import Locations, Users, Workflows
from ghl.resources.opportunities import Opportunities
from ghl.retry import RetryPolicy
from ghl.transport import CallStats, Transport

GHL_BASE_URL = "https://services.leadconnectorhq.com"
# Where people open records in GHL's web app (links in Slack); the sandbox points it at the
# emulator's own read-only pages (`sandbox.ghl_emulator.pages`).
GHL_APP_URL = "https://app.gohighlevel.com"


def make_rate_backend(
    kind: str = "auto", *, database_url: str | None = None, redis_url: str | None = None
) -> Backend:
    """The limiter's shared state: Redis when configured, else the database, else memory.

    "auto" picks Redis if `redis_url` is set, else the database (so two processes on one
    SQLite file, or many on one PostgreSQL, share the window), else this process's memory.
    """
    if kind == "redis" or (kind == "auto" and redis_url):
        if not redis_url:
            raise ValueError("GHL_RATE_BACKEND=redis needs REDIS_URL")
        return RedisBackend(redis_url)
    if kind == "database" or (kind == "auto" and database_url):
        if not database_url:
            raise ValueError("GHL_RATE_BACKEND=database needs DATABASE_URL")
        from ghl.ratelimit_sql import SQLBackend

        return SQLBackend(database_url)
    return MemoryBackend()


class GHLClient:
    """One GHL location: its resources share one transport, one limiter and one set of stats."""

    def __init__(
        self,
        *,
        token: str | None = None,
        auth: TokenProvider | None = None,
        location_id: str,
        base_url: str = GHL_BASE_URL,
        limiter: RateLimiter | None = None,
        rate_backend: Backend | None = None,
        rate_margin: float = 0.03,
        retry: RetryPolicy | None = None,
        timeout: float | tuple[float, float] = (5.0, 30.0),
        session: requests.Session | None = None,
        sleep: Callable[[float], None] | None = None,
        rand: Callable[[], float] | None = None,
        app_url: str = GHL_APP_URL,
    ):
        self.location_id = location_id
        self.app_url = app_url.rstrip("/")
        self.base_url = base_url.rstrip("/")
        self.limiter = limiter or RateLimiter(
            rate_backend or MemoryBackend(), key=location_id, margin=rate_margin
        )
        self.transport = Transport(
            base_url=base_url,
            token=token,
            auth=auth,
            limiter=self.limiter,
            retry=retry,
            timeout=timeout,
            session=session,
            sleep=sleep or time.sleep,
            rand=rand or random.random,
        )
        self._bind_resources()

    def _bind_resources(self) -> None:
        location_id = self.location_id
        self.contacts = Contacts(self.transport, location_id)
        self.opportunities = Opportunities(self.transport, location_id)
        self.conversations = Conversations(self.transport, location_id)
        self.locations = Locations(self.transport, location_id)
        self.users = Users(self.transport, location_id)
        self.workflows = Workflows(self.transport, location_id)

    def with_budget(self, *, timeout: tuple[float, float], max_retries: int = 0) -> GHLClient:
        """The same client (token, location, limiter, stats) with its own short timeouts and
        retries, for probes such as the health check and `/readyz`.

            client.with_budget(timeout=(3.0, 5.0)).locations.get()   # at most ~5 s
        """
        quick = copy.copy(self)
        quick.transport = self.transport.with_budget(
            timeout=timeout, retry=RetryPolicy(max_retries=max_retries)
        )
        quick._bind_resources()
        return quick

    @property
    def stats(self) -> CallStats:
        return self.transport.stats

    def remaining(self) -> Headroom:
        """Burst and daily headroom, for the health check."""
        return self.limiter.remaining()

    def opportunity_url(self, opportunity_id: str) -> str:
        """Where a person opens this deal in GHL's web app."""
        return (
            f"{self.app_url}/v2/location/{self.location_id}"
            f"/opportunities/list?opportunityId={opportunity_id}"
        )

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> GHLClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
