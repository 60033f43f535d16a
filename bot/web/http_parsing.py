"""Waitress, hardened against one header it converts without a guard.

Waitress checks that `Content-Length` is digits, then calls `int()` on it; Python 3.11 refuses
to convert more than 4,300 digits (CVE-2020-10735's limit), and the `ValueError` escapes
waitress's parser: the connection is dropped without an answer and an "uncaptured python
exception" is logged. Here that ValueError becomes the parse error waitress already answers
with a 400 (waitress 3.0.2, `waitress/parser.py`, `parse_header`).

    server = create_server(app, host=host, port=port)
    harden(server)
"""

from __future__ import annotations

from typing import Any

from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser, ParsingError


class GuardedRequestParser(HTTPRequestParser):
    """Waitress's parser, answering 400 for a header value it cannot convert."""

    def parse_header(self, header_plus: bytes) -> None:
        try:
            super().parse_header(header_plus)
        except ValueError as exc:  # ParsingError is not a ValueError; waitress handles those
            raise ParsingError(f"a header value cannot be read ({type(exc).__name__})") from None


class GuardedChannel(HTTPChannel):
    parser_class = GuardedRequestParser


def harden(server: Any) -> Any:
    """Give a waitress server (one listening socket) the guarded parser; returns it."""
    if hasattr(server, "channel_class"):
        server.channel_class = GuardedChannel
    return server
