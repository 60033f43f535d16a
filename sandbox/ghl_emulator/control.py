"""`/_emulator/*`: the control API, for processes that cannot hold the `Emulator` object.

    GET  /_emulator/stats    requests by method + template + status, 429s by cause, violations
    GET  /_emulator/state    every record as JSON
    POST /_emulator/faults   {"server_error": 0.1, "seed": 3, "queue": [{"method": "POST",
                              "path": "/conversations/messages", "kind": "drop", "times": 1}]}
    POST /_emulator/reset    back to an empty emulator
    POST /_emulator/seed     {"demo": true, "buyers": 200, "seed": 1, "locationId": "loc_demo"}
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
            if not body.get("demo", True):
                raise ValueError('only the demo data set exists: send {"demo": true}')
            summary = emulator.seed_demo(
                buyers=int(body.get("buyers", 200)),
                seed=int(body.get("seed", 1)),
                location_id=str(body.get("locationId", DEMO_LOCATION_ID)),
            )
            return _json({"seeded": summary})
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


def _body(request: Request) -> dict[str, Any]:
    raw = request.get_data()
    if not raw:
        return {}
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("the body must be a JSON object")
    return data
