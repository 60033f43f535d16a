"""Locations (details, custom fields, tags), users and workflows."""

from __future__ import annotations

import re

from sandbox.ghl_emulator import render
from sandbox.ghl_emulator.calls import NO_ACCESS, ApiError, Call, Handler, Reply
from sandbox.ghl_emulator.state import CustomField, Tag

# locations.json leaves `dataType` a free string; custom-fields.json (the v2 custom fields API)
# lists what GHL accepts, so the emulator refuses anything else.
DATA_TYPES = (
    "TEXT",
    "LARGE_TEXT",
    "NUMERICAL",
    "PHONE",
    "MONETORY",
    "CHECKBOX",
    "SINGLE_OPTIONS",
    "MULTIPLE_OPTIONS",
    "DATE",
    "TEXTBOX_LIST",
    "FILE_UPLOAD",
    "RADIO",
    "EMAIL",
)


def get_location(call: Call) -> Reply:
    location = call.state.ensure_location(call.params["locationId"])
    return Reply(200, {"location": render.location(location)})


def list_custom_fields(call: Call) -> Reply:
    # The file does not say what a missing `model` means; the emulator takes the narrower
    # reading (contact fields only), so a client that needs opportunity fields must ask.
    model = call.query.get("model", "contact")
    fields = sorted(call.state.fields_of(call.location_id, model), key=lambda f: f.position)
    return Reply(200, {"customFields": [render.custom_field(f) for f in fields]})


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


def create_custom_field(call: Call) -> Reply:
    body = call.json()
    if body["dataType"] not in DATA_TYPES:
        raise ApiError(
            422, ["dataType must be one of the following values: " + ", ".join(DATA_TYPES)]
        )
    model = body.get("model", "contact")
    key = f"{model}.{_slug(body['name'])}"
    if any(f.field_key == key for f in call.state.fields_of(call.location_id)):
        raise ApiError(400, f"A custom field with the key {key} already exists")
    field = CustomField(
        id=call.state.new_id(),
        location_id=call.location_id,
        name=body["name"],
        field_key=key,
        data_type=body["dataType"],
        model=model,
        position=int(body.get("position", 0)),
        placeholder=body.get("placeholder"),
        picklist_options=[o.get("label", "") for o in body.get("textBoxListOptions", [])],
    )
    call.state.custom_fields[field.id] = field
    return Reply(201, {"customField": render.custom_field(field)})


def list_tags(call: Call) -> Reply:
    tags = [t for t in call.state.tags.values() if t.location_id == call.location_id]
    return Reply(200, {"tags": [render.tag(t) for t in tags]})


def create_tag(call: Call) -> Reply:
    name = call.json()["name"].strip().lower()
    if not name:
        raise ApiError(422, ["name should not be empty"])
    if any(t.name == name for t in call.state.tags.values() if t.location_id == call.location_id):
        raise ApiError(400, f"Tag {name} already exists")
    tag = Tag(id=call.state.new_id(), location_id=call.location_id, name=name)
    call.state.tags[tag.id] = tag
    return Reply(200, {"tag": render.tag(tag)})


def list_users(call: Call) -> Reply:
    # Deprecated in users.json ("Use Search Users instead"); still answered, as GHL does.
    users = [u for u in call.state.users.values() if u.location_id == call.location_id]
    return Reply(200, {"users": [render.user(u) for u in users]})


def search_users(call: Call) -> Reply:
    """`GET /users/search?companyId=`: the company's users, narrowed to `locationId` if given."""
    company_id = call.query.get("companyId", "")
    location = call.state.ensure_location(call.location_id)
    if not location.company_id or company_id != location.company_id:
        # A location token reaches only its own company (the location's `companyId`).
        raise ApiError(403, NO_ACCESS)
    users = [u for u in call.state.users.values() if u.location_id == call.location_id]
    text = (call.query.get("query") or "").strip().lower()
    if text:
        users = [
            u for u in users if text in f"{render.user(u)['name']} {u.email} {u.phone}".lower()
        ]
    skip = int(call.query.get("skip") or 0)
    limit = int(call.query.get("limit") or 25)
    shown = users[skip : skip + limit]
    return Reply(200, {"users": [render.user(u) for u in shown], "count": len(users)})


def list_workflows(call: Call) -> Reply:
    flows = [w for w in call.state.workflows.values() if w.location_id == call.location_id]
    return Reply(200, {"workflows": [render.workflow(w) for w in flows]})


ROUTES: dict[tuple[str, str], Handler] = {
    ("GET", "/locations/{locationId}"): get_location,
    ("GET", "/locations/{locationId}/customFields"): list_custom_fields,
    ("POST", "/locations/{locationId}/customFields"): create_custom_field,
    ("GET", "/locations/{locationId}/tags"): list_tags,
    ("POST", "/locations/{locationId}/tags"): create_tag,
    ("GET", "/users/"): list_users,
    ("GET", "/users/search"): search_users,
    ("GET", "/workflows/"): list_workflows,
}
