"""In-memory repairs of the official GHL OpenAPI files, applied once when they are loaded.

The files under `openapi/` stay byte-for-byte as GoHighLevel publishes them; everything here
works on the parsed dicts. Each repair names the defect it mends (see
/work/shared/ghl-api/README.md, "Known defects") so it can be dropped when GHL fixes the file.

    document = json.loads(path.read_text())
    mend_document(document, group="contacts")
"""

from __future__ import annotations

import re
from typing import Any

_PATH_PARAM = re.compile(r"{([^}/]+)}")
_HTTP_METHODS = ("get", "put", "post", "delete", "patch", "options", "head")


def mend_document(document: dict[str, Any], *, group: str) -> None:
    """Apply every repair to one parsed apps/*.json file, in place."""
    _drop_http_scheme_name_and_in(document)
    _declare_missing_path_params(document)
    _move_parameter_anyof_under_schema(document)
    _drop_type_any(document)
    _untyped_nested_arrays(document)
    if group == "contacts":
        _supplement_contact_search(document)
    if group == "opportunities":
        _live_opportunity_custom_fields(document)


def _drop_http_scheme_name_and_in(document: dict[str, Any]) -> None:
    # Defect (every file): `type: http` security schemes also carry `name`/`in`, which
    # OpenAPI 3.0 only allows for `type: apiKey`.
    for scheme in document.get("components", {}).get("securitySchemes", {}).values():
        if scheme.get("type") == "http":
            scheme.pop("name", None)
            scheme.pop("in", None)


def _operations(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for template, item in document.get("paths", {}).items():
        for method in _HTTP_METHODS:
            if method in item:
                found.append((template, item[method]))
    return found


def _declare_missing_path_params(document: dict[str, Any]) -> None:
    # Defect: contacts `POST /contacts/bulk/tags/update/{type}`, locations
    # `GET /locations/{locationId}/timezones` and users `PUT /users/{userId}` use a path
    # parameter they never declare. Declared here as required strings.
    for template, operation in _operations(document):
        params = operation.setdefault("parameters", [])
        declared = {p.get("name") for p in params if p.get("in") == "path"}
        for name in _PATH_PARAM.findall(template):
            if name not in declared:
                params.append(
                    {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                )


def _move_parameter_anyof_under_schema(document: dict[str, Any]) -> None:
    # Defect: conversations `GET /conversations/search` query `startAfterDate` puts `anyOf`
    # on the parameter itself (next to a `schema` of `type: any`) instead of inside `schema`.
    # Its two branches, StartAfterNumberSchema and StartAfterArrayNumberSchema, are NestJS
    # wrapper DTOs whose one property is the parameter itself: the value is the sort value of
    # the last conversation seen, a number (the parameter's example, 1600854), as the live API
    # takes it (`?startAfterDate=1700000000000`). No query string can satisfy an anyOf of
    # objects (openapi-core reads none), so the value's own type, a number, is what is checked.
    for _, operation in _operations(document):
        for param in operation.get("parameters", []):
            if "anyOf" in param:
                schema = param.setdefault("schema", {})
                schema.pop("type", None)
                branches = param.pop("anyOf")
                if param.get("name") == "startAfterDate":
                    schema["type"] = "number"
                else:
                    schema["anyOf"] = branches


def _drop_type_any(node: Any) -> None:
    # Defect: `type: any` is not an OpenAPI 3.0 type; without `type` a schema accepts anything,
    # which is what the authors meant.
    if isinstance(node, dict):
        if node.get("type") == "any":
            del node["type"]
        for value in node.values():
            _drop_type_any(value)
    elif isinstance(node, list):
        for value in node:
            _drop_type_any(value)


def _untyped_nested_arrays(node: Any) -> None:
    # Defect (not in the README's list, found when validating the emulator's answers):
    # opportunities `PipelinesResponseSchema.stages` and `SearchOpportunitiesResponseSchema`
    # `notes`/`tasks`/`calendarEvents`/`followers`, and locations `tasks`, are declared as
    # `{type: array, items: {type: array}}` with no inner `items` (OpenAPI 3.0 requires one).
    # This is the NestJS generator's rendering of `any[]`; the live API answers e.g. stages as
    # objects `{id, name, position}`. The inner schema is relaxed to "any value".
    if isinstance(node, dict):
        items = node.get("items")
        if (
            node.get("type") == "array"
            and isinstance(items, dict)
            and items.get("type") == "array"
            and "items" not in items
        ):
            node["items"] = {}
        for value in node.values():
            _untyped_nested_arrays(value)
    elif isinstance(node, list):
        for value in node:
            _untyped_nested_arrays(value)


def _supplement_contact_search(document: dict[str, Any]) -> None:
    # Gap, not a defect: `POST /contacts/search` declares an empty body schema and a 200 with no
    # content. README "Facts not in the files": GHL answers 422 without `locationId` and
    # `pageLimit`; its search guide documents the rest of the body and the `{contacts, total}`
    # answer with a `searchAfter` cursor per contact and a pageLimit of at most 500 (the
    # emulator's own, lower cap is enforced by its handler, not here).
    schemas = document["components"]["schemas"]
    schemas["SearchBodyV2DTO"] = {
        "type": "object",
        "required": ["locationId", "pageLimit"],
        "properties": {
            "locationId": {"type": "string"},
            "page": {"type": "number", "minimum": 1},
            "pageLimit": {"type": "number", "minimum": 1, "maximum": 500},
            "searchAfter": {"type": "array"},
            "filters": {"type": "array", "items": {"type": "object"}},
            "sort": {"type": "array", "items": {"type": "object"}},
            "query": {"type": "string", "maxLength": 75},
        },
    }
    schemas["SearchContactsResponseDto"] = {
        "type": "object",
        "required": ["contacts", "total"],
        "properties": {
            "contacts": {
                "type": "array",
                "items": {
                    "allOf": [
                        {"$ref": "#/components/schemas/GetContectByIdSchema"},
                        {
                            "type": "object",
                            "required": ["id", "dateUpdated", "searchAfter"],
                            "properties": {"searchAfter": {"type": "array"}},
                        },
                    ]
                },
            },
            "total": {"type": "number"},
        },
    }
    ok = document["paths"]["/contacts/search"]["post"]["responses"]["200"]
    ok["content"] = {
        "application/json": {"schema": {"$ref": "#/components/schemas/SearchContactsResponseDto"}}
    }


def _live_opportunity_custom_fields(document: dict[str, Any]) -> None:
    # Mismatch with the live API: `CustomFieldResponseSchema` declares `{id, fieldValue}`, but
    # GHL answers opportunity custom fields as `{id, type, fieldValueString}` (or
    # `fieldValueNumber`, ...; GoHighLevel/highlevel-api-docs issue 87). Either shape passes.
    schemas = document["components"]["schemas"]
    declared = schemas.get("CustomFieldResponseSchema")
    if declared is None:
        return
    live = {
        "type": "object",
        "required": ["id", "type"],
        "properties": {
            "id": {"type": "string"},
            "type": {"type": "string", "enum": ["string", "number", "array", "object"]},
            "fieldValueString": {"type": "string"},
            "fieldValueNumber": {"type": "number"},
            "fieldValueArray": {"type": "array", "items": {"type": "string"}},
            "fieldValueObject": {"type": "object"},
        },
    }
    schemas["CustomFieldResponseSchema"] = {"anyOf": [declared, live]}
