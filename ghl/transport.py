"""The one place DealFinder's GHL requests go through: session, headers, limiter, retries, errors.

Resource modules call `transport.request(...)` with the `Version` their OpenAPI file requires
and whether the call is safe to repeat; everything else (pacing, waiting out 429s, backing off
5xx, mapping errors, counting calls) happens here, once.

    t = Transport(base_url="https://services.leadconnectorhq.com", token="pit-...",
                  limiter=RateLimiter(key="loc_123"))
    data = t.request("GET", "/contacts/abc", version="2021-07-28", idempotent=True)
"""

from __future__ import annotations

import copy
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from ghl.auth import StaticToken, TokenProvider
from ghl.errors import (
    GHLConnectionError,
    GHLError,
    GHLServerError,
    GHLTimeoutError,
    error_from_response,
)
from ghl.ratelimit import RateLimiter, parse_headers
from ghl.redact import redact
from ghl.retry import RetryPolicy, backoff_delay, retry_delay

log = logging.getLogger("dealfinder.ghl")

USER_AGENT = "DealFinder/0.1 (+https://github.com/dealfinder)"


@dataclass
class CallStats:
    """Counts of what the transport did, for the import summary, health check and metrics."""

    requests: int = 0  # HTTP attempts sent
    calls: int = 0  # logical calls (a call with two retries is one call, three requests)
    retries: int = 0
    by_status: Counter[int] = field(default_factory=Counter)
    rate_limited: int = 0
    errors: Counter[str] = field(default_factory=Counter)  # by exception class name
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, **deltas: int) -> None:
        with self._lock:
            for name, delta in deltas.items():
                setattr(self, name, getattr(self, name) + delta)

    def count_status(self, status: int) -> None:
        with self._lock:
            self.by_status[status] += 1
            if status == 429:
                self.rate_limited += 1

    def count_error(self, error: Exception) -> None:
        with self._lock:
            self.errors[type(error).__name__] += 1


