"""Permanent reasons a buyer cannot be texted at all, whatever the hour.

These are about consent and reachability, not timing: until someone changes the contact in
GHL (adds the opt-in tag, fixes the phone, lifts DND) no retry will help, so the caller
records the exclusion instead of scheduling a deferral.

    >>> eligibility(tags=["sms_opt_in"], phone="813-273-1234", dnd_sms=False, opted_out=False)
    >>> normalize_phone("(813) 273-1234")
    '+18132731234'

(`eligibility` answered None: nothing keeps this buyer from texts.)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import phonenumbers
from phonenumbers import PhoneNumberType

from matching.notify.rules import NotifyRules

_DEFAULT_RULES = NotifyRules()

# Number kinds that cannot receive a text from a 10DLC long code.
_UNTEXTABLE = frozenset(
    {
        PhoneNumberType.TOLL_FREE,
        PhoneNumberType.PREMIUM_RATE,
        PhoneNumberType.SHARED_COST,
        PhoneNumberType.PAGER,
        PhoneNumberType.VOICEMAIL,
        PhoneNumberType.UAN,
    }
)


@dataclass(frozen=True)
class Exclusion:
    """Why a buyer may never be texted now: a stable `code` and a sentence for people."""

    code: str
    message: str


def normalize_phone(phone: str | None, *, region: str = "US") -> str | None:
    """The E.164 form (+18132731234) of a valid number, or None if it is missing or invalid."""
    number = _parse(phone, region)
    if number is None:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def eligibility(
    *,
    tags: Iterable[str],
    phone: str | None,
    dnd_sms: bool,
    opted_out: bool,
    rules: NotifyRules = _DEFAULT_RULES,
    paused: bool = False,
) -> Exclusion | None:
    """The first permanent reason not to text this buyer, most serious first; None if none.

    Opt-out and DND come first because they are the buyer's own word; then a pause (their
    last reply may be an opt-out and waits for a person); the missing opt-in tag next (no
    written consent, no marketing texts under the TCPA); the phone last.
    """
    if opted_out:
        return Exclusion("opted_out", "The buyer opted out of texts (replied STOP or similar).")
    if dnd_sms:
        return Exclusion("dnd_sms", "Do Not Disturb is on for SMS on this contact in GHL.")
    if paused:
        return Exclusion(
            "paused",
            "Texting is paused: the buyer's last reply may be an opt-out and waits for a "
            "broker or admin in Slack (undecided after 24 h, it counts as an opt-out).",
        )
    have = {tag.strip().lower() for tag in tags}
    if not have.intersection(rules.opt_in_tags):
        wanted = " or ".join(rules.opt_in_tags)
        return Exclusion("no_opt_in", f"The contact has no SMS consent tag ({wanted}).")
    if not phone or not phone.strip():
        return Exclusion("no_phone", "The contact has no phone number.")
    number = _parse(phone, "US")
    if number is None:
        return Exclusion("invalid_phone", "The contact's phone number is not a valid number.")
    if phonenumbers.number_type(number) in _UNTEXTABLE:
        return Exclusion("invalid_phone", "The contact's number cannot receive texts.")
    region = phonenumbers.region_code_for_number(number)
    if region not in rules.sms_regions:
        return Exclusion(
            "unsupported_region",
            f"The number is in {region or 'an unknown region'}; texts go only to "
            f"{', '.join(rules.sms_regions)} numbers.",
        )
    return None


def _parse(phone: str | None, region: str) -> phonenumbers.PhoneNumber | None:
    if not phone or not phone.strip():
        return None
    try:
        number = phonenumbers.parse(phone, region)
    except phonenumbers.NumberParseException:
        return None
    return number if phonenumbers.is_valid_number(number) else None
