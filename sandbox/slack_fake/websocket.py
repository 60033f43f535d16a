"""The server side of RFC 6455, as much as Slack's Socket Mode needs: the opening handshake,
text/ping/pong/close frames, client masking checked, server frames never masked.

    request = read_handshake(reader)               # the client's GET /link/?ticket=...
    sock.sendall(switching_protocols(request.key))
    frame = read_frame(reader)                     # unmasked payload of the client's frame
    sock.sendall(encode_frame(TEXT, b'{"type": "hello"}'))
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from dataclasses import dataclass
from typing import BinaryIO
from urllib.parse import parse_qs, urlsplit

CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
CONTROL_OPCODES = frozenset({CLOSE, PING, PONG})
KNOWN_OPCODES = frozenset({CONTINUATION, TEXT, BINARY}) | CONTROL_OPCODES

# Close codes (RFC 6455 section 7.4.1).
NORMAL, GOING_AWAY, PROTOCOL_ERROR, TOO_BIG = 1000, 1001, 1002, 1009

_ACCEPT_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # fixed by RFC 6455 section 1.3
_MAX_HEADER_LINES = 100
MAX_MESSAGE_BYTES = 1 << 20  # far above any ack an app sends; a bigger frame is a client bug


class ProtocolError(Exception):
    """The client broke RFC 6455; `close_code` is what the server answers with."""

    def __init__(self, message: str, *, close_code: int = PROTOCOL_ERROR):
        super().__init__(message)
        self.close_code = close_code


class ConnectionClosed(Exception):
    """The client's side of the TCP connection ended."""


@dataclass(frozen=True)
class HandshakeRequest:
    """The parts of the opening GET a Socket Mode server looks at."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-cased names

    @property
    def key(self) -> str:
        return self.headers.get("sec-websocket-key", "")

    def problem(self) -> str | None:
        """Why this is not a valid websocket opening handshake (RFC 6455 section 4.2.1)."""
        if self.method != "GET":
            return f"the opening handshake must be a GET, not {self.method}"
        if self.headers.get("upgrade", "").lower() != "websocket":
            return "missing Upgrade: websocket"
        if "upgrade" not in self.headers.get("connection", "").lower():
            return "missing Connection: Upgrade"
        if self.headers.get("sec-websocket-version") != "13":
            return "Sec-WebSocket-Version must be 13"
        try:
            if len(base64.b64decode(self.key, validate=True)) != 16:
                return "Sec-WebSocket-Key must be 16 bytes, base64-encoded"
        except (binascii.Error, ValueError):
            return "Sec-WebSocket-Key is not base64"
        return None


def _read_line(reader: BinaryIO) -> str:
    line = reader.readline(8192)
    if not line:
        raise ConnectionClosed("closed during the handshake")
    return line.decode("latin-1").rstrip("\r\n")


def read_handshake(reader: BinaryIO) -> HandshakeRequest:
    """Read the request line and headers of the client's opening handshake."""
    parts = _read_line(reader).split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        raise ProtocolError("not an HTTP request line")
    headers: dict[str, str] = {}
    for _ in range(_MAX_HEADER_LINES):
        line = _read_line(reader)
        if not line:
            break
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    else:
        raise ProtocolError("too many header lines")
    target = urlsplit(parts[1])
    query = {name: values[0] for name, values in parse_qs(target.query).items()}
    return HandshakeRequest(method=parts[0], path=target.path, query=query, headers=headers)


def accept_key(key: str) -> str:
    """The Sec-WebSocket-Accept answering a client's Sec-WebSocket-Key."""
    digest = hashlib.sha1((key + _ACCEPT_GUID).encode("ascii")).digest()  # noqa: S324 - RFC 6455
    return base64.b64encode(digest).decode("ascii")


def switching_protocols(key: str) -> bytes:
    """The server's 101 answer that turns the HTTP connection into a websocket."""
    lines = [
        "HTTP/1.1 101 Switching Protocols",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Accept: {accept_key(key)}",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


def http_refusal(status: str, body: bytes) -> bytes:
    """A plain HTTP answer for a handshake the server will not accept."""
    head = f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
    head += f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    return head.encode("ascii") + body


@dataclass(frozen=True)
class Frame:
    """One frame from the client, its payload already unmasked."""

    fin: bool
    opcode: int
    payload: bytes


def _read_exactly(reader: BinaryIO, size: int) -> bytes:
    data = reader.read(size) if size else b""
    if len(data) < size:
        raise ConnectionClosed("closed in the middle of a frame")
    return data


def read_frame(reader: BinaryIO, *, max_bytes: int = MAX_MESSAGE_BYTES) -> Frame:
    """Read one client frame. Clients must mask every frame (RFC 6455 section 5.1)."""
    first, second = _read_exactly(reader, 2)
    if first & 0x70:
        raise ProtocolError("reserved bits set without a negotiated extension")
    opcode = first & 0x0F
    if opcode not in KNOWN_OPCODES:
        raise ProtocolError(f"unknown opcode {opcode:#x}")
    if not second & 0x80:
        raise ProtocolError("the client sent an unmasked frame")
    length = second & 0x7F
    if length == 126:
        (length,) = struct.unpack("!H", _read_exactly(reader, 2))
    elif length == 127:
        (length,) = struct.unpack("!Q", _read_exactly(reader, 8))
    fin = bool(first & 0x80)
    if opcode in CONTROL_OPCODES and (length > 125 or not fin):
        raise ProtocolError("control frames must be whole and at most 125 bytes")
    if length > max_bytes:
        raise ProtocolError(f"a {length}-byte frame is too big", close_code=TOO_BIG)
    mask = _read_exactly(reader, 4)
    masked = _read_exactly(reader, length)
    key = (mask * (length // 4 + 1))[:length]
    payload = (int.from_bytes(masked, "big") ^ int.from_bytes(key, "big")).to_bytes(length, "big")
    return Frame(fin=fin, opcode=opcode, payload=payload)


def encode_frame(opcode: int, payload: bytes) -> bytes:
    """One whole, unmasked server frame (a server must never mask, section 5.1)."""
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", 0x80 | opcode, size)
    elif size < 1 << 16:
        header = struct.pack("!BBH", 0x80 | opcode, 126, size)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 127, size)
    return header + payload


def close_payload(code: int, reason: str = "") -> bytes:
    """The body of a close frame: the status code, then a short UTF-8 reason."""
    return struct.pack("!H", code) + reason.encode("utf-8")[:123]
