"""The intake API: the analysis module hands analysed properties to DealFinder over HTTP.

    POST /api/properties            one property (JSON object) or a list of them -> 202
    GET  /api/properties/{mls_id}   stage, owner, GHL link, Slack alert, buyer matches, errors
    GET  /api/openapi.json          the OpenAPI document (no token needed)

Every call carries ``Authorization: Bearer <token>`` (`DEALFINDER_API_TOKEN`, several named
tokens). Answers in order of checking: 503 not configured, 401 no or unknown token, 429 over
the token's rate (Retry-After), 413 body over the limit, 400 not JSON, 422 a record refused
(per field, nothing queued), 202 queued. The work happens after the answer
(`services.intake.worker`).

FastAPI builds the routes, the security scheme and the response models into the document;
the request body's schema comes from `PropertyRecord`, the model that validates it
(`bot.web.intake_schema`). `intake_wsgi` bridges it to WSGI so waitress serves it on the bot's
port beside Slack's endpoint (`bot.web.server.build_wsgi_app(extra_routes={"/api/*": ...})`).
"""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations at runtime,
# and `caller` is a local name a string annotation could not be resolved to.

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from a2wsgi import ASGIMiddleware
from fastapi import Depends, FastAPI, HTTPException, Path, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from starlette.concurrency import run_in_threadpool

from bot.web.api_tokens import ApiTokens, RateLimiter, retry_after_header
from bot.web.intake_schema import body_schema, property_schema
from services.desk import DealDesk
from services.intake.queue import MAX_RECORDS, IntakeRejected, submit_properties, validate_records
from services.intake.status import property_status
from store.types import utcnow

log = logging.getLogger("dealfinder.api")

API_PREFIX = "/api"
MLS_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
REALM = 'Bearer realm="dealfinder"'


@dataclass
class IntakeParts:
    """What the API needs from the process that serves it."""

    engine: Engine
    location_id: str
    tokens: ApiTokens | None
    limiter: RateLimiter
    max_body: int = 1_000_000
    desk: DealDesk | None = None
    on_submitted: Callable[[], None] | None = None  # e.g. the worker's wake()
    clock: Callable[[], datetime] = utcnow


# -- response models (their schemas go into the document) -------------------------------------


class Accepted(BaseModel):
    mls_id: str
    version: str = Field(description="A hash of the record; equal hashes are the same record")
    queued: bool = Field(description="False when this very record was already queued or done")
    state: str = Field(description="queued | processing | done | failed")
    status_url: str = Field(description="Where `GET` tells what became of it (server-relative)")
    warnings: list[str] = []


class AcceptedBatch(BaseModel):
    properties: list[Accepted]


class Alert(BaseModel):
    status: str = Field(description="posted | queued | failed | none | not_hot")
    channel: str | None = None
    ts: str | None = None


class Match(BaseModel):
    contact_id: str
    name: str
    score: int


class PropertyStatus(BaseModel):
    mls_id: str
    state: str = Field(description="queued | processing | done | failed")
    received_at: str | None = None
    attempts: int = 0
    action: str | None = Field(None, description="created | updated | skipped | failed")
    reason: str | None = None
    hot: bool = False
    stage: str | None = None
    owner: str | None = None
    opportunity_id: str | None = None
    opportunity_url: str | None = None
    alert: Alert
    matches: list[Match] = []
    warnings: list[str] = []
    errors: list[str] = []


class Problem(BaseModel):
    detail: str


