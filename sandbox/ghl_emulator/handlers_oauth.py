"""GHL's OAuth 2.0 for a Marketplace app (`apps/oauth.json`), as the emulator plays it.

- `GET /oauth/chooselocation`: GHL's location chooser (marketplace.gohighlevel.com in real
  life). Nobody clicks here: it approves `state.oauth.choice` by itself and redirects to the
  app's `redirect_uri` with `code` and `state`.
- `POST /oauth/token` (form-encoded, as the file says): `authorization_code` (a code works once,
  for 10 minutes) and `refresh_token`. Refresh tokens are single-use and rotate: once
  refreshed, only the new one works (ghl-api README, "GHL as it really behaves").
- `POST /oauth/locationToken`: a location token from a company token, for an approved location.
- Access tokens expire by the emulator's clock; an API call with an expired one gets 401.

Faults queued for `POST /oauth/token` apply: `drop` (nothing done), `drop_after_commit` (the
tokens are rotated, then the connection is closed: the refresh answer is lost).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

from werkzeug.wrappers import Request, Response

from sandbox.ghl_emulator.calls import error_body
from sandbox.ghl_emulator.oauth_state import Grant

if TYPE_CHECKING:
    from sandbox.ghl_emulator.app import GHLApp

CHOOSER_PATH = "/oauth/chooselocation"
TOKEN_TEMPLATE = "/oauth/token"  # noqa: S105 - a path
LOCATION_TOKEN_TEMPLATE = "/oauth/locationToken"  # noqa: S105 - a path


def handles(path: str) -> bool:
    return path.rstrip("/") in (CHOOSER_PATH, TOKEN_TEMPLATE, LOCATION_TOKEN_TEMPLATE)


def _json(status: int, body: dict[str, Any]) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


def _error(status: int, message: str, **extra: Any) -> Response:
    return _json(status, error_body(status, message, trace_id=str(uuid.uuid4()), extra=extra))


def serve_oauth(
    app: GHLApp, request: Request, environ: dict[str, Any], drop: Callable[[dict[str, Any]], None]
) -> Response:
    """Answer one OAuth request (the caller checked `handles(request.path)`)."""
    path = request.path.rstrip("/")
    if path == CHOOSER_PATH:
        return _choose_location(app, request)
    method = request.method.upper()
    if method != "POST":
        return _error(404, f"Cannot {method} {request.path}")
    raw = request.get_data(cache=True)
    match, problems = app.specs.request_problems(
        method, request.full_path, headers=request.headers, body=raw or None
    )
    if problems:
        texts = [p.text for p in problems]
        app.stats.violation(
            kind="request", method=method, path=request.path, template=path, problems=texts
        )
        status = 422 if any(p.where == "body" for p in problems) else 400
        return _finish(
            app, request, path, _error(status, texts if status == 422 else "; ".join(texts))
        )  # type: ignore[arg-type]
    fault = app.faults.decide(method, path, request.path)
    if fault.kind == "drop":
        app.stats.fault("drop")
        app.stats.request(method, path, 0)
        drop(environ)
    if fault.kind == "server_error":
        app.stats.fault("server_error")
        return _finish(app, request, path, _error(fault.status or 503, "Service Unavailable"))
    form = request.form
    now = app.config.clock()
    registry = app.state.oauth
    with registry.lock:
        if path == TOKEN_TEMPLATE:
            response, grant_type, outcome = _token(registry, form, now)
        else:
            response, grant_type, outcome = _location_token(registry, request, form, now)
        registry.calls.append({"grant_type": grant_type, "outcome": outcome, "at": now})
    if fault.kind == "drop_after_commit":
        app.stats.fault("drop_after_commit")
        app.stats.request(method, path, 0)
        drop(environ)
    return _finish(app, request, path, response, match=match)


def _finish(
    app: GHLApp, request: Request, template: str, response: Response, match=None
) -> Response:  # type: ignore[no-untyped-def]
    app.stats.request(request.method.upper(), template, response.status_code)
    if match is not None and app.config.validate_responses:
        problems = [
            p.text
            for p in app.specs.response_problems(
                match, status=response.status_code, body=response.get_data()
            )
        ]
        if problems:
            app.stats.violation(
                kind="response",
                method=request.method.upper(),
                path=request.path,
                template=template,
                problems=problems,
            )
    return response


def _choose_location(app: GHLApp, request: Request) -> Response:
    args = request.args
    registry = app.state.oauth
    client_id = args.get("client_id", "")
    redirect_uri = args.get("redirect_uri", "")
    if args.get("response_type") != "code" or client_id not in registry.apps:
        return _error(400, "Invalid client_id or response_type")
    if urlsplit(redirect_uri).scheme not in ("http", "https"):
        return _error(400, "Invalid redirect_uri")
    choice = registry.choice
    with app.state.lock:
        location_id = choice.location_id or next(iter(app.state.locations), None)
        if choice.user_type == "Location" and location_id:
            app.state.ensure_location(location_id).company_id = choice.company_id
    grant = Grant(
        client_id=client_id,
        user_type=choice.user_type,
        location_id=location_id if choice.user_type == "Location" else None,
        company_id=choice.company_id,
        approved_locations=tuple(choice.locations),
        scope=args.get("scope", ""),
    )
    with registry.lock:
        code = registry.new_code(grant, now=app.config.clock(), redirect_uri=redirect_uri)
    query = {"code": code} | ({"state": args["state"]} if args.get("state") else {})
    joiner = "&" if "?" in redirect_uri else "?"
    app.stats.request("GET", CHOOSER_PATH, 302)
    return Response(status=302, headers={"Location": redirect_uri + joiner + urlencode(query)})


def _token(registry, form, now: float) -> tuple[Response, str, str]:  # type: ignore[no-untyped-def]
    grant_type = form.get("grant_type", "")
    client_id = form.get("client_id", "")
    if registry.apps.get(client_id) != form.get("client_secret"):
        return _error(401, "Invalid client credentials", error="Unauthorized"), grant_type, "401"
    if grant_type == "authorization_code":
        found = registry.codes.pop(form.get("code", ""), None)
        if found is None or found[1] <= now or found[0].client_id != client_id:
            return _error(400, "Invalid grant: authorization code is invalid"), grant_type, "400"
        grant, _, redirect_uri = found
        if form.get("redirect_uri") and form["redirect_uri"] != redirect_uri:
            return _error(400, "Invalid grant: redirect_uri does not match"), grant_type, "400"
        return _json(200, registry.issue(grant, now=now)), grant_type, "200"
    if grant_type == "refresh_token":
        token = form.get("refresh_token", "")
        grant = registry.refresh.pop(token, None)  # single-use: gone from now on
        if grant is None or grant.client_id != client_id:
            return _error(400, "Invalid grant: refresh token is invalid"), grant_type, "400"
        registry.used_refresh.add(token)
        return _json(200, registry.issue(grant, now=now)), grant_type, "200"
    return _error(400, f"Unsupported grant_type {grant_type!r}"), grant_type, "400"


def _location_token(registry, request: Request, form, now: float) -> tuple[Response, str, str]:  # type: ignore[no-untyped-def]
    kind = "location_token"
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    found = registry.access.get(token.strip()) if scheme.lower() == "bearer" else None
    if found is None or found.expires_at <= now:
        return _error(401, "Invalid JWT", error="Unauthorized"), kind, "401"
    grant = found.grant
    if grant.user_type != "Company":
        return (
            _error(401, "This route is not yet supported by the IAM Service", error="Unauthorized"),
            kind,
            "401",
        )
    location_id = form.get("locationId", "")
    if form.get("companyId") != grant.company_id or location_id not in grant.approved_locations:
        return _error(400, "Location not approved for this app in this company"), kind, "400"
    location = Grant(
        client_id=grant.client_id,
        user_type="Location",
        location_id=location_id,
        company_id=grant.company_id,
        scope=grant.scope,
    )
    answer = registry.issue(location, now=now, with_refresh=False)
    answer.pop("companyId", None)
    return _json(200, answer), kind, "200"
