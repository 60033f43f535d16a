"""Whether to text a buyer about a deal now, later, or never: one pure decision.

`decide` combines the other rules in the order a compliance reviewer would ask: may we text
this person at all (`eligibility`), have they had this property already (never twice), is it
inside their local window (`quiet_hours`), and is there room under the rolling cap (`caps`).
No I/O: the caller passes the time, the buyer's fields and the send history.

    decision = decide(at=datetime.now(UTC), buyer=buyer, already_sent_property=False,
                      sent_times=recent_sends, rules=load_rules(), location_timezone=None)
    if decision.action is Action.DEFER:
        outbox.schedule(decision.send_at)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import partial

from matching.notify.caps import CapDecision, cap_decision
from matching.notify.eligibility import Exclusion, eligibility, normalize_phone
from matching.notify.quiet_hours import (
    NoCommonWindowError,
    cap_for,
    is_quiet,
    next_allowed,
    window_for,
)
from matching.notify.rules import AllowedWindow, NotifyRules
from matching.notify.states import resolve_states
from matching.notify.timezones import ResolvedZone, resolve_timezone

__all__ = [
    "Action",
    "BuyerContactInfo",
    "CapDecision",
    "Decision",
    "Exclusion",
    "cap_decision",
    "decide",
    "eligibility",
    "is_quiet",
    "next_allowed",
    "normalize_phone",
    "window_for",
]


class Action(StrEnum):
    """What the caller does with a deal text for one buyer."""

    SEND = "send"
    DEFER = "defer"
    EXCLUDE = "exclude"
    SKIP_DUPLICATE = "skip_duplicate"


@dataclass(frozen=True, kw_only=True)
class BuyerContactInfo:
    """The contact fields the policy reads, copied from the GHL contact."""

    contact_id: str
    phone: str | None
    tags: tuple[str, ...] = ()
    dnd_sms: bool = False
    opted_out: bool = False
    timezone: str | None = None
    paused: bool = False  # a possible opt-out waits for a person
    state: str | None = None


@dataclass(frozen=True, kw_only=True)
class Decision:
    """The verdict for one buyer and one property, with a sentence saying why.

    `send_at` is an aware UTC time: `at` for SEND, the earliest allowed moment for DEFER,
    None otherwise. `code` is stable for metrics: "send", "quiet_hours", "daily_cap",
    "quiet_hours_and_daily_cap", "duplicate" or an exclusion code.
    """

    action: Action
    code: str
    reason: str
    send_at: datetime | None = None
    zone: ResolvedZone | None = None
    states: tuple[str, ...] = ()
    phone_e164: str | None = None
    exclusion: Exclusion | None = None
    # What the words for people need (`services.notify.words`): the cap and window that
    # applied, and the states whose own rules narrowed each (empty: the default rules).
    cap: int | None = None
    window: AllowedWindow | None = None
    window_states: tuple[str, ...] = ()
    cap_states: tuple[str, ...] = ()


def decide(
    *,
    at: datetime,
    buyer: BuyerContactInfo,
    already_sent_property: bool,
    sent_times: Sequence[datetime],
    rules: NotifyRules,
    location_timezone: str | None,
) -> Decision:
    """SEND now, DEFER to the first moment both quiet hours and the cap allow, or say why not."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("`at` must be timezone-aware, e.g. datetime.now(UTC)")
    at = at.astimezone(UTC)
    exclusion = eligibility(
        tags=buyer.tags,
        phone=buyer.phone,
        dnd_sms=buyer.dnd_sms,
        opted_out=buyer.opted_out,
        rules=rules,
        paused=buyer.paused,
    )
    if exclusion is not None:
        return Decision(
            action=Action.EXCLUDE, code=exclusion.code, reason=exclusion.message,
            exclusion=exclusion,
        )  # fmt: skip
    if already_sent_property:
        return Decision(
            action=Action.SKIP_DUPLICATE,
            code="duplicate",
            reason="This buyer was already sent this property; a buyer never gets one twice.",
        )
    phone = normalize_phone(buyer.phone)
    zone = resolve_timezone(
        contact_timezone=buyer.timezone,
        phone=phone,
        location_timezone=location_timezone,
        default=rules.default_timezone,
        contact_state=buyer.state,
    )
    states = resolve_states(contact_state=buyer.state, phone=phone)
    window = window_for(state=states, rules=rules)
    cap = cap_for(state=states, rules=rules)
    own = [(code, rules.states[code]) for code in states if code in rules.states]
    verdict = partial(
        Decision, zone=zone, states=states, phone_e164=phone, cap=cap, window=window,
        window_states=tuple(code for code, rule in own if rule.window is not None),
        cap_states=tuple(code for code, rule in own if rule.daily_cap is not None),
    )  # fmt: skip
    if cap == 0:
        blocked = Exclusion(
            "sms_disabled", f"The rules allow 0 texts for buyers in {', '.join(states)}."
        )
        return verdict(action=Action.EXCLUDE, code=blocked.code, reason=blocked.message,
                       exclusion=blocked)  # fmt: skip
    history = _History(sent_times=sent_times, cap=cap, hours=rules.cap_window_hours)
    label = _window_label(window, states, rules)
    try:
        send_at, notes, code = _earliest_send(
            at=at, zone=zone, window=window, history=history, label=label
        )
    except NoCommonWindowError as exc:
        blocked = Exclusion("no_common_window", str(exc))
        return verdict(action=Action.EXCLUDE, code=blocked.code, reason=blocked.message,
                       exclusion=blocked)  # fmt: skip
    if send_at == at:
        reason = (
            f"allowed: {_local(at, zone)} local in {_zone_label(zone)} ({label}); "
            f"{history.check(at).count} of {cap} texts in the last {history.hours:g} h"
        )
        return verdict(action=Action.SEND, code="send", reason=reason, send_at=at)
    until = (
        f"deferred until {_local(send_at, zone, dated=True)} local ({send_at:%Y-%m-%d %H:%M} UTC)"
    )
    return verdict(action=Action.DEFER, code=code, reason="; ".join([*notes, until]),
                   send_at=send_at)  # fmt: skip


