"""The GHL webhook event types DealFinder knows (formats: ghl-api/webhooks/*.md)."""

from __future__ import annotations

OPPORTUNITY_TYPES = frozenset(
    {"OpportunityStageUpdate", "OpportunityStatusUpdate", "OpportunityAssignedToUpdate"}
)
CONTACT_TYPES = frozenset({"ContactTagUpdate", "ContactUpdate"})
# The Marketplace app's own events (`bot.web.install_events`), about any location.
INSTALL_TYPES = frozenset({"INSTALL", "UNINSTALL"})
HANDLED_TYPES = (
    frozenset({"InboundMessage", "ContactDndUpdate", "TaskComplete"})
    | CONTACT_TYPES
    | OPPORTUNITY_TYPES
    | INSTALL_TYPES
)
# Other event types GHL documents: acknowledged, counted under their own name.
KNOWN_TYPES = HANDLED_TYPES | frozenset(
    {
        "ContactCreate",
        "ContactDelete",
        "OpportunityCreate",
        "OutboundMessage",
        "TaskCreate",
        "TaskDelete",
        "NoteCreate",
        "AppointmentCreate",
        "OpportunityDelete",
    }
)


def type_label(event_type: str) -> str:
    """The event type as a metric label: GHL's documented names, everything else "other"."""
    return event_type if event_type in KNOWN_TYPES else "other"
