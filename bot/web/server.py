"""HTTP mode: one WSGI app for Slack's requests, the health probe and the operations routes,
served by waitress (a production WSGI server).

    wsgi = build_wsgi_app(bolt_app=app, extra_routes={"/metrics": metrics_app})
    serve_http(wsgi, host="0.0.0.0", port=3000)               # blocks
    with start_http_in_thread(wsgi) as running:               # tests and benchmarks
        requests.post(running.url + "/slack/events", ...)

Routes: ``POST /slack/events`` (bolt, signature verified), ``GET /healthz`` (liveness: the
process answers), each extra route by exact path (a path ending in ``/*`` serves everything
under it), and a JSON 404 for anything else.
"""

from __future__ import annotations

import contextlib
import hmac
import io
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk.signature import SignatureVerifier
from waitress.server import create_server

from bot.slack.request_check import (
    SIGNATURE_HEADER,
    body_problem,
    misread_form,
    signature_problem,
    timestamp_problem,
)
from bot.web.http_parsing import harden
from bot.web.stoppable import StopsOnExit

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


MAX_SLACK_BODY = 1_000_000  # Slack's payloads are a few kB; a view with 100 blocks stays far below


def _refused(start_response: StartResponse, status: str, reason: str) -> list[bytes]:
    log.info("Slack request refused: %s %s", status, reason)
    return json_response(start_response, status, {"error": reason})


