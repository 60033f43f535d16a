"""GHL errors: one hierarchy rooted at `GHLError`, built in one place (`error_from_response`).

The bot catches the classes it can explain to a user (auth, not found, validation, rate limit,
unavailable) and lets the rest reach one error handler.

    try:
        client.contacts.get("abc")
    except GHLNotFoundError:
        ...
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ghl.redact import redact

if TYPE_CHECKING:
    from ghl.ratelimit import HeaderLimits


class GHLError(Exception):
    """Any failure talking to GHL. Carries what is needed to explain or report it."""

    retryable = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        method: str | None = None,
        path: str | None = None,
        request_id: str | None = None,
        body: Any = None,
    ):
        self.status = status
        self.method = method
        self.path = path
        self.request_id = request_id
        self.body = body
        where = f" ({method} {path})" if method and path else ""
        super().__init__(redact(f"{message}{where}"))


class GHLConfigError(GHLError):
    """The client was asked to do something its configuration cannot (e.g. no location id)."""


class GHLConnectionError(GHLError):
    """No HTTP response: refused, reset, DNS, TLS. Retryable for idempotent requests.

    `request_sent` is False only when the connection failed before the request left (connection
    refused, DNS): then even a create or a send is safe to repeat.
    """

    retryable = True

    def __init__(self, message: str, *, request_sent: bool = True, **kw: Any):
        super().__init__(message, **kw)
        self.request_sent = request_sent


class GHLTimeoutError(GHLConnectionError):
    """The request timed out; GHL may or may not have acted on it."""


class GHLStatusError(GHLError):
    """GHL answered with an HTTP error status."""


class GHLBadRequestError(GHLStatusError):
    """400: GHL rejected the request (bad ids, bad values). Not retried."""


class GHLAuthError(GHLStatusError):
    """401: the token is missing, wrong or revoked. Not retried."""


class GHLPermissionError(GHLStatusError):
    """403: the token lacks a scope or access to this location. Not retried."""


class GHLNotFoundError(GHLStatusError):
    """404: no such contact, opportunity, workflow... Not retried."""


class GHLConflictError(GHLStatusError):
    """409: duplicate (e.g. a contact with this email exists and duplicates are not allowed)."""


class GHLValidationError(GHLStatusError):
    """422: GHL's validation failed; `messages` lists GHL's reasons. Not retried."""

    @property
    def messages(self) -> list[str]:
        return _messages(self.body)


class GHLRateLimitError(GHLStatusError):
    """429: over the burst or daily limit. Retried after `retry_after` seconds."""

    retryable = True

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        limits: HeaderLimits | None = None,
        **kw: Any,
    ):
        super().__init__(message, **kw)
        self.retry_after = retry_after
        self.limits = limits  # the rate-limit headers of the 429 response, if it had them


class GHLDailyLimitError(GHLRateLimitError):
    """The daily quota is (nearly) used up: waiting seconds will not help, so do not retry now."""

    retryable = False


class GHLServerError(GHLStatusError):
    """5xx: GHL failed. Retried with backoff when the request is safe to repeat."""

    retryable = True


_BY_STATUS: dict[int, type[GHLStatusError]] = {
    400: GHLBadRequestError,
    401: GHLAuthError,
    403: GHLPermissionError,
    404: GHLNotFoundError,
    409: GHLConflictError,
    422: GHLValidationError,
    429: GHLRateLimitError,
}


def _messages(body: Any) -> list[str]:
    """GHL's error bodies are NestJS-shaped: `message` is a string or a list of strings."""
    if not isinstance(body, dict):
        return [str(body)[:500]] if body else []
    msg = body.get("message") or body.get("msg") or body.get("error")
    if isinstance(msg, list):
        return [str(m) for m in msg]
    return [str(msg)] if msg else []


def _explain(status: int, body: Any) -> str:
    detail = "; ".join(_messages(body)) or "no detail"
    if status == 401:
        return (
            f"GHL rejected the token (401: {detail}). Check GHL_API_KEY: it must be a private "
            "integration token of this location, not expired or revoked."
        )
    if status == 403:
        return (
            f"GHL refused access (403: {detail}). Check that GHL_LOCATION_ID is the token's "
            "location and that the private integration has the scopes listed in the README."
        )
    if status == 404:
        return f"GHL has no such resource (404: {detail})"
    if status == 429:
        return f"GHL rate limit reached (429: {detail})"
    if status >= 500:
        return f"GHL is failing ({status}: {detail})"
    return f"GHL rejected the request ({status}: {detail})"


def error_from_response(
    *,
    status: int,
    body: Any,
    method: str,
    path: str,
    request_id: str | None = None,
    retry_after: float | None = None,
    limits: HeaderLimits | None = None,
) -> GHLStatusError:
    """Build the exception for an HTTP error answer. The one place status codes map to classes."""
    cls = _BY_STATUS.get(status) or (GHLServerError if status >= 500 else GHLStatusError)
    kw: dict[str, Any] = dict(
        status=status, method=method, path=path, request_id=request_id, body=body
    )
    if cls is GHLRateLimitError:
        daily_left = limits.daily_remaining if limits is not None else None
        cls_429 = GHLDailyLimitError if daily_left == 0 else GHLRateLimitError
        return cls_429(_explain(status, body), retry_after=retry_after, limits=limits, **kw)
    return cls(_explain(status, body), **kw)
