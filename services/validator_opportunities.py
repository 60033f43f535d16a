"""`validate`'s row for GHL's one-open-opportunity-per-contact rule and the mapping's strategy.

GHL allows one open opportunity per contact per pipeline unless the location's "Allow Multiple
Opportunities per Contact" is on (`settings.allowDuplicateOpportunity`; GHL moved it to
Settings > Objects > Opportunities). With the "seller" strategy a listing agent's second listing
would get no deal, so validation fails with the fix; "per_property" (or "auto" deciding it)
makes the setting irrelevant.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ghl.models import Location
from services.config import DealConfig
from services.ghl_map import contact_strategy

if TYPE_CHECKING:
    from services.validator import CheckRow

MULTIPLE_OPPORTUNITIES_FIX = (
    'Turn on "Allow Multiple Opportunities per Contact" in GHL (Settings > Objects > '
    "Opportunities; it used to be under Settings > Business Profile), or set "
    '"opportunity_contact": "per_property" (or "auto") in the mapping file: a contact per '
    "listing, which works with GHL's default"
)


def opportunity_contact_row(config: DealConfig, location: Location) -> CheckRow:
    """Whether a listing agent with several listings gets a deal for each, and how."""
    from services.validator import CheckRow  # the validator imports this module

    allow = location.settings.allow_duplicate_opportunity if location.settings else None
    chosen = config.opportunity_contact
    used = contact_strategy(chosen, allow_duplicates=allow)
    check = f"one opportunity per listing (opportunity_contact: {chosen})"
    setting = {True: "on", False: "off", None: "not reported by GHL"}[allow]
    if used == "per_property":
        detail = (
            f"a contact per listing, the agent linked in it (multiple opportunities per "
            f"contact: {setting})"
        )
        return CheckRow(check, True, detail)
    if allow:
        return CheckRow(check, True, "the agent's contact; the location allows several")
    return CheckRow(
        check,
        False,
        f'"Allow Multiple Opportunities per Contact" is {setting}: GHL refuses a second open '
        'opportunity for an agent ("Can not create duplicate opportunity for the contact")',
        MULTIPLE_OPPORTUNITIES_FIX,
    )
