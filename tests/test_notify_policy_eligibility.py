"""Permanent exclusions: consent, DND, opt-out and phone numbers that cannot take a text."""

from __future__ import annotations

import pytest

from matching.notify import NotifyRules, eligibility, normalize_phone

OK_PHONE = "(813) 273-1234"


@pytest.mark.parametrize(
    ("tags", "phone", "dnd_sms", "opted_out", "code"),
    [
        (["sms_opt_in"], OK_PHONE, False, False, None),
        (["buyer", " SMS_Opt_In "], OK_PHONE, False, False, None),  # GHL tags, any case
        ([], OK_PHONE, False, False, "no_opt_in"),
        (["buyer", "cash"], OK_PHONE, False, False, "no_opt_in"),
        (["sms_opt_in"], OK_PHONE, False, True, "opted_out"),
        (["sms_opt_in"], OK_PHONE, True, False, "dnd_sms"),
        (["sms_opt_in"], OK_PHONE, True, True, "opted_out"),  # the buyer's own word first
        ([], None, True, False, "dnd_sms"),
        ([], None, False, False, "no_opt_in"),
        (["sms_opt_in"], None, False, False, "no_phone"),
        (["sms_opt_in"], "", False, False, "no_phone"),
        (["sms_opt_in"], "   ", False, False, "no_phone"),
        (["sms_opt_in"], "12345", False, False, "invalid_phone"),
        (["sms_opt_in"], "call me maybe", False, False, "invalid_phone"),
        (["sms_opt_in"], "555-0100", False, False, "invalid_phone"),  # no area code
        (["sms_opt_in"], "+1 800 555 1234", False, False, "invalid_phone"),  # toll-free
        (["sms_opt_in"], "+44 20 7946 0958", False, False, "unsupported_region"),
        (["sms_opt_in"], "+52 55 1234 5678", False, False, "unsupported_region"),
    ],
)
def test_eligibility_table(
    tags: list[str], phone: str | None, dnd_sms: bool, opted_out: bool, code: str | None
) -> None:
    exclusion = eligibility(tags=tags, phone=phone, dnd_sms=dnd_sms, opted_out=opted_out)
    assert (exclusion.code if exclusion else None) == code
    if exclusion is not None:
        assert exclusion.message.endswith(".")
        assert "813" not in exclusion.message  # no phone numbers in text that reaches logs


def test_opt_in_tags_and_regions_come_from_the_rules() -> None:
    rules = NotifyRules(opt_in_tags=("Text-OK",), sms_regions=("US", "GB"))
    uk = "+44 20 7946 0958"
    assert (
        eligibility(tags=["text-ok"], phone=uk, dnd_sms=False, opted_out=False, rules=rules) is None
    )
    refused = eligibility(tags=["sms_opt_in"], phone=OK_PHONE, dnd_sms=False, opted_out=False,
                          rules=rules)  # fmt: skip
    assert refused is not None and refused.code == "no_opt_in"
    assert "text-ok" in refused.message


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("(813) 273-1234", "+18132731234"),
        ("813.273.1234", "+18132731234"),
        ("+1 813 273 1234", "+18132731234"),
        ("1-813-273-1234", "+18132731234"),
        ("+44 20 7946 0958", "+442079460958"),
        ("555-0100", None),
        ("not a number", None),
        ("", None),
        (None, None),
    ],
)
def test_normalize_phone(raw: str | None, e164: str | None) -> None:
    assert normalize_phone(raw) == e164
