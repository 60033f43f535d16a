"""The emulator's in-memory CRM: one object holding every record, guarded by one lock.

Handlers take `state.lock` for the whole of a call, so each call sees and leaves a consistent
world. Tests read the records directly (`emulator.state.messages[-1].body`).
"""

from __future__ import annotations

import random
import string
import threading
from dataclasses import asdict, dataclass, field
from typing import Any

from sandbox.ghl_emulator.oauth_state import OAuthRegistry

_ID_ALPHABET = string.ascii_letters + string.digits


def new_id(rng: random.Random) -> str:
    """A GHL-style record id: 20 random letters and digits."""
    return "".join(rng.choice(_ID_ALPHABET) for _ in range(20))


@dataclass
class Location:
    """A GHL sub-account; `allow_duplicate_*` mirror its settings of the same name."""

    id: str
    name: str
    timezone: str = "America/New_York"
    company_id: str = ""
    address: str = ""
    city: str = ""
    state: str = ""
    postal_code: str = ""
    country: str = "US"
    email: str = ""
    phone: str = ""
    allow_duplicate_contact: bool = False
    allow_duplicate_opportunity: bool = False


@dataclass
class Contact:
    """A contact; `custom_fields` maps custom field id to value, `extra` holds other strings."""

    id: str
    location_id: str
    date_added: int
    date_updated: int
    first_name: str | None = None
    last_name: str | None = None
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    timezone: str | None = None
    tags: list[str] = field(default_factory=list)
    dnd: bool = False
    dnd_settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    custom_fields: dict[str, Any] = field(default_factory=dict)
    assigned_to: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def sms_blocked(self) -> bool:
        """True when GHL would refuse an SMS: DND on for all channels, or for SMS."""
        sms = self.dnd_settings.get("SMS") or {}
        return self.dnd or sms.get("status") in ("active", "permanent")


@dataclass
class Note:
    id: str
    contact_id: str
    body: str
    date_added: int
    user_id: str | None = None
    title: str | None = None


@dataclass
class Task:
    id: str
    contact_id: str
    title: str
    due_date: str
    completed: bool
    body: str | None = None
    assigned_to: str | None = None


@dataclass
class Message:
    """A message: outbound (accepted by `POST /conversations/messages`) or inbound (a contact's
    text, `sandbox.ghl_emulator.events.simulate_inbound_sms`)."""

    id: str
    conversation_id: str
    contact_id: str
    location_id: str
    type: str
    body: str
    date_added: int
    to_number: str | None = None
    from_number: str | None = None
    status: str = "pending"
    direction: str = "outbound"


@dataclass
class Enrolment:
    contact_id: str
    workflow_id: str
    enrolled_at: int
    event_start_time: str | None = None


@dataclass
class Stage:
    id: str
    name: str
    position: int


@dataclass
class Pipeline:
    id: str
    location_id: str
    name: str
    stages: list[Stage]

    def stage(self, stage_id: str) -> Stage | None:
        return next((s for s in self.stages if s.id == stage_id), None)


@dataclass
class Opportunity:
    id: str
    location_id: str
    name: str
    pipeline_id: str
    stage_id: str
    status: str
    contact_id: str
    created_at: int
    updated_at: int
    last_status_change_at: int
    last_stage_change_at: int
    monetary_value: float | None = None
    assigned_to: str | None = None
    source: str | None = None
    lost_reason_id: str | None = None
    custom_fields: dict[str, Any] = field(default_factory=dict)


@dataclass
class CustomField:
    """A location custom field; `field_key` is GHL's `contact.budget_min` form."""

    id: str
    location_id: str
    name: str
    field_key: str
    data_type: str
    model: str
    position: int = 0
    placeholder: str | None = None
    picklist_options: list[str] = field(default_factory=list)


@dataclass
class Tag:
    id: str
    location_id: str
    name: str


@dataclass
class User:
    id: str
    location_id: str
    first_name: str
    last_name: str
    email: str
    phone: str
    role: str = "user"


@dataclass
class Workflow:
    id: str
    location_id: str
    name: str
    created_at: int
    updated_at: int
    status: str = "published"
    version: int = 1


@dataclass
class State:
    """Every record the emulator holds, keyed by id (messages and enrolments in order)."""

    rng: random.Random = field(default_factory=random.Random)
    lock: threading.RLock = field(default_factory=threading.RLock)
    tokens: dict[str, str] = field(default_factory=dict)
    locations: dict[str, Location] = field(default_factory=dict)
    contacts: dict[str, Contact] = field(default_factory=dict)
    notes: dict[str, Note] = field(default_factory=dict)
    tasks: dict[str, Task] = field(default_factory=dict)
    messages: list[Message] = field(default_factory=list)
    conversations: dict[str, str] = field(default_factory=dict)  # contact id -> conversation id
    enrolments: list[Enrolment] = field(default_factory=list)
    pipelines: dict[str, Pipeline] = field(default_factory=dict)
    opportunities: dict[str, Opportunity] = field(default_factory=dict)
    custom_fields: dict[str, CustomField] = field(default_factory=dict)
    tags: dict[str, Tag] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    workflows: dict[str, Workflow] = field(default_factory=dict)
    oauth: OAuthRegistry = field(default_factory=OAuthRegistry)  # app installs (OAuth 2.0)
    generation: int = 0  # bumped by every write through the API (search_cache.py)
    search_hits: dict[str, Any] = field(default_factory=dict)  # kept search hits, if enabled

    def new_id(self) -> str:
        return new_id(self.rng)

    def ensure_location(self, location_id: str) -> Location:
        """The location, created bare (no pipelines or fields) if a token names an unknown one."""
        if location_id not in self.locations:
            self.locations[location_id] = Location(id=location_id, name=f"Location {location_id}")
        return self.locations[location_id]

    def ensure_tags(self, location_id: str, names: list[str]) -> None:
        """Register tag names at the location, as GHL does when a contact gets a new tag."""
        known = {t.name for t in self.tags.values() if t.location_id == location_id}
        for name in names:
            if name not in known:
                tag = Tag(id=self.new_id(), location_id=location_id, name=name)
                self.tags[tag.id] = tag
                known.add(name)

    def fields_of(self, location_id: str, model: str | None = None) -> list[CustomField]:
        found = [f for f in self.custom_fields.values() if f.location_id == location_id]
        return [f for f in found if model in (None, "all", f.model)]

    def snapshot(self) -> dict[str, Any]:
        """Everything as JSON-ready data, for `GET /_emulator/state`."""
        with self.lock:
            return {
                "tokens": {"count": len(self.tokens)},  # never the tokens themselves
                "locations": [asdict(x) for x in self.locations.values()],
                "contacts": [asdict(x) for x in self.contacts.values()],
                "notes": [asdict(x) for x in self.notes.values()],
                "tasks": [asdict(x) for x in self.tasks.values()],
                "messages": [asdict(x) for x in self.messages],
                "enrolments": [asdict(x) for x in self.enrolments],
                "pipelines": [asdict(x) for x in self.pipelines.values()],
                "opportunities": [asdict(x) for x in self.opportunities.values()],
                "custom_fields": [asdict(x) for x in self.custom_fields.values()],
                "tags": [asdict(x) for x in self.tags.values()],
                "users": [asdict(x) for x in self.users.values()],
                "workflows": [asdict(x) for x in self.workflows.values()],
            }
