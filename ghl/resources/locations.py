"""Locations (locations.json): the sub-account, its custom fields and tags; users; workflows."""

from __future__ import annotations

from typing import Any

from ghl.models import CustomField, Location, Tag, Workflow
from ghl.resources.base import Resource
from ghl.resources.users import Users

__all__ = ["Locations", "Users", "Workflows"]


class Locations(Resource):
    def get(self) -> Location:
        return Location.model_validate(self._get(f"/locations/{self.location_id}")["location"])

    def custom_fields(self, *, model: str = "all") -> list[CustomField]:
        """Custom fields of `model` ("contact", "opportunity" or "all")."""
        data = self._get(f"/locations/{self.location_id}/customFields", params={"model": model})
        return [CustomField.model_validate(f) for f in data.get("customFields", [])]

    def create_custom_field(
        self, *, name: str, data_type: str, model: str, field_key: str | None = None
    ) -> CustomField:
        body: dict[str, Any] = {"name": name, "dataType": data_type, "model": model}
        if field_key:
            body["fieldKey"] = field_key

        def find() -> dict[str, Any] | None:
            found = next((f for f in self.custom_fields(model=model) if f.name == name), None)
            return {"customField": found.model_dump(by_alias=True)} if found else None

        data = self._t.create(
            f"/locations/{self.location_id}/customFields",
            version=self.version,
            json=body,
            find=find,
        )
        return CustomField.model_validate(data["customField"])

    def tags(self) -> list[Tag]:
        data = self._get(f"/locations/{self.location_id}/tags")
        return [Tag.model_validate(t) for t in data.get("tags", [])]

    def create_tag(self, name: str) -> Tag:
        def find() -> dict[str, Any] | None:
            found = next((t for t in self.tags() if t.name == name), None)
            return {"tag": found.model_dump(by_alias=True)} if found else None

        data = self._t.create(
            f"/locations/{self.location_id}/tags",
            version=self.version,
            json={"name": name},
            find=find,
        )
        return Tag.model_validate(data["tag"])


class Workflows(Resource):
    def list(self) -> list[Workflow]:
        data = self._get("/workflows/", params={"locationId": self.location_id})
        return [Workflow.model_validate(w) for w in data.get("workflows", [])]