@dataclass(frozen=True)
class _History:
    sent_times: Sequence[datetime]
    cap: int
    hours: float

    def check(self, at: datetime) -> CapDecision:
        window = timedelta(hours=self.hours)
        return cap_decision(sent_times=self.sent_times, at=at, cap=self.cap, window=window)


def _earliest_send(
    *, at: datetime, zone: ResolvedZone, window: AllowedWindow, history: _History, label: str
) -> tuple[datetime, list[str], str]:
    """The first moment allowed by both rules, with a note on each constraint met on the way.

    Alternates the two until one moment passes both: a cap that frees at 22:10 lands in quiet
    hours, and the next window start may still find the cap full if sends are bunched.
    """
    notes: list[str] = []
    hit: set[str] = set()
    moment = at
    for _ in range(len(history.sent_times) + 2):
        if is_quiet(at=moment, zone=zone, window=window):
            hit.add("quiet_hours")
            if moment == at:
                notes.append(
                    f"quiet hours in {_zone_label(zone)} ({_local(at, zone)} local; {label})"
                )
            else:
                notes.append(f"{_local(moment, zone)} local is in quiet hours ({label})")
            moment = next_allowed(at=moment, zone=zone, window=window)
        capped = history.check(moment)
        if capped.allowed:
            code = "_and_".join(name for name in ("quiet_hours", "daily_cap") if name in hit)
            return moment, notes, code
        hit.add("daily_cap")
        assert capped.frees_at is not None  # the caller turns a cap of 0 into an exclusion
        where = "" if notes else f" in {_zone_label(zone)}"
        notes.append(
            f"daily cap reached{where} ({capped.count} of {history.cap} texts in the "
            f"{history.hours:g} h before {_local(moment, zone, dated=True)} local); "
            f"a slot frees at {_local(capped.frees_at, zone, dated=True)} local"
        )
        moment = capped.frees_at
    raise AssertionError("each round passes at least one send's expiry, so this is unreachable")


def _local(moment: datetime, zone: ResolvedZone, *, dated: bool = False) -> str:
    return moment.astimezone(zone.zone).strftime("%Y-%m-%d %H:%M" if dated else "%H:%M")


def _zone_label(zone: ResolvedZone) -> str:
    if not zone.also:
        return zone.zone.key
    names = " and ".join(one.key for one in zone.zones)
    source = {"phone": "area code", "state": "state"}.get(zone.source, zone.source)
    if zone.declared is not None:
        # A fixed offset has no DST: alone it would allow 21:00-22:00 EDT all summer.
        return f"{names} (the contact's zone is a fixed offset, so the {source}'s applies too)"
    return f"{names} (the {source} spans each; all apply)"


def _window_label(window: AllowedWindow, states: tuple[str, ...], rules: NotifyRules) -> str:
    ruled = [code for code in states if code in rules.states]
    source = f"{'/'.join(ruled)} rules" if ruled else "default window"
    return f"{source} {window.start:%H:%M}-{window.end:%H:%M}"
