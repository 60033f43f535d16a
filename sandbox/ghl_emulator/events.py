"""GHL's webhook events from the emulator's records, and the changes that raise them.

Payloads follow GHL's documented formats (ghl-api/webhooks/*.md): InboundMessage,
ContactDndUpdate, ContactTagUpdate, OpportunityStageUpdate, OpportunityStatusUpdate and
TaskComplete. They are raised two ways, as in GHL:
- by API calls: `EventEmitter.before(call)` notes the record a call targets, `after(...)`
  compares it once the call succeeded and emits what changed (contact upserts and creates are
  not watched: GHL reports those as ContactCreate/ContactUpdate, which DealFinder does not use);
- by what happens outside the API (a buyer texts, a user clicks in GHL): the `simulate_*`
  functions, reached through the control API (`sandbox.ghl_emulator.control_events`).
Nothing is computed while no webhook URL is set, so the emulator's speed is unchanged.

    emitter = EventEmitter(state, sender)
    simulate_inbound_sms(emitter, contact_id="c1", body="STOP", now_ms=...)
"""

from __future__ import annotations

from typing import Any

from sandbox.ghl_emulator.calls import Call, Reply, iso
from sandbox.ghl_emulator.render import full_name
from sandbox.ghl_emulator.state import Contact, Message, Opportunity, State, Task
from sandbox.ghl_emulator.webhooks_out import WebhookSender

# Standard opt-out keywords carriers and GHL act on; GHL turns SMS DND on by itself when a
# contact replies one (GHL help centre, "How to use Do Not Disturb (DND)"; ghl-api README).
STOP_KEYWORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})


def inbound_message(message: Message) -> dict[str, Any]:
    """InboundMessage.md, "Example(Message)", with the `messageId` its schema declares."""
    return {
        "type": "InboundMessage",
        "locationId": message.location_id,
        "attachments": [],
        "body": message.body,
        "contactId": message.contact_id,
        "contentType": "text/plain",
        "conversationId": message.conversation_id,
        "dateAdded": iso(message.date_added),
        "direction": "inbound",
        "messageType": "SMS",
        "messageId": message.id,
        "status": "delivered",
    }


def contact_event(event_type: str, contact: Contact) -> dict[str, Any]:
    """ContactDndUpdate.md / ContactTagUpdate.md (the DND one also carries `dndSettings`)."""
    data: dict[str, Any] = {
        "type": event_type,
        "locationId": contact.location_id,
        "id": contact.id,
        "dateAdded": iso(contact.date_added),
        "dnd": contact.dnd,
        "email": contact.email,
        "name": full_name(contact),
        "firstName": contact.first_name,
        "lastName": contact.last_name,
        "phone": contact.phone,
        "tags": list(contact.tags),
        "attachments": [],
        "assignedTo": contact.assigned_to,
        "customFields": [{"id": k, "value": v} for k, v in contact.custom_fields.items()],
    }
    if event_type == "ContactDndUpdate":
        data["dndSettings"] = contact.dnd_settings
    return {k: v for k, v in data.items() if v is not None}


def opportunity_event(event_type: str, opp: Opportunity) -> dict[str, Any]:
    """OpportunityStageUpdate.md / OpportunityStatusUpdate.md."""
    data = {
        "type": event_type,
        "locationId": opp.location_id,
        "id": opp.id,
        "assignedTo": opp.assigned_to,
        "contactId": opp.contact_id,
        "monetaryValue": opp.monetary_value,
        "name": opp.name,
        "pipelineId": opp.pipeline_id,
        "pipelineStageId": opp.stage_id,
        "source": opp.source,
        "status": opp.status,
        "dateAdded": iso(opp.created_at),
    }
    return {k: v for k, v in data.items() if v is not None}


def task_complete(task: Task, *, location_id: str, now_ms: int) -> dict[str, Any]:
    """TaskComplete.md."""
    data = {
        "type": "TaskComplete",
        "locationId": location_id,
        "id": task.id,
        "assignedTo": task.assigned_to,
        "body": task.body,
        "contactId": task.contact_id,
        "dateAdded": iso(now_ms),
        "dueDate": task.due_date,
        "title": task.title,
    }
    return {k: v for k, v in data.items() if v is not None}


def _sms_dnd(contact: Contact) -> tuple[bool, Any]:
    return contact.dnd, (contact.dnd_settings.get("SMS") or {}).get("status")


