"""Contacts: upsert, read, update, tags, notes, tasks and workflow enrolment."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sandbox.ghl_emulator import render
from sandbox.ghl_emulator.calls import ApiError, Call, Handler, Reply
from sandbox.ghl_emulator.contacts_search import search_contacts
from sandbox.ghl_emulator.handlers_common import (
    apply_custom_fields,
    check_email,
    find_contact,
    normalise_phone,
    normalise_tags,
)
from sandbox.ghl_emulator.state import Contact, Enrolment, Note, Task

# Body fields kept as plain text on the contact (`Contact.extra`), under GHL's names.
_TEXT_FIELDS = (
    "address1",
    "city",
    "state",
    "postalCode",
    "website",
    "source",
    "country",
    "companyName",
    "gender",
)


def _apply(call: Call, contact: Contact, body: dict[str, Any]) -> None:
    """Write the fields of an upsert or update body onto `contact`."""
    for key, attr in (("firstName", "first_name"), ("lastName", "last_name"), ("name", "name")):
        if key in body:
            setattr(contact, attr, body[key] or None)
    if "email" in body:
        contact.email = check_email(body["email"])
    if "phone" in body:
        contact.phone = normalise_phone(body["phone"])
    if "timezone" in body:
        contact.timezone = body["timezone"] or None
    if "assignedTo" in body:
        if body["assignedTo"] and body["assignedTo"] not in call.state.users:
            raise ApiError(400, f"User with id {body['assignedTo']} not found")
        contact.assigned_to = body["assignedTo"] or None
    if "dnd" in body:
        contact.dnd = bool(body["dnd"])
    if body.get("dndSettings"):
        # Channels not named in the body keep their setting.
        contact.dnd_settings = {**contact.dnd_settings, **body["dndSettings"]}
    if "tags" in body:
        # UpsertContactDto/UpdateContactDto: "This field will overwrite all current tags".
        contact.tags = normalise_tags(body["tags"])
        call.state.ensure_tags(call.location_id, contact.tags)
    if body.get("customFields"):
        apply_custom_fields(call, contact.custom_fields, body["customFields"], model="contact")
    if body.get("dateOfBirth") is not None:
        contact.extra["dateOfBirth"] = str(body["dateOfBirth"])
    for key in _TEXT_FIELDS:
        if key in body:
            if body[key] is None:
                contact.extra.pop(key, None)
            else:
                contact.extra[key] = str(body[key])
    contact.date_updated = call.now_ms


def _same_phone(a: str | None, b: str | None) -> bool:
    return bool(a and b) and normalise_phone(a) == normalise_phone(b)


def _duplicate_of(call: Call, body: dict[str, Any], *, skip: str | None = None) -> Contact | None:
    """The contact an upsert would update: email first, then phone (the location's priority)."""
    contacts = [
        c
        for c in call.state.contacts.values()
        if c.location_id == call.location_id and c.id != skip
    ]
    email = (body.get("email") or "").lower()
    if email:
        for candidate in contacts:
            if candidate.email and candidate.email.lower() == email:
                return candidate
    for candidate in contacts:
        if _same_phone(candidate.phone, body.get("phone")):
            return candidate
    return None


def upsert_contact(call: Call) -> Reply:
    body = call.json()
    location = call.state.ensure_location(call.location_id)
    duplicate_allowed = location.allow_duplicate_contact and body.get("createNewIfDuplicateAllowed")
    existing = None if duplicate_allowed else _duplicate_of(call, body)
    created = existing is None
    contact = existing or Contact(
        id=call.state.new_id(),
        location_id=call.location_id,
        date_added=call.now_ms,
        date_updated=call.now_ms,
    )
    _apply(call, contact, body)
    call.state.contacts[contact.id] = contact
    return Reply(200, {"new": created, "contact": render.contact(call.state, contact)})


def get_contact(call: Call) -> Reply:
    contact = find_contact(call, call.params["contactId"])
    return Reply(200, {"contact": render.contact(call.state, contact)})


def update_contact(call: Call) -> Reply:
    contact = find_contact(call, call.params["contactId"])
    body = call.json()
    location = call.state.ensure_location(call.location_id)
    if not location.allow_duplicate_contact:
        clash = _duplicate_of(
            call, {"email": body.get("email"), "phone": body.get("phone")}, skip=contact.id
        )
        if clash is not None:
            # GHL's answer when a write would duplicate another contact's email or phone in a
            # location that does not allow duplicates (its "Allow Duplicate Contact" setting).
            field = "email" if body.get("email") else "phone"
            raise ApiError(
                400,
                "This location does not allow duplicated contacts.",
                extra={"meta": {"contactId": clash.id, "matchingField": field}},
            )
    _apply(call, contact, body)
    return Reply(200, {"succeded": True, "contact": render.contact(call.state, contact)})


def add_tags(call: Call) -> Reply:
    contact = find_contact(call, call.params["contactId"])
    added = normalise_tags(call.json().get("tags", []))
    contact.tags = normalise_tags(contact.tags + added)
    call.state.ensure_tags(call.location_id, added)
    contact.date_updated = call.now_ms
    return Reply(201, {"tags": list(contact.tags)})


def remove_tags(call: Call) -> Reply:
    contact = find_contact(call, call.params["contactId"])
    removed = set(normalise_tags(call.json().get("tags", [])))
    contact.tags = [t for t in contact.tags if t not in removed]
    contact.date_updated = call.now_ms
    return Reply(200, {"tags": list(contact.tags)})


def create_note(call: Call) -> Reply:
    contact = find_contact(call, call.params["contactId"])
    body = call.json()
    note = Note(
        id=call.state.new_id(),
        contact_id=contact.id,
        body=body["body"],
        date_added=call.now_ms,
        user_id=body.get("userId"),
        title=body.get("title"),
    )
    call.state.notes[note.id] = note
    return Reply(201, {"note": render.note(note)})


def list_notes(call: Call) -> Reply:
    contact = find_contact(call, call.params["contactId"])
    notes = [n for n in call.state.notes.values() if n.contact_id == contact.id]
    notes.sort(key=lambda n: n.date_added, reverse=True)
    return Reply(200, {"notes": [render.note(n) for n in notes]})


def _iso_text(text: str, *, name: str) -> str:
    """`text` if it is an ISO 8601 date, else GHL's 422 (class-validator IsISO8601)."""
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(422, [f"{name} must be a valid ISO 8601 date string"]) from None
    return text


def create_task(call: Call) -> Reply:
    contact = find_contact(call, call.params["contactId"])
    body = call.json()
    if body.get("assignedTo") and body["assignedTo"] not in call.state.users:
        raise ApiError(400, f"User with id {body['assignedTo']} not found")
    task = Task(
        id=call.state.new_id(),
        contact_id=contact.id,
        title=body["title"],
        due_date=_iso_text(body["dueDate"], name="dueDate"),
        completed=bool(body["completed"]),
        body=body.get("body"),
        assigned_to=body.get("assignedTo"),
    )
    call.state.tasks[task.id] = task
    return Reply(201, {"task": render.task(task)})


def list_tasks(call: Call) -> Reply:
    contact = find_contact(call, call.params["contactId"])
    tasks = [t for t in call.state.tasks.values() if t.contact_id == contact.id]
    return Reply(200, {"tasks": [render.task(t) for t in tasks]})


def complete_task(call: Call) -> Reply:
    contact = find_contact(call, call.params["contactId"])
    task = call.state.tasks.get(call.params["taskId"])
    if task is None or task.contact_id != contact.id:
        raise ApiError(404, f"Task with id {call.params['taskId']} not found")
    task.completed = bool(call.json()["completed"])
    return Reply(200, {"task": render.task(task)})


def add_to_workflow(call: Call) -> Reply:
    contact = find_contact(call, call.params["contactId"])
    workflow = call.state.workflows.get(call.params["workflowId"])
    if workflow is None or workflow.location_id != call.location_id:
        raise ApiError(404, f"Workflow with id {call.params['workflowId']} not found")
    start = call.json().get("eventStartTime")
    if start is not None:
        _iso_text(start, name="eventStartTime")
    call.state.enrolments.append(
        Enrolment(
            contact_id=contact.id,
            workflow_id=workflow.id,
            enrolled_at=call.now_ms,
            event_start_time=start,
        )
    )
    return Reply(200, {"succeded": True})


ROUTES: dict[tuple[str, str], Handler] = {
    ("POST", "/contacts/upsert"): upsert_contact,
    ("GET", "/contacts/{contactId}"): get_contact,
    ("PUT", "/contacts/{contactId}"): update_contact,
    ("POST", "/contacts/search"): search_contacts,
    ("POST", "/contacts/{contactId}/tags"): add_tags,
    ("DELETE", "/contacts/{contactId}/tags"): remove_tags,
    ("POST", "/contacts/{contactId}/notes"): create_note,
    ("GET", "/contacts/{contactId}/notes"): list_notes,
    ("POST", "/contacts/{contactId}/tasks"): create_task,
    ("GET", "/contacts/{contactId}/tasks"): list_tasks,
    ("PUT", "/contacts/{contactId}/tasks/{taskId}/completed"): complete_task,
    ("POST", "/contacts/{contactId}/workflow/{workflowId}"): add_to_workflow,
}
