"""Turn openapi-core's validation exceptions into short, readable problems.

A problem knows where it was found, so the emulator can answer 422 for body problems and
400 for the rest, as GHL's NestJS validation does.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from openapi_core.casting.schemas.exceptions import CastError
from openapi_core.deserializing.exceptions import DeserializeError
from openapi_core.templating.media_types.exceptions import MediaTypeNotFound
from openapi_core.templating.responses.exceptions import ResponseNotFound
from openapi_core.validation.request.exceptions import (
    MissingRequiredParameter,
    MissingRequiredRequestBody,
    ParameterValidationError,
    RequestBodyValidationError,
    SecurityValidationError,
)
from openapi_core.validation.response.exceptions import (
    DataValidationError,
    HeaderValidationError,
    MissingData,
)

if TYPE_CHECKING:
    from sandbox.ghl_emulator.spec import Operation


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a request or response.

    `where` is one of route, security, header, query, path, cookie, body, status, response.
    """

    where: str
    text: str

    def __str__(self) -> str:
        return self.text


def _json_path(parts: Iterable[Any]) -> str:
    rendered = ""
    for part in parts:
        rendered += f"[{part}]" if isinstance(part, int) else f".{part}"
    return rendered


def _schema_messages(cause: BaseException | None, prefix: str) -> list[str]:
    errors = getattr(cause, "schema_errors", None)
    if not errors:
        return [f"{prefix}: {cause}"] if cause is not None else [prefix]
    return [f"{prefix}{_json_path(e.absolute_path)}: {e.message}" for e in errors]


def describe_request_error(error: Exception) -> list[Problem]:
    """Readable problems for one error yielded by openapi-core's request validator."""
    if isinstance(error, SecurityValidationError):
        return [Problem("security", "a bearer token is required in the Authorization header")]
    if isinstance(error, MissingRequiredParameter):
        return [Problem(error.location, f"{error.location} parameter {error.name} is required")]
    if isinstance(error, ParameterValidationError):
        prefix = f"{error.location} parameter {error.name}"
        cause = error.__cause__
        if isinstance(cause, CastError):
            return [Problem(error.location, f"{prefix}: {cause.value!r} is not a {cause.type}")]
        return [Problem(error.location, text) for text in _schema_messages(cause, prefix)]
    if isinstance(error, MissingRequiredRequestBody):
        return [Problem("body", "body: a JSON request body is required")]
    if isinstance(error, RequestBodyValidationError):
        cause = error.__cause__
        if isinstance(cause, MediaTypeNotFound):
            if not cause.mimetype:
                return [Problem("header", "a JSON body needs Content-Type: application/json")]
            return [Problem("header", f"content type {cause.mimetype!r} is not accepted")]
        if isinstance(cause, DeserializeError):
            return [Problem("body", "body: not valid JSON")]
        return [Problem("body", text) for text in _schema_messages(cause, "body")]
    return [Problem("request", str(error))]


def error_body_problems(status: int, body: bytes | None) -> list[str]:
    """Problems with an error answer against GHL's error shape (`statusCode`, `message`)."""
    try:
        data = json.loads(body or b"")
    except ValueError:
        return [f"response {status}: body is not JSON"]
    if not isinstance(data, dict):
        return [f"response {status}: body is not a JSON object"]
    problems = []
    if data.get("statusCode") != status:
        problems.append(f"response {status}: statusCode is {data.get('statusCode')!r}")
    message = data.get("message")
    is_text_list = isinstance(message, list) and all(isinstance(m, str) for m in message)
    if not (isinstance(message, str) or is_text_list):
        problems.append(f"response {status}: message must be a string or a list of strings")
    return problems


def describe_response_error(
    error: Exception, *, status: int, body: bytes | None, operation: Operation
) -> list[Problem]:
    """Readable problems for one error yielded by openapi-core's response validator."""
    if isinstance(error, ResponseNotFound):
        # The files only declare a few error codes per operation (mostly 400/401/422); 403,
        # 404, 429 and 5xx exist all the same, so those are checked against GHL's error shape.
        if status >= 400:
            return [Problem("response", text) for text in error_body_problems(status, body)]
        where = f"{operation.method} {operation.template}"
        return [Problem("status", f"status {status} is not declared for {where}")]
    if isinstance(error, MissingData):
        return [Problem("response", "response body: missing")]
    if isinstance(error, DataValidationError):
        cause = error.__cause__
        if isinstance(cause, MediaTypeNotFound):
            return [Problem("response", f"response content type {cause.mimetype!r} not declared")]
        if isinstance(cause, DeserializeError):
            return [Problem("response", "response body: not valid JSON")]
        return [Problem("response", t) for t in _schema_messages(cause, "response body")]
    if isinstance(error, HeaderValidationError):
        return [Problem("response", f"response header: {error}")]
    return [Problem("response", str(error))]
