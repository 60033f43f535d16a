"""What people read about who is texted now, later (why, and when on the buyer's clock) or not.

Pure functions shared by Slack (`bot.slack.blocks`) and the CLI (`bot.cli.notify`), so both tell the
same truth: the conclusion first, then a deferral's real cause (quiet hours, a state's rule, the
daily cap, a pause) with the buyer's local time, and exclusions in plain words, never a raw
policy code. Plain text: the Slack side escapes it.

    >>> conclusion(now=12, later=5, excluded=3, already=0)
    '12 will be texted now, 5 later, 3 not'
    >>> not_words("no_opt_in", "The contact has no SMS consent tag (sms_opt_in).")
    'has not agreed to texts: no SMS consent tag (sms_opt_in) in GHL'

    later_words(code="daily_cap", send_at=at, zone="America/Chicago", now=now, cap=3)
    # "later: daily cap of 3 reached — next at 8:00 AM CDT tomorrow"
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time
from zoneinfo import ZoneInfo

# Exclusion codes (matching.notify.eligibility, policy, plan, send-time checks) in plain words.
# None: the policy's own sentence is already plain (it names the detail, e.g. the region).
_NOT = {
    "opted_out": "opted out of texts (replied STOP or similar)",
    "dnd_sms": "Do Not Disturb for texts is on for this contact in GHL",
    "paused": "on hold: their last reply may be an opt-out and waits for a broker or admin",
    "no_opt_in": None,
    "no_phone": "no phone number in GHL",
    "invalid_phone": None,
    "unsupported_region": None,
    "sms_disabled": None,
    "no_common_window": "no hour is allowed in every time zone that applies to them",
    "unknown_buyer": "not in DealFinder's buyer list (not synced yet, or removed from GHL)",
    "duplicate": "already texted about this deal",
    "message": None,
    "unknown_purpose": "not a deal text DealFinder knows how to send",
    "ghl_refused": None,
}


def conclusion(*, now: int, later: int, excluded: int, already: int = 0) -> str:
    """The answer first: "12 will be texted now, 5 later, 3 not" (+ "; 2 already done")."""
    text = f"{now} will be texted now, {later} later, {excluded} not"
    return text + (f"; {already} already texted or queued" if already else "")


def split_detail(detail: str | None) -> tuple[str, str]:
    """An outbox reason "code: sentence" as (code, sentence); ("", text) when it has no code."""
    if not detail:
        return "", ""
    head, sep, rest = detail.partition(": ")
    if sep and head.replace("_", "").isalnum() and head == head.lower() and " " not in head:
        return head, rest
    return "", detail


def not_words(code: str, reason: str) -> str:
    """Why a buyer is not texted, in plain words: no code, one sentence, no trailing period."""
    plain = _NOT.get(code)
    if plain is not None:
        return plain
    if code == "no_opt_in":
        tags = reason[reason.find("(") + 1 : reason.rfind(")")] if "(" in reason else ""
        where = f" ({tags})" if tags else ""
        return f"has not agreed to texts: no SMS consent tag{where} in GHL"
    return _sentence(split_detail(reason)[1] or reason)


def local_when(send_at: datetime, zone: str, now: datetime) -> str:
    """A moment on the buyer's clock, relative to today there: "8:00 AM CDT tomorrow"."""
    tz = ZoneInfo(zone)
    local, today = send_at.astimezone(tz), now.astimezone(tz).date()
    clock = f"{local:%-I:%M %p} {local:%Z}"
    days = (local.date() - today).days
    if days == 0:
        return f"{clock} today"
    if days == 1:
        return f"{clock} tomorrow"
    return f"{clock} {local:%a %-d %b}"


def later_words(
    *,
    code: str,
    send_at: datetime | None,
    zone: str | None,
    now: datetime,
    cap: int | None = None,
    window: Sequence[time] | None = None,
    window_states: Sequence[str] = (),
    cap_states: Sequence[str] = (),
) -> str:
    """Why a text waits and until when, on the buyer's clock.

    "later: quiet hours (texts 8:00 AM–9:00 PM their time) — next at 8:00 AM EST tomorrow";
    "later: TX rule (texts 9:00 AM–8:00 PM) — …"; "later: daily cap of 3 reached — …".
    """
    causes = []
    if "quiet_hours" in code:
        hours = f"{_hm(window[0])}–{_hm(window[1])}" if window else ""
        if window_states:
            rule = f"{'/'.join(window_states)} rule"
            causes.append(f"{rule} (texts {hours})" if hours else rule)
        else:
            causes.append(f"quiet hours (texts {hours} their time)" if hours else "quiet hours")
    if "daily_cap" in code:
        owner = f"{'/'.join(cap_states)} " if cap_states else ""
        size = f" of {cap}" if cap else ""
        causes.append(f"{owner}daily cap{size} reached")
    if code == "paused":
        causes.append("on hold: their last reply may be an opt-out and waits for a broker or admin")
    why = ", then ".join(causes) or "waiting"
    if send_at is None or zone is None:
        return f"later: {why}"
    verb = "looked at again at" if code == "paused" else "next at"
    return f"later: {why} — {verb} {local_when(send_at, zone, now)}"


def recorded_words(
    status: str,
    detail: str | None,
    *,
    until: datetime | None = None,
    zone: str | None = None,
    now: datetime | None = None,
) -> str:
    """A buyer whose text is already in the outbox: what became of it, in plain words, and
    for one waiting, until when on the buyer's clock."""
    code, sentence = split_detail(detail)
    if status == "sent":
        return "already texted about this deal"
    if status in ("pending", "in_flight"):
        return "already queued to be texted"
    if status == "deferred":
        text = "already queued for later" + (f" ({_cause(code)})" if _cause(code) else "")
        if until is not None and zone is not None and now is not None:
            text += f" — next at {local_when(until, zone, now)}"
        return text
    if status in ("excluded", "cancelled"):
        why = not_words(code, sentence) if (code or sentence) else "no reason recorded"
        return f"not texted earlier: {why}"
    return f"already recorded ({status})" + (f": {_sentence(sentence)}" if sentence else "")


def _cause(code: str) -> str:
    names = {"quiet_hours": "their quiet hours", "daily_cap": "the daily cap",
             "quiet_hours_and_daily_cap": "quiet hours, then the daily cap",
             "paused": "on hold for a possible opt-out"}  # fmt: skip
    return names.get(code, "")


def _hm(moment: time) -> str:
    return f"{moment:%-I:%M %p}"


def _sentence(text: str) -> str:
    return text.strip().rstrip(".").strip()