class FieldProblem(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class Refused(BaseModel):
    detail: list[FieldProblem]


def _problem(status: int, detail: str, headers: dict[str, str] | None = None) -> HTTPException:
    return HTTPException(status_code=status, detail=detail, headers=headers)


# -- the app ---------------------------------------------------------------------------------


def create_intake_app(parts: IntakeParts) -> FastAPI:
    """The API as an ASGI app (`intake_wsgi` for waitress)."""
    app = FastAPI(
        title="DealFinder intake API",
        version="1",
        description="Analysed properties in; worked GHL deals, Slack alerts and buyer matches "
        "out. Authenticate with `Authorization: Bearer <token>` (DEALFINDER_API_TOKEN).",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,  # the interactive pages load scripts from a CDN; the JSON is enough
        redoc_url=None,
    )
    bearer = HTTPBearer(auto_error=False, description="A token from DEALFINDER_API_TOKEN")

    def caller(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> str:
        """The token's name; 503/401/429 otherwise."""
        if parts.tokens is None:
            raise _problem(503, "the intake API is off: set DEALFINDER_API_TOKEN and restart")
        name = parts.tokens.name_for(credentials.credentials) if credentials else None
        if name is None:
            why = "a token that is not in DEALFINDER_API_TOKEN" if credentials else "no token"
            raise _problem(401, f"{why}: send Authorization: Bearer <token>",
                           {"WWW-Authenticate": REALM})  # fmt: skip
        wait = parts.limiter.take(name)
        if wait > 0:
            raise _problem(429, f"token {name!r} is over {parts.limiter.capacity:.0f} requests "
                           "a minute (DEALFINDER_API_RATE_PER_MINUTE)",
                           {"Retry-After": retry_after_header(wait)})  # fmt: skip
        return name

    common: dict[int | str, dict[str, Any]] = {
        401: {"model": Problem, "description": "No token, or one that is not known"},
        429: {"model": Problem, "description": "Over the token's rate; see Retry-After"},
        503: {"model": Problem, "description": "The API is not configured, or the store is away"},
    }

    @app.post(
        f"{API_PREFIX}/properties",
        status_code=202,
        response_model=AcceptedBatch,
        summary="Queue analysed properties to become worked GHL deals",
        responses={
            **common,
            400: {"model": Problem, "description": "The body is not JSON"},
            413: {"model": Problem, "description": "The body is over the size limit"},
            422: {"model": Refused, "description": "Records refused, per field; none queued"},
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": body_schema(max_records=MAX_RECORDS)}},
            }
        },
    )
    async def submit(request: Request, name: Annotated[str, Depends(caller)]) -> Any:
        body = await _read_body(request, limit=parts.max_body)
        try:
            raw = json.loads(body)
        except (ValueError, RecursionError) as exc:
            raise _problem(400, f"the body is not valid JSON: {str(exc)[:200]}") from None
        try:
            records = validate_records(raw)
        except IntakeRejected as exc:
            return JSONResponse(status_code=422,
                                content={"detail": [e.as_dict() for e in exc.errors]})  # fmt: skip
        statuses = await run_in_threadpool(
            submit_properties, records, engine=parts.engine, location_id=parts.location_id,
            source=f"api:{name}", now=parts.clock(),
        )  # fmt: skip
        if parts.on_submitted is not None:
            parts.on_submitted()
        log.info("intake: %s queued %d of %d record(s)", name,
                 sum(s.queued for s in statuses), len(statuses))  # fmt: skip
        return AcceptedBatch(properties=[
            Accepted(mls_id=s.mls_id, version=s.version, queued=s.queued, state=s.state,
                     status_url=f"{API_PREFIX}/properties/{s.mls_id}", warnings=s.warnings)
            for s in statuses
        ])  # fmt: skip

    @app.get(
        f"{API_PREFIX}/properties/{{mls_id}}",
        response_model=PropertyStatus,
        summary="What became of a submitted property",
        responses={**common, 404: {"model": Problem, "description": "Nobody sent this MLS id"}},
    )
    async def status(
        mls_id: Annotated[str, Path(pattern=MLS_PATTERN, max_length=64)],
        name: Annotated[str, Depends(caller)],
    ) -> Any:
        found = await run_in_threadpool(
            property_status, mls_id, engine=parts.engine, location_id=parts.location_id,
            desk=parts.desk,
        )  # fmt: skip
        if found is None:
            raise _problem(404, f"no property {mls_id} was submitted or imported")
        return found

    @app.exception_handler(OperationalError)
    async def store_away(request: Request, exc: OperationalError) -> JSONResponse:
        log.warning("intake API: the store is unavailable: %s", type(exc).__name__)
        return JSONResponse(status_code=503, content={"detail": "the store is unavailable; "
                            "try again shortly"}, headers={"Retry-After": "30"})  # fmt: skip

    original_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = original_openapi()
            document.setdefault("components", {}).setdefault("schemas", {})["Property"] = (
                property_schema()
            )
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


async def _read_body(request: Request, *, limit: int) -> bytes:
    """The body, or 413 as soon as it is known to pass `limit` (before reading it all)."""
    declared = request.headers.get("content-length", "")
    too_large = f"the body is over the limit of {limit:,} bytes (DEALFINDER_API_MAX_BODY); "
    too_large += "send fewer records per request"
    if declared.isdigit() and int(declared) > limit:
        raise _problem(413, too_large)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _problem(413, too_large)
    return bytes(body)


def intake_wsgi(app: FastAPI) -> Callable[..., Any]:
    """The ASGI app as a WSGI app, for waitress (a2wsgi runs it on one event loop thread)."""
    return ASGIMiddleware(app)  # type: ignore[arg-type]
