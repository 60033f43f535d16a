"""Records as GHL answers them, in the shapes the OpenAPI files declare.

Where a file and the live API disagree the file wins, since the emulator's answers are
validated against it: custom field values of contacts are strings (`CustomFieldSchema.value`)
and absent values are left out rather than sent as null (no response property is nullable).
"""

from __future__ import annotations

from typing import Any

from sandbox.ghl_emulator.calls import iso
from sandbox.ghl_emulator.state import (
    Contact,
    CustomField,
    Location,
    Note,
    Opportunity,
    Pipeline,
    State,
    Tag,
    Task,
    User,
    Workflow,
)


def _compact(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None}


def _value_text(value: Any) -> Any:
    # Contacts' `customFields[].value` is declared a string; numbers are sent as their text.
    # Lists (MULTIPLE_OPTIONS, CHECKBOX) stay lists: the file has no shape for them.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float):
        return str(value)
    return value


def full_name(contact: Contact) -> str | None:
    if contact.name:
        return contact.name
    parts = [p for p in (contact.first_name, contact.last_name) if p]
    return " ".join(parts) or None


def contact(state: State, record: Contact) -> dict[str, Any]:
    name = full_name(record)
    data: dict[str, Any] = {
        "id": record.id,
        "locationId": record.location_id,
        "name": name,
        "firstName": record.first_name,
        "lastName": record.last_name,
        "firstNameLowerCase": record.first_name.lower() if record.first_name else None,
        "lastNameLowerCase": record.last_name.lower() if record.last_name else None,
        "fullNameLowerCase": name.lower() if name else None,
        "email": record.email,
        "emailLowerCase": record.email.lower() if record.email else None,
        "phone": record.phone,
        "timezone": record.timezone or None,
        "dnd": record.dnd,
        "dndSettings": record.dnd_settings or None,
        "type": "lead",
        "assignedTo": record.assigned_to,
        "tags": list(record.tags),
        "dateAdded": iso(record.date_added),
        "dateUpdated": iso(record.date_updated),
        "customFields": [
            {"id": field_id, "value": _value_text(value)}
            for field_id, value in record.custom_fields.items()
            if value is not None
        ],
    }
    data.update(record.extra)
    return _compact(data)


def opportunity_contact(state: State, contact_id: str) -> dict[str, Any] | None:
    record = state.contacts.get(contact_id)
    if record is None:
        return None
    return _compact(
        {
            "id": record.id,
            "name": full_name(record),
            "companyName": record.extra.get("companyName"),
            "email": record.email,
            "phone": record.phone,
            "tags": list(record.tags),
        }
    )


_NUMBER_TYPES = ("NUMERICAL", "MONETORY", "FLOAT")


def opportunity_field(state: State, field_id: str, value: Any) -> dict[str, Any] | None:
    """One opportunity custom field as the live API answers it, or None when empty.

    Not the file's `CustomFieldResponseSchema` (`{id, fieldValue}`): GHL returns
    `{id, type, fieldValueString | fieldValueNumber | ...}` (GoHighLevel/highlevel-api-docs
    issue 87); `spec_mend` lets the response check accept that shape.
    """
    if value in (None, "", []):
        return None
    field = state.custom_fields.get(field_id)
    data_type = field.data_type if field else "TEXT"
    if isinstance(value, list):
        return {"id": field_id, "type": "array", "fieldValueArray": [str(v) for v in value]}
    if isinstance(value, dict):
        return {"id": field_id, "type": "object", "fieldValueObject": value}
    if data_type in _NUMBER_TYPES:
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = None
        if number is not None:
            shown = int(number) if number.is_integer() else number
            return {"id": field_id, "type": "number", "fieldValueNumber": shown}
    return {"id": field_id, "type": "string", "fieldValueString": str(_value_text(value))}


def opportunity(state: State, record: Opportunity) -> dict[str, Any]:
    fields = []
    for field_id, value in record.custom_fields.items():
        shown = opportunity_field(state, field_id, value)
        if shown is not None:
            fields.append(shown)
    return _compact(
        {
            "id": record.id,
            "name": record.name,
            "monetaryValue": record.monetary_value,
            "pipelineId": record.pipeline_id,
            "pipelineStageId": record.stage_id,
            "assignedTo": record.assigned_to,
            "status": record.status,
            "source": record.source,
            "lastStatusChangeAt": iso(record.last_status_change_at),
            "lastStageChangeAt": iso(record.last_stage_change_at),
            "createdAt": iso(record.created_at),
            "updatedAt": iso(record.updated_at),
            "contactId": record.contact_id,
            "locationId": record.location_id,
            "contact": opportunity_contact(state, record.contact_id),
            "lostReasonId": record.lost_reason_id,
            "customFields": fields,
            "followers": [],
        }
    )


def pipeline(record: Pipeline) -> dict[str, Any]:
    return {
        "id": record.id,
        "name": record.name,
        "locationId": record.location_id,
        "stages": [
            {
                "id": s.id,
                "name": s.name,
                "position": s.position,
                "showInFunnel": True,
                "showInPieChart": True,
            }
            for s in record.stages
        ],
        "showInFunnel": True,
        "showInPieChart": True,
    }


def custom_field(record: CustomField) -> dict[str, Any]:
    return _compact(
        {
            "id": record.id,
            "name": record.name,
            "fieldKey": record.field_key,
            "placeholder": record.placeholder,
            "dataType": record.data_type,
            "position": record.position,
            "picklistOptions": list(record.picklist_options) or None,
            "locationId": record.location_id,
            "model": record.model,
        }
    )


def tag(record: Tag) -> dict[str, Any]:
    return {"id": record.id, "name": record.name, "locationId": record.location_id}


def note(record: Note) -> dict[str, Any]:
    return _compact(
        {
            "id": record.id,
            "body": record.body,
            "userId": record.user_id,
            "title": record.title,
            "dateAdded": iso(record.date_added),
            "contactId": record.contact_id,
        }
    )


def task(record: Task) -> dict[str, Any]:
    return _compact(
        {
            "id": record.id,
            "title": record.title,
            "body": record.body,
            "assignedTo": record.assigned_to,
            "dueDate": record.due_date,
            "completed": record.completed,
            "contactId": record.contact_id,
        }
    )


def user(record: User) -> dict[str, Any]:
    return {
        "id": record.id,
        "name": f"{record.first_name} {record.last_name}",
        "firstName": record.first_name,
        "lastName": record.last_name,
        "email": record.email,
        "phone": record.phone,
        "roles": {"type": "account", "role": record.role, "locationIds": [record.location_id]},
        "deleted": False,
    }


def workflow(record: Workflow) -> dict[str, Any]:
    return {
        "id": record.id,
        "name": record.name,
        "status": record.status,
        "version": record.version,
        "createdAt": iso(record.created_at),
        "updatedAt": iso(record.updated_at),
        "locationId": record.location_id,
    }


def location(record: Location) -> dict[str, Any]:
    address = {
        "address": record.address,
        "city": record.city,
        "state": record.state,
        "country": record.country,
        "postalCode": record.postal_code,
        "timezone": record.timezone,
    }
    return _compact(
        {
            "id": record.id,
            "companyId": record.company_id or None,
            "name": record.name,
            **address,
            "email": record.email or None,
            "phone": record.phone or None,
            "business": {"name": record.name, **address},
            "settings": {
                "allowDuplicateContact": record.allow_duplicate_contact,
                "allowDuplicateOpportunity": record.allow_duplicate_opportunity,
                "allowFacebookNameMerge": False,
                "disableContactTimezone": False,
            },
        }
    )
