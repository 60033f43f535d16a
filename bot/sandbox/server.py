"""A local web page standing in for the Slack client, over the Slack fake and the real bot.

The page shows the fake's channels rendered from their Block Kit; what a person types or clicks
is sent to the bot exactly as Slack would send it — signed slash commands, `block_actions` and
`view_submission` payloads through `SlackDriver` — so the sandbox exercises production code.

    app = SandboxApp(fake=fake, driver=driver)
    make_server("127.0.0.1", 8080, app)          # then open http://127.0.0.1:8080/
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from importlib.resources import files
from typing import Any

from werkzeug.exceptions import BadRequest, HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from bot.sandbox.emoji import EMOJI
from bot.slack_fake import SlackDriver, SlackFake

log = logging.getLogger("dealfinder.sandbox")

SANDBOX_USERS = ("U0BROKER1", "U0AGENT01", "U0AGENT02", "U0ADMIN01")


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data), status=status, mimetype="application/json")


class SandboxApp:
    """WSGI app: the page, the fake's state, and the user's actions sent on to the bot."""

    def __init__(
        self,
        *,
        fake: SlackFake,
        driver: SlackDriver,
        title: str = "DealFinder sandbox",
        clock: Callable[[], datetime] | None = None,
    ):
        self.fake = fake
        self.driver = driver
        self.title = title
        # The simulation's clock: the page shows times on it, never the real one.
        self.clock = clock or (lambda: datetime.now(UTC))
        self._html = (
            files("bot.sandbox")
            .joinpath("page.html")
            .read_text(encoding="utf-8")
            .replace("{{emoji}}", json.dumps(EMOJI, ensure_ascii=False))
        )
        self._routes = Map(
            [
                Rule("/", endpoint="page", methods=["GET"]),
                Rule("/favicon.ico", endpoint="favicon", methods=["GET"]),
                Rule("/api/state", endpoint="state", methods=["GET"]),
                Rule("/api/command", endpoint="command", methods=["POST"]),
                Rule("/api/click", endpoint="click", methods=["POST"]),
                Rule("/api/submit", endpoint="submit", methods=["POST"]),
                Rule("/api/close", endpoint="close", methods=["POST"]),
            ]
        )

    def __call__(self, environ, start_response):
        request = Request(environ)
        try:
            endpoint, _args = self._routes.bind_to_environ(environ).match()
            response = getattr(self, f"_on_{endpoint}")(request)
        except HTTPException as exc:
            response = _json({"error": exc.description}, exc.code or 500)
        except ValueError as exc:  # the driver refuses what Slack would not let a user do
            response = _json({"error": str(exc)}, 400)
        return response(environ, start_response)

    # -- endpoints ---------------------------------------------------------------------

    def _on_page(self, _request: Request) -> Response:
        return Response(self._html.replace("{{title}}", self.title), mimetype="text/html")

    def _on_favicon(self, _request: Request) -> Response:
        return Response(status=204)  # no icon; not a 404 in the browser's console

    def _on_state(self, request: Request) -> Response:
        user = request.args.get("user", SANDBOX_USERS[0])
        snapshot = self.fake.snapshot()
        return _json(
            {
                "team": snapshot["team"],
                "now": self.clock().timestamp(),
                "user": user,
                "users": [self._user_card(u) for u in SANDBOX_USERS],
                "channels": [
                    {"id": c["id"], "name": c.get("name"), "messages": c["messages"]}
                    for c in snapshot["channels"]
                    if c["messages"] or c.get("name") in ("deals", "ops-alerts")
                ],
                "ephemerals": [e for e in snapshot["ephemerals"] if e["ephemeral_to"] == user],
                "views": snapshot["views"].get(user, []),
            }
        )

    def _user_card(self, user_id: str) -> dict[str, str]:
        user = self.fake.store.workspace.users.get(user_id)
        return {
            "id": user_id,
            "name": user.real_name if user else user_id,
            "title": user.title if user else "",
            "tz": user.tz if user else "America/New_York",
        }

    def _body(self, request: Request) -> dict[str, Any]:
        try:
            data = json.loads(request.get_data(as_text=True) or "{}")
        except json.JSONDecodeError:
            raise BadRequest("body must be JSON") from None
        if not isinstance(data, dict):
            raise BadRequest("body must be a JSON object")
        user = data.get("user", SANDBOX_USERS[0])
        if user not in SANDBOX_USERS:
            raise BadRequest(f"unknown user {user!r}")
        data["user"] = user
        return data

    def _on_command(self, request: Request) -> Response:
        data = self._body(request)
        line = str(data.get("text", "")).strip()
        if not line.startswith("/"):
            raise BadRequest("type a slash command, e.g. /deal help")
        command, _, text = line.partition(" ")
        delivery = self.driver.slash_command(
            command=command,
            text=text.strip(),
            user_id=data["user"],
            channel_id=data.get("channel", "C0DEALS"),
        )
        return _json(
            {
                "status": delivery.status,
                "acked_in_time": delivery.acked_in_time,
                "elapsed_ms": round(delivery.elapsed * 1000, 1),
            }
        )

    def _on_click(self, request: Request) -> Response:
        data = self._body(request)
        message = self.fake.find_message(str(data.get("channel")), str(data.get("ts")))
        if message is None:
            raise NotFound("that message is gone")
        delivery = self.driver.click_button(
            message, str(data.get("action_id")), value=data.get("value"), user_id=data["user"]
        )
        return _json({"status": delivery.status, "acked_in_time": delivery.acked_in_time})

    def _on_submit(self, request: Request) -> Response:
        data = self._body(request)
        views = {v["id"]: v for v in self.fake.views(data["user"])}
        view = views.get(str(data.get("view_id")))
        if view is None:
            raise NotFound("that view is not open")
        values = data.get("values") or {}
        if not isinstance(values, dict):
            raise BadRequest("values must be an object of block_id: {action_id: value}")
        delivery = self.driver.submit_view(view, values, user_id=data["user"])
        if delivery.status != 200:
            # Slack shows its own "We had some trouble connecting" line: the modal stays open.
            return _json({"error": f"the bot answered HTTP {delivery.status}"}, 502)
        answer = delivery.json() if delivery.body else None
        return _json({"status": delivery.status, "response": answer})

    def _on_close(self, request: Request) -> Response:
        data = self._body(request)
        if not self.driver.close_view(str(data.get("view_id")), user_id=data["user"]):
            raise NotFound("that view is not open")
        return _json({"closed": True})