def reject_malformed(
    slack_app: WSGIApp, *, signing_secret: str | None, clock: Callable[[], float] = time.time
) -> WSGIApp:
    """Refuse what cannot be Slack's before bolt's adapter trips over it.

    Bolt converts the timestamp header with `int()` and parses the body before it verifies
    the signature, and raises on what it cannot read, which would be a 500 for anyone's junk.
    So the headers are checked as text first (`slack_request_check`), then the signature
    (401 with the reason), then the body's shape (400 with the reason). Anything bolt still
    raises while reading a request is a 400 too: it cannot be a request Slack sent.
    """
    verifier = SignatureVerifier(signing_secret) if signing_secret else None

    def guarded(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        raw_length = str(environ.get("CONTENT_LENGTH") or "0")
        if not (raw_length.isascii() and raw_length.isdigit()):  # waitress checks it too
            return _refused(start_response, "400 Bad Request", "Content-Length is not a number")
        length = int(raw_length) if len(raw_length) < 16 else MAX_SLACK_BODY + 1
        if length > MAX_SLACK_BODY:
            return json_response(start_response, "413 Payload Too Large", {"error": "too_large"})
        body = environ["wsgi.input"].read(length) if length else b""
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:  # Slack signs text; slack_sdk's verifier cannot read this
            return _refused(start_response, "400 Bad Request", "the body is not UTF-8")
        problem = _signature_problem(environ, text, verifier, now=clock())
        if problem is not None:
            return _refused(start_response, "401 Unauthorized", problem)
        problem = body_problem(text, environ.get("CONTENT_TYPE"))
        if problem:
            return _refused(start_response, "400 Bad Request", problem)
        fields = misread_form(text, environ.get("CONTENT_TYPE"))
        if fields is not None and verifier is not None:
            body = _as_json_for_bolt(environ, fields, verifier)
        environ["wsgi.input"] = io.BytesIO(body)
        try:
            return slack_app(environ, start_response)
        except Exception:  # raised while bolt read the request, before any answer was started
            log.exception("bolt could not read a signed Slack request")
            return _refused(start_response, "400 Bad Request", "not a request Slack sends")

    return guarded


def _signature_problem(
    environ: dict[str, Any], text: str, verifier: SignatureVerifier | None, *, now: float
) -> str | None:
    """Why the request is not signed by Slack: header shapes first, then the HMAC."""
    if verifier is None:
        return None
    timestamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP")
    signature = environ.get("HTTP_X_SLACK_SIGNATURE")
    problem = timestamp_problem(timestamp, now=now) or signature_problem(signature)
    if problem is not None:
        return problem
    expected = verifier.generate_signature(timestamp=str(timestamp), body=text) or ""
    if not hmac.compare_digest(expected, str(signature)):
        return f"{SIGNATURE_HEADER} does not match the body"
    return None


def _as_json_for_bolt(
    environ: dict[str, Any], fields: dict[str, str], verifier: SignatureVerifier
) -> bytes:
    """A verified form bolt would misread (`misread_form`), as the JSON body bolt reads whole,
    signed again with the same secret because bolt verifies the signature itself too."""
    body = json.dumps(fields).encode()
    stamp = str(environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP"))
    environ["HTTP_X_SLACK_SIGNATURE"] = verifier.generate_signature(
        timestamp=stamp, body=body.decode()
    )
    environ["CONTENT_TYPE"], environ["CONTENT_LENGTH"] = "application/json", str(len(body))
    return body


def build_wsgi_app(*, bolt_app: App, extra_routes: Mapping[str, WSGIApp] = NO_ROUTES) -> WSGIApp:
    """Dispatch by exact path: Slack's events to bolt, `/healthz`, the extra routes, else 404."""
    routes: dict[str, WSGIApp] = {
        SLACK_PATH: reject_malformed(
            SlackRequestHandler(bolt_app, path=SLACK_PATH),
            # bolt keeps the secret it verifies with; the guard verifies with the same one
            signing_secret=getattr(bolt_app, "_signing_secret", None),
        ),
        HEALTH_PATH: healthz,
    }
    for path, route in extra_routes.items():
        if path in routes:
            raise ValueError(f"route {path} is already served")
        routes[path] = route

    prefixes = [(p[:-1], r) for p, r in routes.items() if p.endswith("/*")]

    def dealfinder_http(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or "/"
        route = routes.get(path) or routes.get(path.rstrip("/"))
        if route is None:
            route = next((r for prefix, r in prefixes if path.startswith(prefix)), None)
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
    server = harden(
        create_server(wsgi_app, host=host, port=port, threads=threads, ident="dealfinder")
    )
    log.info("DealFinder listening on http://%s:%s (Slack: %s)", host, server.effective_port,
             SLACK_PATH)  # fmt: skip
    try:
        server.run()
    finally:
        server.close()


class RunningHTTP(StopsOnExit):
    """A WSGI app served by waitress in a background thread; `url`, `port`, `stop()`.

    The serving loop is waitress's own poll, run a step at a time so that it can see a stop
    request and close its sockets itself: sockets closed from another thread under its running
    select() made it die with EBADF, and a stop that depended on the loop's wake-up pipe failed
    with EBADF whenever that pipe had already gone.
    """

    POLL_SECONDS = 0.2  # how long a stop may wait for the loop to notice when it cannot be woken

    def __init__(self, wsgi_app: WSGIApp, *, host: str, port: int, threads: int):
        self._server = harden(
            create_server(wsgi_app, host=host, port=port, threads=threads, ident="dealfinder")
        )
        self.port = int(self._server.effective_port)
        self.url = f"http://{host}:{self.port}"
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, name=f"http-{self.port}", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        server = self._server
        try:
            while not self._stopping.is_set() and server._map:
                server.asyncore.loop(
                    timeout=self.POLL_SECONDS, map=server._map,
                    use_poll=server.adj.asyncore_use_poll, count=1,
                )  # fmt: skip
        finally:
            self._close_channels()

    def _close_channels(self) -> None:
        # The listening socket, open keep-alive connections and the wake-up pipe.
        for channel in list(self._server._map.values()):
            with contextlib.suppress(OSError):
                channel.close()

    def stop(self) -> None:
        """Stop accepting, finish the worker threads, and free the port."""
        self._server.task_dispatcher.shutdown(timeout=5)
        self._stopping.set()
        if self._thread.is_alive():
            with contextlib.suppress(OSError):  # the pipe may be gone: the loop's poll times out
                self._server.trigger.pull_trigger()
            self._thread.join(timeout=5)
        else:
            self._close_channels()


def start_http_in_thread(
    wsgi_app: WSGIApp, *, host: str = "127.0.0.1", port: int = 0, threads: int = HTTP_THREADS
) -> RunningHTTP:
    """Serve `wsgi_app` on waitress in a daemon thread (port 0: a free one)."""
    return RunningHTTP(wsgi_app, host=host, port=port, threads=threads)
