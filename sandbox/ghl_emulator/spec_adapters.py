"""Plain values (method, path, query, headers, bytes) in the shapes openapi-core reads.

openapi-core 0.23 validates objects following its `Request`/`Response` protocols; these
adapters build them from what a test or the emulator has at hand.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

if TYPE_CHECKING:
    from sandbox.ghl_emulator.spec import OperationMatch

# The files' only server; requests are matched against it, whatever host actually served them.
SERVER_URL = "https://services.leadconnectorhq.com"

QueryInput = Mapping[str, Any] | Iterable[tuple[str, str]] | str | None
BodyInput = bytes | str | Mapping[str, Any] | list[Any] | None


class CheckedRequest:
    """The request shape openapi-core reads (its `Request` + `SupportsPathPattern` protocols)."""

    def __init__(
        self,
        *,
        match: OperationMatch,
        path: str,
        query: list[tuple[str, str]],
        headers: Headers,
        body: bytes | None,
        encoded_here: bool = False,
    ) -> None:
        self.method = match.operation.method.lower()
        self.host_url = SERVER_URL
        self.path = path
        # Handing over the template and the parameters skips openapi-core's own path search,
        # which would otherwise run on every call (and cannot tell `{id}` from `search`).
        self.path_pattern = match.operation.template
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(query), header=headers, path=dict(match.path_params)
        )
        self.body = body
        # Raw bytes without a Content-Type get none: NestJS parses a body only when the header
        # says JSON, so GHL would see no body at all. Objects are encoded here as JSON.
        self.content_type = _content_type(
            headers, default="application/json" if encoded_here else ""
        )


class CheckedResponse:
    """The response shape openapi-core reads (its `Response` protocol)."""

    def __init__(self, *, status: int, headers: Headers, body: bytes | None) -> None:
        self.status_code = status
        self.headers = headers
        self.data = body
        self.content_type = _content_type(headers, default="application/json" if body else "")


def _content_type(headers: Headers, *, default: str) -> str:
    return (headers.get("Content-Type") or default).lower()


def split_path(path: str, query: QueryInput) -> tuple[str, list[tuple[str, str]]]:
    """The bare path of a path or URL, and its query pairs plus those of `query`."""
    parts = urlsplit(path)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    if isinstance(query, str):
        pairs += parse_qsl(query.lstrip("?"), keep_blank_values=True)
    elif isinstance(query, Mapping):
        for key, value in query.items():
            values = value if isinstance(value, list | tuple) else [value]
            pairs += [(key, _query_text(v)) for v in values]
    elif query is not None:
        pairs += [(k, _query_text(v)) for k, v in query]
    return parts.path or "/", pairs


def _query_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def body_bytes(body: BodyInput) -> bytes | None:
    """The body as sent on the wire; objects become JSON."""
    if body is None or isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    return json.dumps(body).encode()