class EventEmitter:
    """Turns changes of the emulator's records into queued webhooks."""

    def __init__(self, state: State, sender: WebhookSender) -> None:
        self.state = state
        self.sender = sender

    # -- changes made through the API -------------------------------------------------------

    def before(self, call: Call) -> tuple[Any, ...] | None:
        """What the call's target looks like now (None: nothing watched, or webhooks off)."""
        if not self.sender.enabled:
            return None
        return self._look(call)

    def after(self, call: Call, before: tuple[Any, ...] | None, reply: Reply) -> None:
        """Emit the events for what the call changed (only after a success)."""
        if before is None or reply.status >= 300:
            return
        now = self._look(call)
        if now is None:
            return
        kind, record, old = before[0], before[1], before[2]
        new = now[2]
        if kind == "contact":
            if old[0] != new[0]:
                self.emit(contact_event("ContactDndUpdate", record))
            if old[1] != new[1]:
                self.emit(contact_event("ContactTagUpdate", record))
        elif kind == "opportunity":
            if old[0] != new[0]:
                self.emit(opportunity_event("OpportunityStageUpdate", record))
            if old[1] != new[1]:
                self.emit(opportunity_event("OpportunityStatusUpdate", record))
        elif kind == "task" and new and not old:
            self.emit(task_complete(record, location_id=call.location_id, now_ms=call.now_ms))

    def _look(self, call: Call) -> tuple[Any, ...] | None:
        if call.method not in ("PUT", "POST", "DELETE"):
            return None
        template, params = call.template, call.params
        if template.startswith("/contacts/{contactId}/tasks/{taskId}"):
            task = self.state.tasks.get(params.get("taskId", ""))
            return ("task", task, task.completed) if task else None
        if template in ("/contacts/{contactId}", "/contacts/{contactId}/tags"):
            contact = self.state.contacts.get(params.get("contactId", ""))
            if contact is None:
                return None
            return ("contact", contact, (_sms_dnd(contact), tuple(sorted(contact.tags))))
        if template in ("/opportunities/{id}", "/opportunities/{id}/status"):
            opp = self.state.opportunities.get(params.get("id", ""))
            return ("opportunity", opp, (opp.stage_id, opp.status)) if opp else None
        return None

    def emit(self, event: dict[str, Any]) -> None:
        self.sender.emit(event)


# -- what happens outside the API (the control API's "simulate" calls) -----------------------


def simulate_inbound_sms(
    emitter: EventEmitter, *, contact_id: str, body: str, now_ms: int, stop_sets_dnd: bool = True
) -> Message:
    """A contact texts in: the message is recorded in the contact's conversation (so the
    conversation endpoints and polling see it) and InboundMessage is emitted. A standard STOP
    keyword also turns the contact's SMS DND on, as GHL does, with ContactDndUpdate."""
    state = emitter.state
    with state.lock:
        contact = state.contacts.get(contact_id)
        if contact is None:
            raise ValueError(f"no contact {contact_id}")
        conversation_id = state.conversations.setdefault(contact.id, state.new_id())
        message = Message(
            id=state.new_id(),
            conversation_id=conversation_id,
            contact_id=contact.id,
            location_id=contact.location_id,
            type="SMS",
            body=body,
            date_added=now_ms,
            from_number=contact.phone,
            status="delivered",
            direction="inbound",
        )
        state.messages.append(message)
        dnd_changed = False
        if stop_sets_dnd and body.strip().upper() in STOP_KEYWORDS:
            old = _sms_dnd(contact)
            contact.dnd_settings = dict(contact.dnd_settings) | {
                "SMS": {"status": "active", "message": "Contact replied STOP", "code": "101"}
            }
            contact.date_updated = now_ms
            dnd_changed = _sms_dnd(contact) != old
    emitter.emit(inbound_message(message))
    if dnd_changed:
        emitter.emit(contact_event("ContactDndUpdate", contact))
    return message


def simulate_contact_change(
    emitter: EventEmitter,
    *,
    contact_id: str,
    now_ms: int,
    sms_dnd: bool | None = None,
    add_tags: list[str] | None = None,
    remove_tags: list[str] | None = None,
) -> Contact:
    """A user changes a contact in GHL: SMS DND on/off, tags added or removed."""
    state = emitter.state
    with state.lock:
        contact = state.contacts.get(contact_id)
        if contact is None:
            raise ValueError(f"no contact {contact_id}")
        old_dnd, old_tags = _sms_dnd(contact), list(contact.tags)
        if sms_dnd is not None:
            status = "active" if sms_dnd else "inactive"
            contact.dnd_settings = dict(contact.dnd_settings) | {"SMS": {"status": status}}
        tags = [t for t in contact.tags if t not in set(remove_tags or [])]
        tags += [t for t in (add_tags or []) if t not in tags]
        contact.tags = tags
        state.ensure_tags(contact.location_id, tags)
        contact.date_updated = now_ms
    if _sms_dnd(contact) != old_dnd:
        emitter.emit(contact_event("ContactDndUpdate", contact))
    if contact.tags != old_tags:
        emitter.emit(contact_event("ContactTagUpdate", contact))
    return contact


def simulate_opportunity_change(
    emitter: EventEmitter,
    *,
    opportunity_id: str,
    now_ms: int,
    stage_id: str | None = None,
    status: str | None = None,
) -> Opportunity:
    """A user moves an opportunity to another stage or sets its status in GHL."""
    state = emitter.state
    with state.lock:
        opp = state.opportunities.get(opportunity_id)
        if opp is None:
            raise ValueError(f"no opportunity {opportunity_id}")
        events = []
        if stage_id is not None and stage_id != opp.stage_id:
            opp.stage_id, opp.last_stage_change_at = stage_id, now_ms
            events.append("OpportunityStageUpdate")
        if status is not None and status != opp.status:
            opp.status, opp.last_status_change_at = status, now_ms
            events.append("OpportunityStatusUpdate")
        opp.updated_at = now_ms
    for event_type in events:
        emitter.emit(opportunity_event(event_type, opp))
    return opp


def simulate_task_complete(emitter: EventEmitter, *, task_id: str, now_ms: int) -> Task:
    """A user ticks a task off in GHL."""
    state = emitter.state
    with state.lock:
        task = state.tasks.get(task_id)
        if task is None:
            raise ValueError(f"no task {task_id}")
        was = task.completed
        task.completed = True
        contact = state.contacts.get(task.contact_id)
        location_id = contact.location_id if contact else ""
    if not was:
        emitter.emit(task_complete(task, location_id=location_id, now_ms=now_ms))
    return task
