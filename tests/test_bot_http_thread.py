"""The in-thread HTTP server (`start_http_in_thread`) that tests, benchmarks and the sandbox use:
it answers, and `stop()` frees its port, with keep-alive connections open and even after the
serving loop's wake-up pipe has gone (CI once failed in teardown with EBADF from that pipe)."""

from __future__ import annotations

import errno
import os
import socket
import threading

import requests

from bot.web.server import start_http_in_thread


def _hello(environ: dict, start_response) -> list[bytes]:  # type: ignore[type-arg, no-untyped-def]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello"]


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _server_threads(port: int) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == f"http-{port}"]


def test_it_answers_and_stop_frees_the_port_with_a_keep_alive_connection_open() -> None:
    running = start_http_in_thread(_hello)
    with requests.Session() as keep_alive:
        assert keep_alive.get(running.url).text == "hello"
        running.stop()
    assert _port_is_free(running.port)
    assert not _server_threads(running.port)


def test_stop_works_when_the_wake_up_pipe_is_already_gone() -> None:
    running = start_http_in_thread(_hello)
    assert requests.get(running.url, timeout=5).text == "hello"

    def pipe_gone() -> None:
        raise OSError(errno.EBADF, os.strerror(errno.EBADF))

    running._server.trigger._physical_pull = pipe_gone  # what a closed write end answers
    running.stop()  # used to raise OSError EBADF
    assert _port_is_free(running.port)
    assert not _server_threads(running.port)


def test_a_second_stop_is_harmless() -> None:
    with start_http_in_thread(_hello) as running:
        running.stop()
    assert _port_is_free(running.port)
