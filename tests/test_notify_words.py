"""The words people read about a notify plan: each deferral cause, each exclusion, the
conclusion, and the cache's age, asserted as exact texts on a frozen clock."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from freezegun import freeze_time

from matching.models import MatchPage
from matching.notify import Action, decide, load_rules
from matching.notify.policy import BuyerContactInfo
from services.matcher import MatchOutcome
from services.notify.words import conclusion, later_words, not_words, recorded_words

NOW = datetime(2026, 7, 14, 3, 0, tzinfo=UTC)  # 10:00 PM CDT on Mon 13 Jul in Chicago
NEXT_8AM = datetime(2026, 7, 14, 13, 0, tzinfo=UTC)  # 8:00 AM CDT on Tue 14 Jul
DAY = (time(8), time(21))
FL_DAY = (time(8), time(20))
CHI = "America/Chicago"


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (
            {"code": "quiet_hours", "window": DAY},
            "later: quiet hours (texts 8:00 AM–9:00 PM their time) — next at 8:00 AM CDT tomorrow",
        ),
        (
            {"code": "quiet_hours", "window": FL_DAY, "window_states": ("FL",)},
            "later: FL rule (texts 8:00 AM–8:00 PM) — next at 8:00 AM CDT tomorrow",
        ),
        (
            {"code": "daily_cap", "cap": 3},
            "later: daily cap of 3 reached — next at 8:00 AM CDT tomorrow",
        ),
        (
            {"code": "daily_cap", "cap": 2, "cap_states": ("OK",)},
            "later: OK daily cap of 2 reached — next at 8:00 AM CDT tomorrow",
        ),
        (
            {"code": "quiet_hours_and_daily_cap", "cap": 3, "window": DAY},
            "later: quiet hours (texts 8:00 AM–9:00 PM their time), then daily cap of 3 "
            "reached — next at 8:00 AM CDT tomorrow",
        ),
        (
            {"code": "paused"},
            "later: on hold: their last reply may be an opt-out and waits for a broker or "
            "admin — looked at again at 8:00 AM CDT tomorrow",
        ),
        (
            {"code": "daily_cap", "cap": 3, "send_at": NOW + timedelta(minutes=30)},
            "later: daily cap of 3 reached — next at 10:30 PM CDT today",
        ),
        (
            {"code": "quiet_hours", "window": DAY, "send_at": NEXT_8AM + timedelta(days=3)},
            "later: quiet hours (texts 8:00 AM–9:00 PM their time) — "
            "next at 8:00 AM CDT Fri 17 Jul",
        ),
        (
            {
                "code": "quiet_hours",
                "window": DAY,
                "zone": "America/New_York",
                "send_at": datetime(2027, 1, 15, 13, 0, tzinfo=UTC),
            },
            "later: quiet hours (texts 8:00 AM–9:00 PM their time) — "
            "next at 8:00 AM EST Fri 15 Jan",
        ),
    ],
)
def test_each_deferral_says_its_own_cause_and_the_buyers_local_time(params, expected):
    args = {"send_at": NEXT_8AM, "zone": CHI, "now": NOW} | params
    assert later_words(**args) == expected


@pytest.mark.parametrize(
    ("code", "reason", "expected"),
    [
        (
            "opted_out",
            "The buyer opted out of texts (replied STOP or similar).",
            "opted out of texts (replied STOP or similar)",
        ),
        (
            "dnd_sms",
            "Do Not Disturb is on for SMS on this contact in GHL.",
            "Do Not Disturb for texts is on for this contact in GHL",
        ),
        (
            "paused",
            "Texting is paused: …",
            "on hold: their last reply may be an opt-out and waits for a broker or admin",
        ),
        (
            "no_opt_in",
            "The contact has no SMS consent tag (sms_opt_in).",
            "has not agreed to texts: no SMS consent tag (sms_opt_in) in GHL",
        ),
        ("no_phone", "The contact has no phone number.", "no phone number in GHL"),
        (
            "invalid_phone",
            "The contact's number cannot receive texts.",
            "The contact's number cannot receive texts",
        ),
        (
            "unsupported_region",
            "The number is in GB; texts go only to US numbers.",
            "The number is in GB; texts go only to US numbers",
        ),
        (
            "sms_disabled",
            "The rules allow 0 texts for buyers in TX.",
            "The rules allow 0 texts for buyers in TX",
        ),
        ("no_common_window", "…", "no hour is allowed in every time zone that applies to them"),
        (
            "unknown_buyer",
            "The buyer is not in the store (not synced yet, or removed).",
            "not in DealFinder's buyer list (not synced yet, or removed from GHL)",
        ),
        (
            "message",
            "No text: the property has no list price.",
            "No text: the property has no list price",
        ),
    ],
)
def test_exclusions_are_plain_words_without_codes(code, reason, expected):
    text = not_words(code, reason)
    assert text == expected
    assert not text.endswith(".")


@pytest.mark.parametrize(
    ("status", "detail", "expected"),
    [
        ("sent", None, "already texted about this deal"),
        ("pending", None, "already queued to be texted"),
        ("deferred", "daily_cap: daily cap reached …", "already queued for later (the daily cap)"),
        (
            "deferred",
            "quiet_hours: quiet hours in …",
            "already queued for later (their quiet hours)",
        ),
        # The bug: "Already recorded as excluded: no_opt_in: … (sms_opt_in).."
        (
            "excluded",
            "no_opt_in: The contact has no SMS consent tag (sms_opt_in).",
            "not texted earlier: has not agreed to texts: no SMS consent tag (sms_opt_in) in GHL",
        ),
        (
            "cancelled",
            "opted_out: the contact opted out after asking for HELP",
            "not texted earlier: opted out of texts (replied STOP or similar)",
        ),
        ("failed", "ghl_error: GHL said 500.", "already recorded (failed): GHL said 500"),
    ],
)
def test_recorded_items_in_plain_words(status, detail, expected):
    assert recorded_words(status, detail) == expected


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ({"now": 12, "later": 5, "excluded": 3}, "12 will be texted now, 5 later, 3 not"),
        (
            {"now": 0, "later": 0, "excluded": 4, "already": 2},
            "0 will be texted now, 0 later, 4 not; 2 already texted or queued",
        ),
    ],
)
def test_the_conclusion(counts, expected):
    assert conclusion(**counts) == expected


def test_the_policy_hands_the_words_the_cap_and_the_state_rule():
    """A Florida buyer at 9:30 PM: held by Florida's own window, the words say so."""
    rules = load_rules()
    at = datetime(2026, 7, 14, 1, 30, tzinfo=UTC)  # 9:30 PM EDT
    buyer = BuyerContactInfo(contact_id="c1", phone="+13055550123", tags=("sms_opt_in",))
    decision = decide(
        at=at,
        buyer=buyer,
        already_sent_property=False,
        sent_times=[],
        rules=rules,
        location_timezone=None,
    )
    assert decision.action is Action.DEFER and decision.code == "quiet_hours"
    assert (decision.window_states, decision.cap_states, decision.cap) == (("FL",), ("FL",), 3)
    text = later_words(
        code=decision.code,
        send_at=decision.send_at,
        zone=decision.zone.zone.key,
        now=at,
        cap=decision.cap,
        window=decision.window,
        window_states=decision.window_states,
        cap_states=decision.cap_states,
    )
    assert text == "later: FL rule (texts 8:00 AM–8:00 PM) — next at 8:00 AM EDT tomorrow"
    capped = decide(
        at=datetime(2026, 7, 14, 14, 0, tzinfo=UTC),
        buyer=buyer,
        already_sent_property=False,
        rules=rules,
        location_timezone=None,
        sent_times=[datetime(2026, 7, 14, h, tzinfo=UTC) for h in (12, 13, 13)],
    )
    assert capped.code == "daily_cap"
    assert later_words(
        code=capped.code,
        send_at=capped.send_at,
        zone=capped.zone.zone.key,
        now=datetime(2026, 7, 14, 14, 0, tzinfo=UTC),
        cap=capped.cap,
        cap_states=capped.cap_states,
    ) == ("later: FL daily cap of 3 reached — next at 8:00 AM EDT tomorrow")


def _outcome(synced: datetime) -> MatchOutcome:
    page = MatchPage(results=(), total=0, offset=0, limit=10)
    return MatchOutcome(page=page, buyers={}, last_synced_at=synced, stale=False, excluded=0)


@freeze_time("2026-07-14 03:00:00")
def test_age_on_one_clock_and_never_negative():
    """/deal match once said "buyers synced -911 min ago": a sync stamped ahead of the clock
    reading it. The age is read on the clock passed in, and a future stamp is "0 min"."""
    assert _outcome(NOW - timedelta(minutes=42)).freshness() == "buyers synced 42 min ago"
    assert _outcome(NOW - timedelta(hours=5)).freshness() == "buyers synced 5 h ago"
    ahead = _outcome(NOW + timedelta(minutes=911))
    assert ahead.freshness() == "buyers synced 0 min ago"
    assert ahead.freshness(NOW + timedelta(minutes=920)) == "buyers synced 9 min ago"


def test_a_recorded_deferral_says_until_when_on_the_buyers_clock():
    text = recorded_words(
        "deferred", "daily_cap: daily cap reached …", until=NEXT_8AM, zone=CHI, now=NOW
    )
    assert text == "already queued for later (the daily cap) — next at 8:00 AM CDT tomorrow"