def _body(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text[:2000] if response.text else None


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None  # an HTTP date: rare from GHL; fall back to the burst window


def _connection_error(exc: requests.RequestException, method: str, path: str) -> GHLError:
    # ConnectTimeout and a refused/unresolvable connection mean the request never left; a read
    # timeout or a reset after sending means GHL may have acted on it.
    if isinstance(exc, requests.ConnectTimeout):
        return GHLTimeoutError(
            "GHL connection timed out", request_sent=False, method=method, path=path
        )
    if isinstance(exc, requests.Timeout):
        return GHLTimeoutError("GHL did not answer in time", method=method, path=path)
    text = str(exc)
    not_sent = any(
        marker in text
        for marker in (
            "NewConnectionError",
            "Connection refused",
            "Name or service not known",
            "Failed to resolve",
            "nodename nor servname",
        )
    )
    return GHLConnectionError(
        f"could not reach GHL: {type(exc).__name__}",
        request_sent=not not_sent,
        method=method,
        path=path,
    )


class Transport:
    """A pooled `requests.Session` with GHL's headers, pacing, retries and error mapping."""

    def __init__(
        self,
        *,
        base_url: str,
        token: str | None = None,
        auth: TokenProvider | None = None,
        limiter: RateLimiter,
        retry: RetryPolicy | None = None,
        timeout: float | tuple[float, float] = (5.0, 30.0),
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rand: Callable[[], float] = random.random,
        pool_size: int = 16,
    ):
        if auth is None:
            if token is None:
                raise ValueError("a transport needs a token or a token provider")
            auth = StaticToken(token)
        self.auth = auth
        self.base_url = base_url.rstrip("/")
        self.limiter = limiter
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self.stats = CallStats()
        self._sleep = sleep
        self._rand = rand
        self.session = session or requests.Session()
        if session is None:
            # Our own retry loop decides; urllib3 must not retry behind its back.
            adapter = HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)
            self.session.mount("https://", adapter)
            self.session.mount("http://", adapter)
        self.session.headers.update({"Accept": "application/json", "User-Agent": USER_AGENT})

    def close(self) -> None:
        self.session.close()

    def with_budget(self, *, timeout: float | tuple[float, float], retry: RetryPolicy) -> Transport:
        """This transport (session, token, limiter, stats) with other timeouts and retries.

        For probes that must answer quickly whatever the calls' own budget: a health check
        against a GHL that accepts connections and never answers took 4 x 30 s + backoff.
        """
        clone = copy.copy(self)
        clone.timeout = timeout
        clone.retry = retry
        return clone

    def _send(
        self,
        method: str,
        path: str,
        *,
        version: str,
        params: Mapping[str, Any] | None,
        json: Any,
        token: str,
    ) -> requests.Response:
        slot = self.limiter.acquire()
        self.stats.count(requests=1)
        headers = {"Authorization": f"Bearer {token}", "Version": version}
        try:
            response = self.session.request(
                method,
                self.base_url + path,
                params=params,
                json=json,
                headers=headers,
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            self.limiter.observe(None, slot=slot)  # GHL may have counted it all the same
            raise _connection_error(exc, method, path) from None
        self.limiter.observe(response.headers, slot=slot)
        self.stats.count_status(response.status_code)
        return response

    def request(
        self,
        method: str,
        path: str,
        *,
        version: str,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        idempotent: bool,
    ) -> Any:
        """Send one logical call, retrying where that is safe; return the parsed JSON body.

        `idempotent` says whether repeating the call after an unknown outcome (5xx, lost
        response) is harmless. Raises a `GHLError` subclass when it gives up.
        """
        self.stats.count(calls=1)
        attempt = 0
        renewed = False
        while True:
            attempt += 1
            try:
                token = self.auth.token()
                response = self._send(
                    method, path, version=version, params=params, json=json, token=token
                )
                # An OAuth access token can expire between our check and GHL's: the provider
                # renews it once and the call is repeated once (GHL refused it, so it did not
                # act on it; safe even for a create or an SMS).
                if response.status_code == 401 and not renewed:
                    renewed = True
                    if self.auth.renew_after_401(token):
                        attempt -= 1
                        continue
                if response.status_code < 400:
                    log.debug("GHL %s %s -> %s", method, path, response.status_code)
                    return _body(response) if response.content else None
                error = self._status_error(response, method, path)
            except GHLConnectionError as exc:
                error = exc
            delay = retry_delay(
                error, attempt=attempt, policy=self.retry, idempotent=idempotent, rand=self._rand
            )
            if delay is None:
                self.stats.count_error(error)
                log.warning("GHL %s %s failed: %s", method, path, redact(str(error)))
                raise error
            self.stats.count(retries=1)
            log.info(
                "GHL %s %s: %s; retry %d/%d in %.1fs",
                method,
                path,
                type(error).__name__,
                attempt,
                self.retry.max_retries,
                delay,
            )
            self._sleep(delay)

    def create(self, path: str, *, version: str, json: Any, find: Callable[[], Any | None]) -> Any:
        """POST something that must exist once, retrying safely by looking before re-creating.

        GHL's create endpoints take no idempotency key, so after a 5xx or a lost response the
        thing may or may not exist. `find()` looks for it (e.g. a task with this title and due
        date on this contact) and returns it shaped like the POST's answer, or None; only when
        it is not there is the POST repeated.
        """
        attempt = 0
        while True:
            try:
                return self.request("POST", path, version=version, json=json, idempotent=False)
            except (GHLServerError, GHLConnectionError) as exc:
                attempt += 1
                sent = not isinstance(exc, GHLConnectionError) or exc.request_sent
                if not sent or attempt > self.retry.max_retries:
                    raise
                self._sleep(backoff_delay(attempt, policy=self.retry, rand=self._rand))
                self.stats.count(retries=1)
                found = find()
                if found is not None:
                    log.info("GHL POST %s: found after an unknown outcome; not re-created", path)
                    return found

    def _status_error(self, response: requests.Response, method: str, path: str) -> GHLError:
        body = _body(response)
        return error_from_response(
            status=response.status_code,
            body=body,
            method=method,
            path=path,
            request_id=response.headers.get("X-Request-Id")
            or (body.get("traceId") if isinstance(body, dict) else None),
            retry_after=_retry_after(response.headers),
            limits=parse_headers(response.headers),
        )
