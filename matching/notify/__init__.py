"""The SMS notification policy: pure decisions on whether, when and what to text a buyer.

No I/O here. The caller passes the time, the buyer's GHL fields and the send history; the
store, the outbox and the GHL client are wired around these functions elsewhere.

    from matching.notify import decide, load_rules, BuyerContactInfo, Action
"""

from matching.notify.caps import ROLLING_WINDOW, CapDecision, cap_decision
from matching.notify.eligibility import Exclusion, eligibility, normalize_phone
from matching.notify.keywords import InboundKind, InboundReading, classify_inbound, read_inbound
from matching.notify.language import Language, detect_language
from matching.notify.policy import Action, BuyerContactInfo, Decision, decide
from matching.notify.quiet_hours import (
    NoCommonWindowError,
    cap_for,
    is_quiet,
    next_allowed,
    window_for,
)
from matching.notify.rules import AllowedWindow, NotifyRules, RulesError, StateRule, load_rules
from matching.notify.states import normalize_state, resolve_state, resolve_states
from matching.notify.templates import (
    DEFAULT_TEMPLATE,
    MAX_LENGTH,
    OPT_OUT_HINT,
    MessageTooLongError,
    help_reply,
    opt_out_confirmation,
    render_deal_sms,
    validate_template,
)
from matching.notify.timezones import ResolvedZone, ZoneSpec, resolve_timezone, zone_or_none

__all__ = [
    "DEFAULT_TEMPLATE",
    "MAX_LENGTH",
    "OPT_OUT_HINT",
    "ROLLING_WINDOW",
    "Action",
    "AllowedWindow",
    "BuyerContactInfo",
    "CapDecision",
    "Decision",
    "Exclusion",
    "InboundKind",
    "InboundReading",
    "Language",
    "MessageTooLongError",
    "NoCommonWindowError",
    "NotifyRules",
    "ResolvedZone",
    "RulesError",
    "StateRule",
    "ZoneSpec",
    "cap_decision",
    "cap_for",
    "classify_inbound",
    "decide",
    "detect_language",
    "eligibility",
    "help_reply",
    "is_quiet",
    "load_rules",
    "next_allowed",
    "normalize_phone",
    "normalize_state",
    "opt_out_confirmation",
    "read_inbound",
    "render_deal_sms",
    "resolve_state",
    "resolve_states",
    "resolve_timezone",
    "validate_template",
    "window_for",
    "zone_or_none",
]
