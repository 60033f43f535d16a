"""Does the GHL location have what the mapping file names? One row per check, with the fix.

Checks: the token reaches the location; each listing can get its own opportunity (the
mapping's `opportunity_contact` against the location's "Allow Multiple Opportunities per
Contact"); the pipeline and each configured stage exist; each
mapped custom field exists with a compatible type; the tags exist; the workflows exist; the
users the mapping routes to exist. `fix=True` creates missing custom fields and tags (never
deletes or changes anything); pipelines, stages, workflows and users cannot be created
through GHL's API, so their rows say where to make them by hand.

    report = validate_setup(client, config, fix=False)
    report.ok, [row for row in report.rows if not row.ok]
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from ghl.client import GHLClient
from ghl.errors import GHLAuthError, GHLError, GHLPermissionError
from ghl.models import CustomField, Tag
from services.config import DealConfig, FieldSpec
from services.ghl_map import configured_user_emails, find_field, find_pipeline, fold
from services.validator_opportunities import opportunity_contact_row

Severity = Literal["error", "warning"]

# Field types that hold the same kind of value: a mapping's NUMERICAL field is served by a
# GHL MONETORY one, TEXT by LARGE_TEXT. Anything else must match exactly.
_COMPATIBLE = [
    {"NUMERICAL", "FLOAT", "MONETORY"},
    {"TEXT", "LARGE_TEXT"},
    {"SINGLE_OPTIONS", "RADIO"},
]
NO_API = "GHL's API cannot create {what}"


@dataclass
class CheckRow:
    """One check: what was checked, whether it passed, what was found, and how to fix it."""

    check: str
    ok: bool
    detail: str = ""
    fix: str = ""
    severity: Severity = "error"  # a failed "warning" does not fail the report


@dataclass
class ValidationReport:
    location: str | None = None
    rows: list[CheckRow] = field(default_factory=list)
    fixed: list[str] = field(default_factory=list)  # what --fix created

    @property
    def ok(self) -> bool:
        return all(row.ok or row.severity == "warning" for row in self.rows)

    @property
    def failures(self) -> list[CheckRow]:
        return [row for row in self.rows if not row.ok and row.severity == "error"]

    @property
    def warnings(self) -> list[CheckRow]:
        return [row for row in self.rows if not row.ok and row.severity == "warning"]

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "location": self.location,
            "rows": [asdict(r) for r in self.rows],
            "fixed": self.fixed,
        }


def types_compatible(wanted: str, actual: str | None) -> bool:
    if actual is None or wanted == actual:
        return True
    return any(wanted in group and actual in group for group in _COMPATIBLE)


def validate_setup(client: GHLClient, config: DealConfig, *, fix: bool = False) -> ValidationReport:
    """Check the live location against `config`; with `fix`, create missing fields and tags."""
    report = ValidationReport()
    try:
        location = client.locations.get()
    except (GHLAuthError, GHLPermissionError) as exc:
        report.rows.append(
            CheckRow(
                "GHL token and location",
                False,
                str(exc),
                "Set GHL_API_KEY and GHL_LOCATION_ID to a private integration "
                "token of this location and its id",
            )
        )
        return report
    report.location = location.name or location.id
    report.rows.append(
        CheckRow("GHL token and location", True, f"{report.location} ({location.id})")
    )
    client.users.use_company(location.company_id)
    report.rows.append(opportunity_contact_row(config, location))
    _pipeline(client, config, report)
    fields = client.locations.custom_fields(model="all")
    for model, specs in (
        ("contact", config.contact_fields),
        ("opportunity", config.opportunity_fields),
    ):
        for key, spec in specs.items():
            _field(client, report, fields, model=model, key=key, spec=spec, fix=fix)
    _tags(client, config, report, fix=fix)
    _workflows(client, config, report)
    _users(client, config, report)
    return report


def _pipeline(client: GHLClient, config: DealConfig, report: ValidationReport) -> None:
    name = config.pipeline.name
    pipeline = find_pipeline(client.opportunities.pipelines(), name)
    make = NO_API.format(what="pipelines or stages")
    if pipeline is None:
        report.rows.append(
            CheckRow(
                f"pipeline {name!r}",
                False,
                "not found",
                f"Create it in GHL (Opportunities > Pipelines) or set "
                f"pipeline.name in the mapping file; {make}",
            )
        )
        return
    report.rows.append(CheckRow(f"pipeline {name!r}", True, f"id {pipeline.id}"))
    for key, stage_name in config.pipeline.stages.items():
        stage = pipeline.stage_named(stage_name)
        check = f"stage {stage_name!r} ({key})"
        if stage is None:
            have = ", ".join(s.name for s in pipeline.stages) or "none"
            report.rows.append(
                CheckRow(
                    check,
                    False,
                    f"not in pipeline {name!r} (has: {have})",
                    f"Add stage {stage_name!r} to {name!r} in GHL "
                    f"(Opportunities > Pipelines > edit) or rename "
                    f"pipeline.stages.{key} in the mapping file; {make}",
                )
            )
        else:
            report.rows.append(CheckRow(check, True, f"id {stage.id}"))


def _field(
    client: GHLClient,
    report: ValidationReport,
    fields: list[CustomField],
    *,
    model: str,
    key: str,
    spec: FieldSpec,
    fix: bool,
) -> None:
    check = f"{model} field {spec.name!r} ({key}, {spec.type})"
    found = find_field(fields, key=key, name=spec.name, model=model)
    if found is None and fix:
        made = client.locations.create_custom_field(
            name=spec.name, data_type=spec.type, model=model
        )
        fields.append(made)
        report.fixed.append(f"{model} custom field {spec.name!r}")
        report.rows.append(CheckRow(check, True, f"created by --fix (id {made.id})"))
    elif found is None:
        report.rows.append(
            CheckRow(check, False, "not found", "`dealfinder validate --fix` creates it")
        )
    elif not types_compatible(spec.type, found.data_type):
        report.rows.append(
            CheckRow(
                check,
                False,
                f"{found.name!r} is {found.data_type}",
                f"Change the field to {spec.type} in GHL (Settings > Custom "
                "Fields) or the mapping's type; --fix never changes fields",
            )
        )
    else:
        report.rows.append(CheckRow(check, True, f"id {found.id} ({found.data_type})"))


def _tags(client: GHLClient, config: DealConfig, report: ValidationReport, *, fix: bool) -> None:
    have: list[Tag] = client.locations.tags()
    names = {fold(t.name) for t in have}
    for tag in config.tags.all_names():
        check = f"tag {tag!r}"
        if fold(tag) in names:
            report.rows.append(CheckRow(check, True, "exists", severity="warning"))
        elif fix:
            client.locations.create_tag(tag)
            report.fixed.append(f"tag {tag!r}")
            report.rows.append(CheckRow(check, True, "created by --fix", severity="warning"))
        else:
            # GHL creates a tag the first time a contact gets it, so nothing breaks; but smart
            # lists and workflow triggers can only be built on tags that already exist.
            report.rows.append(
                CheckRow(
                    check,
                    False,
                    "not found (GHL makes it on first use)",
                    "`dealfinder validate --fix` creates it",
                    severity="warning",
                )
            )


def _workflows(client: GHLClient, config: DealConfig, report: ValidationReport) -> None:
    flows = {fold(w.name): w for w in client.workflows.list()}
    for key, name in config.workflows.items():
        check = f"workflow {name!r} ({key})"
        flow = flows.get(fold(name))
        if flow is None:
            report.rows.append(
                CheckRow(
                    check,
                    False,
                    "not found",
                    f"Create and publish it in GHL (Automation > Workflows) "
                    f"or drop workflows.{key} from the mapping file; "
                    f"{NO_API.format(what='workflows')}",
                )
            )
        elif flow.status and flow.status != "published":
            report.rows.append(
                CheckRow(
                    check,
                    False,
                    f"status {flow.status}: enrolled contacts wait until it is published",
                    "Publish it in GHL",
                    severity="warning",
                )
            )
        else:
            report.rows.append(CheckRow(check, True, f"id {flow.id}"))


def _users(client: GHLClient, config: DealConfig, report: ValidationReport) -> None:
    try:
        users = {(u.email or "").strip().lower(): u for u in client.users.list()}
    except GHLError as exc:
        report.rows.append(
            CheckRow("users", False, str(exc), "Give the token the users.readonly scope")
        )
        return
    for email in configured_user_emails(config):
        check = f"user {email}"
        user = users.get(email)
        if user is None:
            report.rows.append(
                CheckRow(
                    check,
                    False,
                    "no user with this email in the location",
                    "Invite them in GHL (Settings > My Staff) or change the "
                    "mapping's territories/tasks/broker_alerts; "
                    f"{NO_API.format(what='users here')}",
                )
            )
        else:
            report.rows.append(
                CheckRow(check, True, f"{user.name or user.first_name} (id {user.id})")
            )
