"""The WSGI application: GHL's request pipeline in front of the handlers.

Order, per request: token (401) -> rate limits (429) -> injected faults -> route (404) ->
OpenAPI request check (422 body / 400 other) -> location access (403) -> handler -> OpenAPI
response check (recorded, never altered). Every answer carries the five rate-limit headers.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.wrappers import Request, Response

from sandbox.ghl_emulator import (
    handlers_contacts,
    handlers_conversation_reads,
    handlers_conversations,
    handlers_locations,
    handlers_oauth,
    handlers_opportunities,
)
from sandbox.ghl_emulator.calls import (
    NO_ACCESS,
    REASONS,
    ApiError,
    Call,
    Handler,
    Reply,
    error_body,
)
from sandbox.ghl_emulator.config import EmulatorConfig
from sandbox.ghl_emulator.events import EventEmitter
from sandbox.ghl_emulator.faults import FaultDecision, FaultPlan
from sandbox.ghl_emulator.limits import RateLimiter
from sandbox.ghl_emulator.spec import GHLSpecs, OperationMatch
from sandbox.ghl_emulator.spec_problems import error_body_problems
from sandbox.ghl_emulator.state import State
from sandbox.ghl_emulator.stats import Stats

log = logging.getLogger(__name__)

ROUTES: dict[tuple[str, str], Handler] = {
    **handlers_contacts.ROUTES,
    **handlers_opportunities.ROUTES,
    **handlers_conversations.ROUTES,
    **handlers_conversation_reads.ROUTES,
    **handlers_locations.ROUTES,
}
UNKNOWN_TEMPLATE = "(no route)"
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class _Dropped(Exception):
    """The connection was closed on purpose; nothing is to be answered."""


def drop_connection(environ: dict[str, Any]) -> None:
    """Close the client's TCP connection without an answer (werkzeug's server only)."""
    sock = environ.get("werkzeug.socket")
    if sock is not None:
        with contextlib.suppress(OSError):  # the client may have gone already
            sock.shutdown(socket.SHUT_RDWR)
    raise _Dropped


class GHLApp:
    """GHL API v2 as a WSGI app over one `State`; `/_emulator/*` goes to `control`."""

    def __init__(
        self,
        *,
        config: EmulatorConfig,
        state: State,
        specs: GHLSpecs,
        limiter: RateLimiter,
        faults: FaultPlan,
        stats: Stats,
        control: WSGIApp,
        events: EventEmitter | None = None,
    ) -> None:
        self.config = config
        self.state = state
        self.specs = specs
        self.limiter = limiter
        self.faults = faults
        self.stats = stats
        self.control = control
        self.events = events  # webhooks for what calls change (sandbox.ghl_emulator.events)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        if request.path.startswith("/_emulator/"):
            return self.control(environ, start_response)
        try:
            if handlers_oauth.handles(request.path):  # token endpoints: no bearer, no limits
                response = handlers_oauth.serve_oauth(self, request, environ, drop_connection)
            else:
                response = self._serve(request, environ)
        except _Dropped:
            # werkzeug treats a ConnectionError as "client went away" and writes nothing.
            raise ConnectionAbortedError("connection dropped by the emulator") from None
        return response(environ, start_response)

    # -- pipeline ------------------------------------------------------------------------

    def _serve(self, request: Request, environ: dict[str, Any]) -> Response:
        method = request.method.upper()
        match = self.specs.operation_for(method, request.path)
        template = match.operation.template if match else UNKNOWN_TEMPLATE
        token = _bearer(request)
        location_id, quota = self._caller(token)
        if token is None or location_id is None:
            headers = self.limiter.peek("(unauthenticated)").headers
            return self._finish(
                request, match, template, Reply(401, _err(401, "Invalid JWT")), headers
            )
        limits = self.config.location_limits.get(location_id)
        rate = self.limiter.take(quota, limits)
        if not rate.allowed:
            self.stats.rate_limited(injected=False, location_id=location_id)
            extra = {"Retry-After": str(rate.retry_after)} if self.config.send_retry_after else {}
            reply = Reply(429, _err(429, "Too Many Requests"))
            return self._finish(
                request, match, template, reply, rate.headers | extra, location_id=location_id
            )
        fault = self.faults.decide(method, template if match else None, request.path)
        if fault.delay:
            self.stats.fault("slow")
            self.config.sleep(fault.delay)
        if fault.kind == "drop":
            self.stats.fault("drop")
            self.stats.request(method, template, 0)  # 0: no status was ever sent
            drop_connection(environ)
        injected = self._injected(fault, location_id)
        if injected is not None:
            reply, extra = injected
            headers = rate.headers
            if reply.status == 429:  # no 429 counts against the limits, injected ones neither
                self.limiter.refund(quota)
                headers = self.limiter.peek(quota, limits).headers
            return self._finish(
                request, match, template, reply, headers | extra, location_id=location_id
            )
        reply = self._handle(request, match, location_id)
        if fault.kind == "drop_after_commit":
            self.stats.fault("drop_after_commit")
            self.stats.request(method, template, 0)
            drop_connection(environ)
        return self._finish(request, match, template, reply, rate.headers, location_id=location_id)

    def _caller(self, token: str | None) -> tuple[str | None, str]:
        """The location a bearer token reaches (None: refused) and the quota it draws on.

        GHL counts per app per location: a private integration token is its own app; OAuth
        access tokens of one app and location share one quota however often they rotate.
        """
        if token is None:
            return None, ""
        location_id = self.state.tokens.get(token)
        if location_id is not None:
            return location_id, token
        grant = self.state.oauth.grant_for(token, now=self.config.clock())
        if grant is None:
            return None, token
        return grant.location_id, f"oauth:{grant.client_id}:{grant.location_id}"

    def _injected(
        self, fault: FaultDecision, location_id: str
    ) -> tuple[Reply, dict[str, str]] | None:
        if fault.kind in (None, "drop", "drop_after_commit"):
            return None
        self.stats.fault(fault.kind)
        if fault.kind == "server_error":
            status = fault.status or 500
            message = "Internal server error" if status == 500 else REASONS[status]
            return Reply(status, _err(status, message)), {}
        self.stats.rate_limited(injected=True, location_id=location_id)
        reply = Reply(429, _err(429, "Too Many Requests"))
        if fault.kind == "rate_limit":
            return reply, {"Retry-After": "1"}
        return reply, {}

    def _handle(self, request: Request, match: OperationMatch | None, location_id: str) -> Reply:
        method = request.method.upper()
        handler = ROUTES.get((method, match.operation.template)) if match else None
        if match is None or handler is None:
            # NestJS' answer for a route it does not have.
            return Reply(404, _err(404, f"Cannot {method} {request.path}"))
        raw = request.get_data(cache=True)
        _, problems = self.specs.request_problems(
            method, request.full_path, headers=request.headers, body=raw or None
        )
        if problems:
            texts = [p.text for p in problems]
            self.stats.violation(
                kind="request",
                method=method,
                path=request.path,
                template=match.operation.template,
                problems=texts,
            )
            if any(p.where == "body" for p in problems):
                return Reply(422, _err(422, texts))
            return Reply(400, _err(400, "; ".join(texts)))
        body = _json_or_none(raw)
        try:
            _check_location(request, match, body, location_id)
            with self.state.lock:
                call = Call(
                    method=method,
                    path=request.path,
                    template=match.operation.template,
                    params=match.path_params,
                    query=request.args,
                    body=body,
                    location_id=location_id,
                    now_ms=int(self.config.clock() * 1000),
                    state=self.state,
                    options={
                        "search_page_limit_max": self.config.search_page_limit_max,
                        "search_lag_ms": int(self.config.search_lag_seconds * 1000),
                        "search_cache": self.config.search_cache,
                        "base_url": request.host_url.rstrip("/"),
                    },
                )
                if method != "GET" and match.operation.template != "/contacts/search":
                    self.state.generation += 1  # a write: kept search hits are stale
                before = self.events.before(call) if self.events else None
                reply = handler(call)
                if before is not None:
                    self.events.after(call, before, reply)  # type: ignore[union-attr]
                return reply
        except ApiError as exc:
            return Reply(exc.status, _err(exc.status, exc.message, extra=exc.extra))
        except Exception as exc:
            # A handler crash is an emulator bug: answer like NestJS, and make tests fail.
            log.exception("emulator handler crashed on %s %s", method, match.operation.template)
            self.stats.violation(
                kind="response",
                method=method,
                path=request.path,
                template=match.operation.template,
                problems=[f"handler crashed: {type(exc).__name__}: {exc}"],
            )
            return Reply(500, _err(500, "Internal server error"))

    def _finish(
        self,
        request: Request,
        match: OperationMatch | None,
        template: str,
        reply: Reply,
        headers: dict[str, str],
        *,
        location_id: str | None = None,
    ) -> Response:
        raw = json.dumps(reply.body).encode()
        method = request.method.upper()
        self.stats.request(method, template, reply.status, location_id=location_id)
        if self.config.validate_responses:
            if match is not None:
                problems = [
                    p.text
                    for p in self.specs.response_problems(match, status=reply.status, body=raw)
                ]
            else:
                problems = error_body_problems(reply.status, raw)
            if problems:
                log.warning(
                    "emulator answer breaks the GHL files: %s %s %s", method, template, problems
                )
                self.stats.violation(
                    kind="response",
                    method=method,
                    path=request.path,
                    template=template,
                    problems=problems,
                )
        return Response(raw, status=reply.status, headers=headers, content_type="application/json")


def _err(status: int, message: str | list[str], *, extra: dict[str, Any] | None = None) -> dict:
    return error_body(status, message, trace_id=str(uuid.uuid4()), extra=extra)


def _json_or_none(raw: bytes) -> Any:
    # Bodies of operations that declare none are not checked by the spec; ignore them as GHL does.
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def _bearer(request: Request) -> str | None:
    value = request.headers.get("Authorization", "")
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _check_location(request: Request, match: OperationMatch, body: Any, location_id: str) -> None:
    """403 when the query, body or path names a location the token may not reach."""
    named = [
        request.args.get("locationId"),
        request.args.get("location_id"),
        match.path_params.get("locationId"),
        body.get("locationId") if isinstance(body, dict) else None,
    ]
    if any(n is not None and n != location_id for n in named):
        raise ApiError(403, NO_ACCESS)
