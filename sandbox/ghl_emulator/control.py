"""`/_emulator/*`: the control API, for processes that cannot hold the `Emulator` object.

    GET  /_emulator/stats    requests by method + template + status, 429s by cause, violations
    GET  /_emulator/state    every record as JSON
    POST /_emulator/faults   {"server_error": 0.1, "seed": 3, "queue": [{"method": "POST",
                              "path": "/conversations/messages", "kind": "drop", "times": 1}]}
    POST /_emulator/reset    back to an empty emulator
    POST /_emulator/seed     {"demo": true, "buyers": 200, "seed": 1, "locationId": "loc_demo"}
                             or {"agency": 10, "buyers": 20, "distinctPipelines": false}
    GET  /_emulator/limits   the locations with limits of their own
    POST /_emulator/limits   {"locationId": "loc_agency_02", "burstMax": 100,
                              "burstIntervalMs": 10000, "dailyMax": 50} (only locationId: back
                              to the defaults)
    POST /_emulator/oauth    {"choice": {"userType": "Company", "companyId": "c1",
                              "locations": ["loc_a"]}, "accessSeconds": 120, "expire": true}
    GET  /_emulator/oauth    token requests by grant type and outcome (never the tokens)
    /_emulator/webhooks*, /_emulator/simulate/*   webhooks out (`control_events`)

No auth, no rate limits, no faults: it is not part of GHL.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from sandbox.ghl_emulator import control_events, pages
from sandbox.ghl_emulator.config import DEMO_LOCATION_ID
from sandbox.ghl_emulator.faults import Faults
from sandbox.ghl_emulator.limits import Limits
from sandbox.ghl_emulator.oauth_state import InstallChoice

if TYPE_CHECKING:
    from sandbox.ghl_emulator.server import Emulator


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data), status=status, content_type="application/json")


class ControlAPI:
    """A WSGI app over one `Emulator`."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        try:
            response = self._route(request)
        except (ValueError, TypeError) as exc:
            response = _json({"error": str(exc)}, 400)
        return response(environ, start_response)

    def _route(self, request: Request) -> Response:
        emulator = self.emulator
        action = (request.method, request.path.rstrip("/"))
        if action == ("GET", "/_emulator/stats"):
            return _json(emulator.stats)
        if action == ("GET", "/_emulator/state"):
            return _json(emulator.state.snapshot())
        if action == ("POST", "/_emulator/reset"):
            emulator.reset()
            return _json({"reset": True})
        if action == ("POST", "/_emulator/faults"):
            body = _body(request)
            queue = body.pop("queue", [])
            emulator.set_faults(Faults.from_dict(body))
            for entry in queue:
                emulator.queue_fault(
                    entry["method"],
                    entry["path"],
                    entry["kind"],
                    times=int(entry.get("times", 1)),
                    status=entry.get("status"),
                    seconds=entry.get("seconds"),
                )
            return _json({"faults": asdict(emulator.faults), "queued": len(queue)})
        if action == ("POST", "/_emulator/seed"):
            body = _body(request)
            if "agency" in body:
                return _json({"locations": _seed_agency(emulator, body)})
            if not body.get("demo", True):
                raise ValueError('only the demo data set exists: send {"demo": true}')
            summary = emulator.seed_demo(
                buyers=int(body.get("buyers", 200)),
                seed=int(body.get("seed", 1)),
                location_id=str(body.get("locationId", DEMO_LOCATION_ID)),
            )
            return _json({"seeded": summary})
        if action[1] == "/_emulator/limits":
            return _limits(emulator, request)
        if action[1] == "/_emulator/oauth":
            return _oauth(emulator, request)
        if request.path.startswith(pages.APP_PREFIX):
            return pages.route(emulator.state, request) or _json({"error": "no such page"}, 404)
        found = control_events.route(
            emulator, request, _body(request) if request.method == "POST" else {}
        )
        if found is not None:
            return found
        return _json({"error": f"no control endpoint {request.method} {request.path}"}, 404)


def _oauth(emulator: Emulator, request: Request) -> Response:
    """How the chooser approves, how long access tokens live, expiring them; the call log."""
    registry = emulator.state.oauth
    if request.method == "POST":
        body = _body(request)
        with registry.lock:
            if "choice" in body:
                choice = body["choice"]
                registry.choice = InstallChoice(
                    user_type=str(choice.get("userType", "Location")),
                    location_id=choice.get("locationId"),
                    company_id=str(choice.get("companyId", "comp_demo")),
                    locations=tuple(choice.get("locations", ())),
                )
            if "accessSeconds" in body:
                registry.access_seconds = int(body["accessSeconds"])
        if body.get("expire"):
            registry.expire()
    with registry.lock:
        calls = [{"grantType": c["grant_type"], "outcome": c["outcome"]} for c in registry.calls]
        return _json({"calls": calls, "accessTokens": len(registry.access)})


def _count(body: dict[str, Any], name: str, default: int, *, low: int = 0) -> int:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name} must be a whole number of at least {low}, not {value!r}")
    return value


def _seed_agency(emulator: Emulator, body: dict[str, Any]) -> list[str]:
    return emulator.seed_agency(
        _count(body, "agency", 0, low=1),
        buyers=_count(body, "buyers", 20),
        seed=_count(body, "seed", 1),
        distinct_pipelines=bool(body.get("distinctPipelines", False)),
    )


def _limits(emulator: Emulator, request: Request) -> Response:
    """A location's own limits: set (any of burstMax, burstIntervalMs, dailyMax) or cleared."""
    if request.method == "POST":
        body = _body(request)
        location_id = body.get("locationId")
        if not isinstance(location_id, str) or not location_id:
            raise ValueError("locationId (the location whose limits to set) is required")
        if {"burstMax", "burstIntervalMs", "dailyMax"} & set(body):
            base = emulator.config.location_limits.get(location_id) or emulator.limiter.limits
            limits = Limits(
                burst_max=_count(body, "burstMax", base.burst_max),
                burst_interval_ms=_count(body, "burstIntervalMs", base.burst_interval_ms, low=1),
                daily_max=_count(body, "dailyMax", base.daily_max),
            )
            emulator.set_location_limits(location_id, limits)
        else:
            emulator.set_location_limits(location_id, None)
    own = {loc: asdict(limits) for loc, limits in emulator.config.location_limits.items()}
    return _json({"default": asdict(emulator.limiter.limits), "locations": own})


def _body(request: Request) -> dict[str, Any]:
    raw = request.get_data()
    if not raw:
        return {}
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("the body must be a JSON object")
    return data
