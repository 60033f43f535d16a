"""The official GHL OpenAPI files, loaded once, as a checker of requests and responses.

Used by the emulator on every call and by the client's contract tests, so the surface is plain
values in (method, path, query, headers, bytes) and readable problems out:

    specs = load_specs()
    specs.validate_request("POST", "/opportunities/", headers={"Version": "2021-07-28"},
                           body={"name": "x"})   # or raw bytes with their Content-Type
    # -> ["body: 'pipelineId' is a required property", ...]
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jsonschema_path import SchemaPath
from openapi_core import Config, OpenAPI
from werkzeug.datastructures import Headers

from sandbox.ghl_emulator.spec_adapters import (
    BodyInput,
    CheckedRequest,
    CheckedResponse,
    QueryInput,
    body_bytes,
    split_path,
)
from sandbox.ghl_emulator.spec_mend import mend_document
from sandbox.ghl_emulator.spec_problems import (
    Problem,
    describe_request_error,
    describe_response_error,
)

DEFAULT_OPENAPI_DIR = Path(__file__).parent / "openapi"
_METHODS = ("get", "put", "post", "delete", "patch")


@dataclass(frozen=True)
class Operation:
    """One operation of one GHL file, e.g. contacts `POST /contacts/upsert`."""

    group: str
    method: str
    template: str
    operation_id: str
    versions: tuple[str, ...]


@dataclass(frozen=True)
class OperationMatch:
    """An operation together with the path parameters a concrete path gave it."""

    operation: Operation
    path_params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Route:
    regex: re.Pattern[str]
    names: tuple[str, ...]
    literal_segments: int
    operation: Operation


class GHLSpecs:
    """Every apps/*.json file, mended, with a router and cached openapi-core validators."""

    def __init__(self, apis: dict[str, OpenAPI], routes: list[_Route]) -> None:
        self._apis = apis
        # Most literal segments first: `/contacts/search` must win over `/contacts/{contactId}`.
        self._routes = sorted(routes, key=lambda r: -r.literal_segments)
        self._by_template = {(r.operation.method, r.operation.template): r for r in routes}
        # openapi-core's schema objects are not documented as thread-safe; the emulator serves
        # from many threads, so calls into it are serialised (about 1 ms each; measure with
        # `python -m sandbox.ghl_emulator.overhead`).
        self._lock = threading.Lock()

    @property
    def operations(self) -> list[Operation]:
        return [r.operation for r in self._routes]

    def operation_for(self, method: str, path: str) -> OperationMatch | None:
        """The operation a concrete path (query string allowed) calls, or None."""
        bare = urlsplit(path).path.rstrip("/") or "/"
        wanted = method.upper()
        for route in self._routes:
            if route.operation.method != wanted:
                continue
            found = route.regex.match(bare)
            if found:
                params = dict(zip(route.names, found.groups(), strict=True))
                return OperationMatch(route.operation, params)
        return None

    def match_template(self, method: str, template: str, path: str) -> OperationMatch | None:
        """Like `operation_for`, but for a caller who already knows the template."""
        route = self._by_template.get((method.upper(), template))
        if route is None:
            return None
        found = route.regex.match(urlsplit(path).path.rstrip("/") or "/")
        params = dict(zip(route.names, found.groups(), strict=True)) if found else {}
        return OperationMatch(route.operation, params)

    def request_problems(
        self,
        method: str,
        path: str,
        *,
        query: QueryInput = None,
        headers: Mapping[str, str] | Headers | None = None,
        body: BodyInput = None,
    ) -> tuple[OperationMatch | None, list[Problem]]:
        """The operation called and what is wrong with the request, by location."""
        bare, pairs = split_path(path, query)
        match = self.operation_for(method, bare)
        if match is None:
            return None, [Problem("route", f"no operation {method.upper()} {bare} in the files")]
        request = CheckedRequest(
            match=match,
            path=bare,
            query=pairs,
            headers=Headers(headers or {}),
            body=body_bytes(body),
            encoded_here=body is not None and not isinstance(body, bytes | str),
        )
        api = self._apis[match.operation.group]
        with self._lock:
            errors = list(api.iter_request_errors(request))
        problems = [p for error in errors for p in describe_request_error(error)]
        return match, problems

    def validate_request(
        self,
        method: str,
        path: str,
        *,
        query: QueryInput = None,
        headers: Mapping[str, str] | Headers | None = None,
        body: BodyInput = None,
    ) -> list[str]:
        """Problems with a request against the files; empty when GHL would accept its shape."""
        _, problems = self.request_problems(method, path, query=query, headers=headers, body=body)
        return [p.text for p in problems]

    def response_problems(
        self,
        match: OperationMatch,
        *,
        status: int,
        headers: Mapping[str, str] | Headers | None = None,
        body: BodyInput = None,
    ) -> list[Problem]:
        """What is wrong with an answer to `match`'s operation."""
        raw = body_bytes(body)
        header_map = Headers(headers or {})
        request = CheckedRequest(
            match=match, path=match.operation.template, query=[], headers=Headers(), body=None
        )
        response = CheckedResponse(status=status, headers=header_map, body=raw)
        api = self._apis[match.operation.group]
        with self._lock:
            errors = list(api.iter_response_errors(request, response))
        problems: list[Problem] = []
        for error in errors:
            problems += describe_response_error(
                error, status=status, body=raw, operation=match.operation
            )
        return problems

    def validate_response(
        self,
        method: str,
        path: str,
        *,
        status: int,
        headers: Mapping[str, str] | Headers | None = None,
        body: BodyInput = None,
        request_path_template: str | None = None,
    ) -> list[str]:
        """Problems with a response to `method path`; empty when it matches the files.

        A status the file does not declare is accepted for errors (>= 400) when its body has
        GHL's error shape (`statusCode`, `message`); for successes it is a problem.
        """
        if request_path_template:
            match = self.match_template(method, request_path_template, path)
        else:
            match = self.operation_for(method, path)
        if match is None:
            return [f"no operation {method.upper()} {path} in the files"]
        problems = self.response_problems(match, status=status, headers=headers, body=body)
        return [p.text for p in problems]


def _compile(template: str) -> tuple[re.Pattern[str], tuple[str, ...], int]:
    names: list[str] = []
    pattern = ""
    literal = 0
    for segment in template.strip("/").split("/"):
        if not segment:
            continue
        param = re.fullmatch(r"{([^}]+)}", segment)
        if param:
            names.append(param.group(1))
            pattern += "/([^/]+)"
        else:
            literal += 1
            pattern += "/" + re.escape(segment)
    return re.compile(f"^{pattern or '/'}$"), tuple(names), literal


def _versions(operation: dict[str, Any]) -> tuple[str, ...]:
    for param in operation.get("parameters", []):
        if param.get("in") == "header" and param.get("name", "").lower() == "version":
            return tuple(param.get("schema", {}).get("enum", ()))
    return ()


def _load(openapi_dir: Path) -> GHLSpecs:
    apis: dict[str, OpenAPI] = {}
    routes: list[_Route] = []
    for file in sorted((openapi_dir / "apps").glob("*.json")):
        group = file.stem
        document = json.loads(file.read_text(encoding="utf-8"))
        mend_document(document, group=group)
        # The files' `$ref: ../common/...` resolve against the file's own location.
        spec = SchemaPath.from_dict(document, base_uri=file.resolve().as_uri())
        # The whole-spec check stays off: the files carry further defects (e.g. response
        # headers without a schema) that do not affect request/response validation.
        apis[group] = OpenAPI(spec, config=Config(spec_validator_cls=None))
        for template, item in document["paths"].items():
            for method in _METHODS:
                if method not in item:
                    continue
                op = item[method]
                operation = Operation(
                    group=group,
                    method=method.upper(),
                    template=template,
                    operation_id=op.get("operationId", ""),
                    versions=_versions(op),
                )
                regex, names, literal = _compile(template)
                routes.append(_Route(regex, names, literal, operation))
    if not apis:
        raise FileNotFoundError(f"no OpenAPI files under {openapi_dir / 'apps'}")
    return GHLSpecs(apis, routes)


@lru_cache(maxsize=4)
def _load_cached(openapi_dir: Path) -> GHLSpecs:
    return _load(openapi_dir)


def load_specs(openapi_dir: Path | None = None) -> GHLSpecs:
    """The GHL files under `openapi_dir` (default: the vendored ones), loaded once per process."""
    return _load_cached((openapi_dir or DEFAULT_OPENAPI_DIR).resolve())
