"""Typed views of GHL's responses, after `../shared/ghl-api/apps/*.json`.

Lenient on purpose: GHL adds fields without notice, so unknown fields are kept (`extra`), and
only what DealFinder reads is declared. Field names are GHL's (camelCase).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class GHLModel(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class CustomFieldValue(GHLModel):
    """A custom field value in any of GHL's answer shapes.

    Contacts: `{id, value}`. Opportunities, per opportunities.json: `{id, fieldValue}`; as the
    live API answers (GoHighLevel/highlevel-api-docs issue 87): `{id, type, fieldValueString}`
    or `fieldValueNumber` (and array/object variants). `current` is whichever is present.
    """

    id: str
    value: Any = None
    key: str | None = None
    type: str | None = None
    field_value: Any = Field(default=None, alias="fieldValue")
    field_value_string: str | None = Field(default=None, alias="fieldValueString")
    field_value_number: float | None = Field(default=None, alias="fieldValueNumber")
    field_value_array: list[Any] | None = Field(default=None, alias="fieldValueArray")
    field_value_object: dict[str, Any] | None = Field(default=None, alias="fieldValueObject")

    @property
    def current(self) -> Any:
        for candidate in (
            self.value,
            self.field_value_string,
            self.field_value_number,
            self.field_value_array,
            self.field_value_object,
            self.field_value,
        ):
            if candidate is not None:
                if isinstance(candidate, float) and candidate.is_integer():
                    return int(candidate)
                return candidate
        return None


class DndChannel(GHLModel):
    status: str | None = None  # "active" | "inactive" | "permanent"
    message: str | None = None
    code: str | None = None


class Contact(GHLModel):
    id: str
    location_id: str | None = Field(default=None, alias="locationId")
    first_name: str | None = Field(default=None, alias="firstName")
    last_name: str | None = Field(default=None, alias="lastName")
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    tags: list[str] = Field(default_factory=list)
    timezone: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = Field(default=None, alias="postalCode")
    dnd: bool | None = None
    dnd_settings: dict[str, DndChannel] | None = Field(default=None, alias="dndSettings")
    custom_fields: list[CustomFieldValue] = Field(default_factory=list, alias="customFields")
    date_added: str | None = Field(default=None, alias="dateAdded")
    date_updated: str | None = Field(default=None, alias="dateUpdated")
    search_after: list[Any] | None = Field(default=None, alias="searchAfter")

    @property
    def display_name(self) -> str:
        parts = [p for p in (self.first_name, self.last_name) if p]
        return " ".join(parts) or self.name or self.email or self.phone or self.id

    @property
    def sms_dnd(self) -> bool:
        """True when GHL would refuse an SMS: global DND, or DND active for the SMS channel."""
        if self.dnd:
            return True
        channel = (self.dnd_settings or {}).get("SMS")
        return bool(channel and channel.status in ("active", "permanent"))

    def field(self, field_id: str) -> Any:
        for cf in self.custom_fields:
            if cf.id == field_id:
                return cf.current
        return None


class UpsertContactResult(GHLModel):
    contact: Contact
    new: bool = False


class Note(GHLModel):
    id: str
    body: str | None = None
    contact_id: str | None = Field(default=None, alias="contactId")
    date_added: str | None = Field(default=None, alias="dateAdded")


class Task(GHLModel):
    id: str
    title: str | None = None
    body: str | None = None
    due_date: str | None = Field(default=None, alias="dueDate")
    completed: bool = False
    assigned_to: str | None = Field(default=None, alias="assignedTo")
    contact_id: str | None = Field(default=None, alias="contactId")


class Stage(GHLModel):
    id: str
    name: str
    position: int | None = None


class Pipeline(GHLModel):
    id: str
    name: str
    stages: list[Stage] = Field(default_factory=list)

    def stage_named(self, name: str) -> Stage | None:
        wanted = name.strip().lower()
        return next((s for s in self.stages if s.name.strip().lower() == wanted), None)


class Opportunity(GHLModel):
    id: str
    name: str | None = None
    monetary_value: float | None = Field(default=None, alias="monetaryValue")
    pipeline_id: str | None = Field(default=None, alias="pipelineId")
    pipeline_stage_id: str | None = Field(default=None, alias="pipelineStageId")
    assigned_to: str | None = Field(default=None, alias="assignedTo")
    status: str | None = None
    contact_id: str | None = Field(default=None, alias="contactId")
    location_id: str | None = Field(default=None, alias="locationId")
    custom_fields: list[CustomFieldValue] = Field(default_factory=list, alias="customFields")
    date_updated: str | None = Field(default=None, alias="updatedAt")

    def field(self, field_id: str) -> Any:
        """The value of one custom field (whichever shape GHL answered in), or None."""
        return next((cf.current for cf in self.custom_fields if cf.id == field_id), None)


class UpsertOpportunityResult(GHLModel):
    opportunity: Opportunity
    new: bool = False


class SentMessage(GHLModel):
    conversation_id: str | None = Field(default=None, alias="conversationId")
    message_id: str | None = Field(default=None, alias="messageId")
    msg: str | None = None


class CustomField(GHLModel):
    id: str
    name: str
    field_key: str | None = Field(default=None, alias="fieldKey")
    data_type: str | None = Field(default=None, alias="dataType")
    model: str | None = None  # "contact" | "opportunity"
    placeholder: str | None = None

    @property
    def key(self) -> str:
        """The mapping key: `contact.budget_min` -> `budget_min`."""
        raw = self.field_key or self.name
        return raw.split(".", 1)[1] if "." in raw else raw


class Tag(GHLModel):
    id: str | None = None
    name: str


class User(GHLModel):
    id: str
    name: str | None = None
    first_name: str | None = Field(default=None, alias="firstName")
    last_name: str | None = Field(default=None, alias="lastName")
    email: str | None = None
    phone: str | None = None


class Workflow(GHLModel):
    id: str
    name: str
    status: str | None = None


class LocationSettings(GHLModel):
    allow_duplicate_contact: bool | None = Field(default=None, alias="allowDuplicateContact")
    # GHL's "Allow Multiple Opportunities per Contact" (Settings > Objects > Opportunities).
    allow_duplicate_opportunity: bool | None = Field(
        default=None, alias="allowDuplicateOpportunity"
    )


class Location(GHLModel):
    id: str
    name: str | None = None
    company_id: str | None = Field(default=None, alias="companyId")
    settings: LocationSettings | None = None
    timezone: str | None = None
    email: str | None = None
