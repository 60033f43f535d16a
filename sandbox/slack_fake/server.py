"""The fake over HTTP: a werkzeug WSGI app on werkzeug's threaded server in a background thread.

Routes:
  GET|POST /api/<method>        Web API (form or JSON body; token as Bearer header or form field)
  POST     /response/<id>       response_urls handed out in payloads
  GET      /_fake/state         channels, messages, ephemerals, views, Home tabs and link
                                previews as JSON
  GET      /_fake/calls         every Web API call seen
  GET      /_fake/socket_mode   open Socket Mode connections and the envelopes pushed
  POST     /_fake/reset         back to the seeded workspace

Socket Mode's websocket (`ws://HOST:PORT2/link/?ticket=...`, the URL apps.connections.open
hands out) is served by `sandbox.slack_fake.socket_server` on a second port.

    with SlackFake().serve() as served:
        WebClient(token=BOT_TOKEN, base_url=served.api_url).auth_test()
"""

from __future__ import annotations

import json
import socket
import threading
from typing import TYPE_CHECKING, Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from sandbox.slack_fake.faults import RESPONSE_URL, Fault
from sandbox.slack_fake.replies import Reply, ratelimited
from sandbox.slack_fake.socket_server import SocketModeServer
from sandbox.slack_fake.state import JSON

if TYPE_CHECKING:
    from collections.abc import Iterable

    from _typeshed.wsgi import StartResponse, WSGIEnvironment

    from sandbox.slack_fake.fake import SlackFake


def _json_response(
    body: Any, *, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        json.dumps(body),
        status=status,
        headers=headers or {},
        content_type="application/json; charset=utf-8",
    )


def _drop_connection(environ: WSGIEnvironment) -> None:
    """Close the client's connection without an answer, as a dying load balancer does."""
    sock = environ.get("werkzeug.socket")
    if sock is not None:
        sock.shutdown(socket.SHUT_RDWR)
    # werkzeug treats ConnectionError from the app as "client went away" and stays quiet.
    raise ConnectionAbortedError("fault injection: connection dropped")


def read_call(request: Request) -> tuple[JSON, str | None, str | None]:
    """The call's arguments, its token, and the Slack error for an unreadable body (if any)."""
    args: JSON = request.args.to_dict()
    # Tokens in query strings are refused for apps made since 2021; only header or form count.
    args.pop("token", None)
    token = None
    error = None
    if request.mimetype == "application/json":
        try:
            body = json.loads(request.get_data() or b"{}")
        except ValueError:
            body, error = {}, "invalid_json"
        if not isinstance(body, dict):
            body, error = {}, "json_not_object"
        # Slack ignores a token inside a JSON body: JSON calls must send the Bearer header.
        body.pop("token", None)
        args.update(body)
    elif request.method == "POST":
        form = request.form.to_dict()
        token = form.pop("token", None)
        args.update(form)
    authorization = request.headers.get("Authorization", "")
    if authorization.startswith("Bearer "):
        token = authorization.removeprefix("Bearer ").strip()
    return args, token, error


class FakeSlackApp:
    """The WSGI application in front of one SlackFake."""

    def __init__(self, fake: SlackFake):
        self.fake = fake

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        response = self._route(request, environ)
        return response(environ, start_response)

    def _route(self, request: Request, environ: WSGIEnvironment) -> Response:
        path = request.path
        if path.startswith("/api/"):
            return self._web_api(request, environ, method=path.removeprefix("/api/"))
        if path.startswith("/response/") and request.method == "POST":
            return self._response_url(request, environ, path.removeprefix("/response/"))
        if path.startswith("/_fake/"):
            return self._control(request, path.removeprefix("/_fake/"))
        return _json_response({"ok": False, "error": "not_found"}, status=404)

    def _control(self, request: Request, name: str) -> Response:
        # The sandbox page may be served from another port, so the control API allows any origin.
        cors = {"Access-Control-Allow-Origin": "*"}
        if name == "state" and request.method == "GET":
            return _json_response(self.fake.snapshot(), headers=cors)
        if name == "calls" and request.method == "GET":
            return _json_response([call.to_json() for call in self.fake.calls], headers=cors)
        if name == "socket_mode" and request.method == "GET":
            return _json_response(self.fake.socket_mode.snapshot(), headers=cors)
        if name == "reset" and request.method == "POST":
            self.fake.reset()
            return _json_response({"ok": True}, headers=cors)
        return _json_response({"ok": False, "error": "not_found"}, status=404, headers=cors)

    def _fault_reply(self, fault: Fault | None) -> Reply | None:
        """The injected answer for this call, or None to answer normally (after any delay)."""
        if fault is None:
            return None
        if fault.kind == "slow":
            self.fake.sleep(fault.delay_seconds)
            return None
        if fault.kind == "ratelimited":
            return ratelimited(self.fake.config.fault_retry_after_seconds)
        if fault.kind == "server_error":
            return Reply({"ok": False, "error": "fatal_error"}, status=500)
        return None  # "drop" is handled by the caller once the call is recorded

    def _web_api(self, request: Request, environ: WSGIEnvironment, *, method: str) -> Response:
        args, token, error = read_call(request)
        fault = self.fake.faults.take(method)
        reply = self._fault_reply(fault)
        if reply is None and fault is not None and fault.kind == "drop":
            self.fake.record_call(method=method, args=args, reply=Reply({}, status=0), fault="drop")
            _drop_connection(environ)
        if reply is None:
            reply = self.fake.call(method=method, args=args, token=token, body_error=error)
        self.fake.record_call(
            method=method, args=args, reply=reply, fault=fault.kind if fault else None
        )
        return _json_response(reply.body, status=reply.status, headers=reply.headers)

    def _response_url(self, request: Request, environ: WSGIEnvironment, url_id: str) -> Response:
        fault = self.fake.faults.take(RESPONSE_URL)
        reply = self._fault_reply(fault)
        raw = request.get_data()
        args = {"url_id": url_id, "body": raw.decode("utf-8", "replace")}
        if reply is None and fault is not None and fault.kind == "drop":
            self.fake.record_call(method=RESPONSE_URL, args=args, reply=Reply({}, 0), fault="drop")
            _drop_connection(environ)
        if reply is None:
            reply = self.fake.post_to_response_url(url_id, raw)
        self.fake.record_call(
            method=RESPONSE_URL, args=args, reply=reply, fault=fault.kind if fault else None
        )
        return _json_response(reply.body, status=reply.status, headers=reply.headers)


class _QuietHandler(WSGIRequestHandler):
    """Request handler that keeps werkzeug's per-request lines out of test output."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


class ServedFake:
    """A SlackFake answering over HTTP; `api_url` is what slack_sdk's `base_url` wants."""

    def __init__(self, fake: SlackFake, *, host: str = "127.0.0.1", port: int = 0):
        self.fake = fake
        self._server: BaseWSGIServer = make_server(
            host, port, FakeSlackApp(fake), threaded=True, request_handler=_QuietHandler
        )
        self.host = host
        self.port: int = self._server.socket.getsockname()[1]
        self.url = f"http://{host}:{self.port}"
        self.api_url = f"{self.url}/api/"
        self.socket_mode = SocketModeServer(fake.socket_mode, host=host)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            # A short poll keeps stop() quick; fixtures start and stop a server per test.
            kwargs={"poll_interval": 0.01},
            name=f"slack-fake-{self.port}",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop answering and free the ports (Socket Mode connections are closed)."""
        self.socket_mode.stop()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> ServedFake:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
