"""Contacts (contacts.json, Version 2021-07-28): the seller, the buyers, their tags, notes, tasks.

Tags live on contacts only (not on opportunities), and workflows start from a contact.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, TypedDict

from ghl.models import Contact, Note, Task, UpsertContactResult
from ghl.resources.base import Resource

SEARCH_PAGE_MAX = 500  # `pageLimit` of POST /contacts/search: up to 500 (GHL's search guide)


class SearchFilter(TypedDict):
    """One entry of `filters` in POST /contacts/search (GHL's search guide).

    `value` is a string for `eq`/`contains`, a {"gt"/"lt": ISO time} bound for `range`.
    """

    field: str
    operator: str
    value: str | dict[str, str]


class Contacts(Resource):
    def upsert(self, contact: dict[str, Any]) -> UpsertContactResult:
        """Create or update by email/phone (the location's duplicate rules decide the match).

        Safe to retry: a repeated upsert finds the contact the first one made.
        """
        body = {"locationId": self.location_id, **contact}
        data = self._post("/contacts/upsert", json=body, idempotent=True)
        return UpsertContactResult.model_validate(data)

    def get(self, contact_id: str) -> Contact:
        return Contact.model_validate(self._get(f"/contacts/{contact_id}")["contact"])

    def update(self, contact_id: str, fields: dict[str, Any]) -> Contact:
        return Contact.model_validate(self._put(f"/contacts/{contact_id}", json=fields)["contact"])

    def set_sms_dnd(self, contact_id: str, *, active: bool, message: str = "") -> Contact:
        """Turn Do-Not-Disturb for SMS on or off (GHL then refuses SMS to this contact)."""
        status = "active" if active else "inactive"
        setting: dict[str, Any] = {"status": status}
        if message:
            setting["message"] = message
        return self.update(contact_id, {"dndSettings": {"SMS": setting}})

    def search_page(
        self,
        *,
        filters: list[SearchFilter] | None = None,
        page_limit: int = SEARCH_PAGE_MAX,
        search_after: list[Any] | None = None,
    ) -> tuple[list[Contact], int]:
        """One page of `POST /contacts/search` and the total count GHL reports."""
        body: dict[str, Any] = {
            "locationId": self.location_id,
            "pageLimit": min(page_limit, SEARCH_PAGE_MAX),
            "filters": filters or [],
            "sort": [{"field": "dateUpdated", "direction": "asc"}],
        }
        if search_after:
            body["searchAfter"] = search_after
        data = self._post("/contacts/search", json=body, idempotent=True)
        contacts = [Contact.model_validate(c) for c in data.get("contacts", [])]
        return contacts, int(data.get("total", len(contacts)))

    def search(
        self, *, filters: list[SearchFilter] | None = None, page_limit: int = SEARCH_PAGE_MAX
    ) -> Iterator[Contact]:
        """Every contact matching `filters`, across all pages (cursor: `searchAfter`)."""
        cursor: list[Any] | None = None
        while True:
            page, _total = self.search_page(
                filters=filters, page_limit=page_limit, search_after=cursor
            )
            yield from page
            if len(page) < min(page_limit, SEARCH_PAGE_MAX) or not page[-1].search_after:
                return
            cursor = page[-1].search_after

    @staticmethod
    def tag_filter(tag: str) -> SearchFilter:
        return {"field": "tags", "operator": "contains", "value": tag}

    @staticmethod
    def updated_since_filter(since: datetime) -> SearchFilter:
        return {"field": "dateUpdated", "operator": "range", "value": {"gt": since.isoformat()}}

    def find_by_email(self, email: str) -> Contact | None:
        page, _ = self.search_page(
            filters=[{"field": "email", "operator": "eq", "value": email}], page_limit=1
        )
        return page[0] if page else None

    # -- tags (set semantics: adding a tag twice is harmless, so retries are safe) ----------

    def add_tags(self, contact_id: str, tags: list[str]) -> list[str]:
        data = self._post(f"/contacts/{contact_id}/tags", json={"tags": tags}, idempotent=True)
        return list(data.get("tags", []))

    def remove_tags(self, contact_id: str, tags: list[str]) -> list[str]:
        data = self._delete(f"/contacts/{contact_id}/tags", json={"tags": tags})
        return list(data.get("tags", []))

    # -- notes and tasks: no idempotency key, so a retry first looks for what we made -------

    def add_note(self, contact_id: str, body: str, *, user_id: str | None = None) -> Note:
        payload: dict[str, Any] = {"body": body}
        if user_id:
            payload["userId"] = user_id

        def find() -> dict[str, Any] | None:
            note = next((n for n in self.notes(contact_id) if n.body == body), None)
            return {"note": note.model_dump(by_alias=True)} if note else None

        data = self._t.create(
            f"/contacts/{contact_id}/notes", version=self.version, json=payload, find=find
        )
        return Note.model_validate(data["note"])

    def notes(self, contact_id: str) -> list[Note]:
        return [Note.model_validate(n) for n in self._get(f"/contacts/{contact_id}/notes")["notes"]]

    def create_task(
        self,
        contact_id: str,
        *,
        title: str,
        due: datetime,
        body: str = "",
        assigned_to: str | None = None,
    ) -> Task:
        due_text = due.isoformat().replace("+00:00", "Z")
        payload: dict[str, Any] = {"title": title, "dueDate": due_text, "completed": False}
        if body:
            payload["body"] = body
        if assigned_to:
            payload["assignedTo"] = assigned_to

        def find() -> dict[str, Any] | None:
            task = next((t for t in self.tasks(contact_id) if t.title == title), None)
            return {"task": task.model_dump(by_alias=True)} if task else None

        data = self._t.create(
            f"/contacts/{contact_id}/tasks", version=self.version, json=payload, find=find
        )
        return Task.model_validate(data["task"])

    def tasks(self, contact_id: str) -> list[Task]:
        return [Task.model_validate(t) for t in self._get(f"/contacts/{contact_id}/tasks")["tasks"]]

    def complete_task(self, contact_id: str, task_id: str, *, completed: bool = True) -> Task:
        data = self._put(
            f"/contacts/{contact_id}/tasks/{task_id}/completed", json={"completed": completed}
        )
        return Task.model_validate(data["task"])

    # -- workflows start from a contact ----------------------------------------------------

    def add_to_workflow(
        self, contact_id: str, workflow_id: str, *, event_start: datetime | None = None
    ) -> bool:
        """Enrol the contact. Not repeated after an unknown outcome: GHL has no way to look."""
        payload: dict[str, Any] = {}
        if event_start:
            payload["eventStartTime"] = event_start.isoformat()
        data = self._post(
            f"/contacts/{contact_id}/workflow/{workflow_id}", json=payload, idempotent=False
        )
        return bool((data or {}).get("succeded", True))
