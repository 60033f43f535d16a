"""A local web page standing in for the Slack client, over the Slack fake and the real bot.

The page shows the fake's channels rendered from their Block Kit; what a person types or clicks
is sent to the bot exactly as Slack would send it — signed slash commands, `block_actions` and
`view_submission` payloads through `SlackDriver` — so the sandbox exercises production code.
A message typed in a channel is posted as the person's; when it holds a link on the app's
unfurl domains Slack's `link_shared` follows, and the bot's preview (`chat.unfurl`) shows under
it. Opening the app's Home sends `app_home_opened`; the page draws what `views.publish` put there.
The page server also stands in for GHL's web-app host: `/v2/location/...` ("Open in GHL")
redirects to the emulator's read-only page, so the sandbox's GHL links are on a host the bot
and the fake both count as GHL's (`127.0.0.1`), with the path the bot parses.

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
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from sandbox.emoji import EMOJI
from sandbox.slack_fake import SlackDriver, SlackFake
from sandbox.slack_fake.events import Shared, click_unfurl_button, open_app_home, share_link
from sandbox.typed import MESSAGE_MAX, slack_text

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
        driver: SlackDriver | None,
        title: str = "DealFinder sandbox",
        clock: Callable[[], datetime] | None = None,
        ghl_app_url: str | None = None,
    ):
        self.fake = fake
        # None until the bot is up: the page server starts first, as GHL's web-app host.
        self._driver = driver
        self.ghl_app_url = ghl_app_url  # where /v2/location/... redirects (the emulator's pages)
        self.title = title
        # The simulation's clock: the page shows times on it, never the real one.
        self.clock = clock or (lambda: datetime.now(UTC))
        self._html = (
            files("sandbox")
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
                Rule("/api/message", endpoint="message", methods=["POST"]),
                Rule("/api/home", endpoint="home", methods=["POST"]),
                Rule("/api/unfurl-click", endpoint="unfurl_click", methods=["POST"]),
                Rule("/v2/location/<path:_rest>", endpoint="ghl_app", methods=["GET"]),
            ]
        )

    @property
    def driver(self) -> SlackDriver:
        if self._driver is None:
            raise RuntimeError("the sandbox page has no bot yet")
        return self._driver

    @driver.setter
    def driver(self, driver: SlackDriver) -> None:
        self._driver = driver

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
                "home": snapshot["home_views"].get(user),
                "unfurls": snapshot["unfurls"],
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

    def _on_message(self, request: Request) -> Response:
        """The person posts a message; Slack then tells the app about its links (if any)."""
        data = self._body(request)
        typed = str(data.get("text", "")).strip()
        if not typed or len(typed) > MESSAGE_MAX:
            raise BadRequest(f"type a message of 1 to {MESSAGE_MAX} characters")
        shared = share_link(
            self.driver,
            text=slack_text(typed),
            user_id=data["user"],
            channel_id=str(data.get("channel", "C0DEALS")),
        )
        delivery = shared.delivery
        return _json(
            {
                "ts": shared.message_ts,
                "link_shared": delivery is not None,
                "status": delivery.status if delivery else "posted",
            }
        )

    def _on_home(self, request: Request) -> Response:
        """The person opens the app's Home tab: Slack sends `app_home_opened`."""
        data = self._body(request)
        delivery = open_app_home(self.driver, user_id=data["user"])
        return _json({"status": delivery.status, "acked_in_time": delivery.acked_in_time})

    def _on_unfurl_click(self, request: Request) -> Response:
        """A click on a button in the app's preview of a link (`block_actions`, is_app_unfurl)."""
        data = self._body(request)
        channel, ts, url = str(data.get("channel")), str(data.get("ts")), str(data.get("url"))
        with self.fake.store.lock:
            share = next(
                (
                    s
                    for s in self.fake.store.link_shares.values()
                    if s.channel == channel and s.message_ts == ts and url in s.unfurls
                ),
                None,
            )
        if share is None:
            raise NotFound("that preview is gone")
        shared = Shared(
            delivery=None, event=None, unfurl_id=share.unfurl_id, channel=channel, message_ts=ts
        )
        delivery = click_unfurl_button(
            self.driver, shared, url, str(data.get("action_id")), user_id=data["user"]
        )
        return _json({"status": delivery.status, "acked_in_time": delivery.acked_in_time})

    def _on_ghl_app(self, request: Request) -> Response:
        """GHL's web-app path ("Open in GHL") on to the emulator's read-only page."""
        if not self.ghl_app_url:
            raise NotFound("no GHL web app in this sandbox")
        return redirect(self.ghl_app_url + request.full_path.rstrip("?"), code=302)
