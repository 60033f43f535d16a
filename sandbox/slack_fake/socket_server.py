"""The fake's Socket Mode endpoint: a small threading TCP server speaking RFC 6455, one thread
per app connection, beside the werkzeug server of the Web API.

A dedicated server rather than werkzeug's: werkzeug always adds `Connection: close` to its
answers and writes a response after the app returns, so a hijacked socket fights it; here the
handler owns the socket from the first byte to the close.

    server = SocketModeServer(hub, host="127.0.0.1")    # hub.link_url is now ws://.../link/
    server.stop()                                       # closes the connections with 1001
"""

from __future__ import annotations

import contextlib
import json
import socket
import socketserver
import threading
import uuid
from typing import BinaryIO

from sandbox.slack_fake.socket_mode import SocketModeHub
from sandbox.slack_fake.websocket import (
    BINARY,
    CLOSE,
    CONTINUATION,
    GOING_AWAY,
    NORMAL,
    PING,
    PONG,
    TEXT,
    ConnectionClosed,
    ProtocolError,
    close_payload,
    encode_frame,
    http_refusal,
    read_frame,
    read_handshake,
    switching_protocols,
)

LINK_PATH = "/link/"
_INVALID_UTF8 = 1007  # RFC 6455 section 7.4.1: a text message that is not UTF-8


class Session:
    """One open websocket; writes are serialised, as pongs and pushed envelopes share it."""

    def __init__(self, sock: socket.socket):
        self.id = f"session-{uuid.uuid4().hex[:12]}"
        self._sock = sock
        self._send_lock = threading.Lock()
        self._closing = False

    def send_text(self, text: str) -> None:
        self.send(TEXT, text.encode("utf-8"))

    def send(self, opcode: int, payload: bytes) -> None:
        with self._send_lock:
            self._sock.sendall(encode_frame(opcode, payload))

    def close(self, code: int, reason: str) -> None:
        """Send a close frame (once) and end the TCP connection, which ends the session."""
        with self._send_lock:
            if self._closing:
                return
            self._closing = True
            try:
                self._sock.sendall(encode_frame(CLOSE, close_payload(code, reason)))
                self._sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already gone: nothing left to tell the client


class _LinkHandler(socketserver.StreamRequestHandler):
    """Handshake, then frames until the client or the server closes."""

    server: _TCPServer
    disable_nagle_algorithm = True  # acks and envelopes are small; do not hold them back

    def handle(self) -> None:
        hub = self.server.hub
        session = self._open(hub)
        if session is None:
            return
        try:
            hub.attach(session)
            self._converse(hub, session, self.rfile)
        except ProtocolError as exc:
            hub.refuse("websocket_protocol_error", str(exc))
            session.close(exc.close_code, str(exc))
        except (ConnectionClosed, OSError):
            pass  # the app went away: slack_sdk closes the socket without a close frame
        finally:
            hub.detach(session)

    def _open(self, hub: SocketModeHub) -> Session | None:
        """The websocket for a valid handshake with a live ticket; else an HTTP refusal."""
        try:
            request = read_handshake(self.rfile)
        except ConnectionClosed:
            return None
        except ProtocolError as exc:
            self._refuse(hub, "400 Bad Request", "invalid_handshake", str(exc))
            return None
        if request.path.rstrip("/") != LINK_PATH.rstrip("/"):
            self._refuse(hub, "404 Not Found", "not_found", f"no websocket at {request.path}")
            return None
        problem = request.problem()
        if problem is not None:
            self._refuse(hub, "400 Bad Request", "invalid_handshake", problem)
            return None
        if not hub.redeem(request.query.get("ticket", "")):
            detail = "the ticket is unknown or already used; call apps.connections.open again"
            self._refuse(hub, "401 Unauthorized", "invalid_ticket", detail)
            return None
        self.connection.sendall(switching_protocols(request.key))
        return Session(self.connection)

    def _refuse(self, hub: SocketModeHub, status: str, error: str, detail: str) -> None:
        hub.refuse(error, detail)
        body = json.dumps({"ok": False, "error": error}).encode()
        with contextlib.suppress(OSError):  # the client may hang up before reading it
            self.connection.sendall(http_refusal(status, body))

    def _converse(self, hub: SocketModeHub, session: Session, reader: BinaryIO) -> None:
        """Answer pings, echo a close, hand whole text messages (acks) to the hub."""
        parts: list[bytes] = []
        while True:
            frame = read_frame(reader)
            if frame.opcode == PING:
                session.send(PONG, frame.payload)
            elif frame.opcode == CLOSE:
                code = int.from_bytes(frame.payload[:2], "big") if frame.payload else NORMAL
                session.close(code, "")
                return
            elif frame.opcode in (TEXT, BINARY, CONTINUATION):
                if (frame.opcode == CONTINUATION) != bool(parts):
                    raise ProtocolError("a continuation frame must follow an unfinished message")
                if frame.opcode == BINARY:
                    raise ProtocolError("Socket Mode acks are text frames, not binary")
                parts.append(frame.payload)
                if frame.fin:
                    data, parts = b"".join(parts), []
                    try:
                        text = data.decode("utf-8")
                    except UnicodeDecodeError:
                        raise ProtocolError("text is not UTF-8", close_code=_INVALID_UTF8) from None
                    hub.receive(text)
            # pongs need no answer


class _TCPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True  # a connection left open by a client must not keep a test alive
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], hub: SocketModeHub):
        self.hub = hub
        super().__init__(address, _LinkHandler)


class SocketModeServer:
    """Serves the hub's websocket endpoint in a background thread; sets `hub.link_url`."""

    def __init__(self, hub: SocketModeHub, *, host: str = "127.0.0.1", port: int = 0):
        self.hub = hub
        self._server = _TCPServer((host, port), hub)
        self.port: int = self._server.server_address[1]
        self.url = f"ws://{host}:{self.port}{LINK_PATH}"
        hub.link_url = self.url
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"slack-fake-socket-{self.port}",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop accepting, close the open connections ("going away"), free the port."""
        self._server.shutdown()
        self._server.server_close()
        self.hub.close_all(GOING_AWAY, "the fake is stopping")
        self.hub.link_url = None
        self._thread.join(timeout=5)
