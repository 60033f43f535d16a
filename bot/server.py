"""HTTP mode: one WSGI app for Slack's requests, the health probe and the operations routes,
served by waitress (a production WSGI server).

    wsgi = build_wsgi_app(bolt_app=app, extra_routes={"/metrics": metrics_app})
    serve_http(wsgi, host="0.0.0.0", port=3000)               # blocks
    with start_http_in_thread(wsgi) as running:               # tests and benchmarks
        requests.post(running.url + "/slack/events", ...)

Routes: ``POST /slack/events`` (bolt, signature verified), ``GET /healthz`` (liveness: the
process answers), each extra route by exact path, and a JSON 404 for anything else.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType, TracebackType
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from waitress.server import create_server

log = logging.getLogger("dealfinder.bot.server")

SLACK_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
HTTP_THREADS = 32  # waitress threads; each holds a request only until its ack (milliseconds)

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
NO_ROUTES: Mapping[str, WSGIApp] = MappingProxyType({})


def json_response(start_response: StartResponse, status: str, body: dict[str, Any]) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    )
    return [data]


def healthz(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
    """Liveness: the process is up and serving (readiness is the operations' `/readyz`)."""
    return json_response(start_response, "200 OK", {"status": "ok"})


def build_wsgi_app(*, bolt_app: App, extra_routes: Mapping[str, WSGIApp] = NO_ROUTES) -> WSGIApp:
    """Dispatch by exact path: Slack's events to bolt, `/healthz`, the extra routes, else 404."""
    routes: dict[str, WSGIApp] = {
        SLACK_PATH: SlackRequestHandler(bolt_app, path=SLACK_PATH),
        HEALTH_PATH: healthz,
    }
    for path, route in extra_routes.items():
        if path in routes:
            raise ValueError(f"route {path} is already served")
        routes[path] = route

    def dealfinder_http(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or "/"
        route = routes.get(path) or routes.get(path.rstrip("/"))
        if route is None:
            return json_response(start_response, "404 Not Found", {"error": "not_found"})
        return route(environ, start_response)

    return dealfinder_http


def serve_http(
    wsgi_app: WSGIApp,
    *,
    host: str = "0.0.0.0",  # noqa: S104 - a server in a container listens on every interface
    port: int = 3000,
    threads: int = HTTP_THREADS,
) -> None:
    """Serve until interrupted (waitress)."""
    server = create_server(wsgi_app, host=host, port=port, threads=threads, ident="dealfinder")
    log.info("DealFinder listening on http://%s:%s (Slack: %s)", host, server.effective_port,
             SLACK_PATH)  # fmt: skip
    try:
        server.run()
    finally:
        server.close()


class RunningHTTP:
    """A WSGI app served by waitress in a background thread; `url`, `port`, `stop()`."""

    def __init__(self, wsgi_app: WSGIApp, *, host: str, port: int, threads: int):
        self._server = create_server(
            wsgi_app, host=host, port=port, threads=threads, ident="dealfinder"
        )
        self.port = int(self._server.effective_port)
        self.url = f"http://{host}:{self.port}"
        self._thread = threading.Thread(
            target=self._server.run, name=f"http-{self.port}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop accepting, finish the worker threads, and free the port.

        The serving loop notices within a second (waitress polls once a second) and its
        daemon thread ends by itself; nobody needs to wait for that.
        """
        self._server.task_dispatcher.shutdown(timeout=5)
        self._server.close()
        for channel in list(self._server._map.values()):  # open keep-alive connections
            channel.close()

    def __enter__(self) -> RunningHTTP:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def start_http_in_thread(
    wsgi_app: WSGIApp, *, host: str = "127.0.0.1", port: int = 0, threads: int = HTTP_THREADS
) -> RunningHTTP:
    """Serve `wsgi_app` on waitress in a daemon thread (port 0: a free one)."""
    return RunningHTTP(wsgi_app, host=host, port=port, threads=threads)
