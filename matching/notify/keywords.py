"""Reading a buyer's reply: opt-out, HELP, re-subscribe, or an ordinary message.

The FCC's revocation rule (47 CFR 64.1200(a)(10), 2024 order) names "stop", "quit", "end",
"revoke", "opt out", "cancel" and "unsubscribe" as reasonable ways to revoke consent by
text, and says other wording counts when a reasonable person would read it as a request to
stop. Missing an opt-out risks a TCPA claim per message; a false one costs a buyer who can
reply START. So the choice errs towards opting out:

* STOP, STOPALL, UNSUBSCRIBE (any "unsub..." word), REVOKE, OPT OUT / OPTOUT / opt-out and
  plain requests ("remove me", "don't text", "no more texts", "wrong number", "no más")
  count anywhere in the message, in any case and with any punctuation: "Great deal but
  please stop texting me" opts out. Negation is not parsed, so "don't stop sending deals"
  opts out too, deliberately.
* "stop by / stop in / stop over" ("I'll stop by the house") are visits, not requests;
  "stopped" or "nonstop" are other words.
* END, CANCEL and QUIT are everyday words ("by the end of the week", "cancel the showing"),
  so they count when the message is only that word plus filler ("End.", "cancel please",
  "I quit") or when they govern the messages ("quit texting me", "cancel my subscription",
  "end these alerts").
* HELP / INFO answer with `help_reply` only when they are the whole message; "more info on
  the Oak St house?" is a buyer asking about a deal and goes to the team.

    classify_inbound("Stop texting me!")   # "opt_out"
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

InboundKind = Literal["opt_out", "help", "opt_in", "other"]

# "stop" itself is matched by _STOP, which leaves out the visit idioms.
_STOP = re.compile(r"\bstop\b(?!\s+(?:by|in|over)\b)")
_ALWAYS = (
    ("stopall",), ("revoke",), ("optout",), ("opt", "out"), ("un", "subscribe"),
    ("remove", "me"), ("take", "me", "off"), ("dont", "text"), ("do", "not", "text"),
    ("dont", "message"), ("do", "not", "message"), ("dont", "contact"), ("do", "not", "contact"),
    ("no", "more", "texts"), ("no", "more", "text"), ("no", "more", "messages"),
    ("wrong", "number"), ("leave", "me", "alone"), ("no", "mas"),
)  # fmt: skip
_EVERYDAY = frozenset({"end", "cancel", "quit", "cancelar"})
_ABOUT_MESSAGES = frozenset(
    {
        "text", "texts", "texting", "txt", "txts", "sms", "message", "messages", "messaging",
        "msgs", "contacting", "calling", "alerts", "notifications", "subscription",
    }
)  # fmt: skip
_FILLER = frozenset(
    {
        "please", "pls", "plz", "me", "now", "it", "i", "thanks", "thank", "you", "thx", "ok",
        "okay", "just", "all", "this", "already", "asap", "immediately", "right", "away", "hi",
        "hello", "sorry", "the", "that",
    }
)  # fmt: skip
_BARE_KEYWORDS = _EVERYDAY | {"stop", "stopall", "revoke", "optout"}
_HELP = frozenset({"help", "info"})
_START = frozenset({"start", "unstop", "subscribe", "resubscribe"})
_BRAND_MAX = 30


def classify_inbound(body: str) -> InboundKind:
    """What an inbound text asks for: "opt_out", "help", "opt_in" (START) or "other"."""
    plain = _plain(body)
    words = re.findall(r"[a-z]+|[0-9]+", plain)
    core = [word for word in words if word not in _FILLER]
    if _asks_to_stop(plain, words) or (core and set(core) <= _BARE_KEYWORDS):
        return "opt_out"
    if core and set(core) <= _HELP:
        return "help"
    if core and set(core) <= _START:
        return "opt_in"
    return "other"


def help_reply(brand: str) -> str:
    """The answer to HELP: who is texting, what about, and how to stop (under 160 chars)."""
    return (
        f"{_short(brand)}: real-estate deal alerts. Msg frequency varies; msg & data rates may "
        "apply. Reply STOP to opt out."
    )


def opt_out_confirmation(brand: str) -> str:
    """The one confirmation the FCC allows after an opt-out; no marketing in it."""
    return (
        f"{_short(brand)}: you're unsubscribed and will get no more texts. "
        "Reply START to resubscribe."
    )


def _asks_to_stop(plain: str, words: list[str]) -> bool:
    if _STOP.search(plain):
        return True
    for index, word in enumerate(words):
        if word.startswith("unsub"):
            return True
        if any(tuple(words[index : index + len(phrase)]) == phrase for phrase in _ALWAYS):
            return True
        if word in _EVERYDAY and _ABOUT_MESSAGES.intersection(words[index + 1 : index + 4]):
            return True
    return False


def _plain(body: str) -> str:
    # Accents off ("más" -> "mas") and apostrophes out ("don't" -> "dont"), so that splitting
    # on everything else makes "STOP." "Stop!!" "opt-out" and "OPT OUT" the same words.
    text = unicodedata.normalize("NFKD", body or "")
    text = "".join(char for char in text if not unicodedata.combining(char))
    return re.sub(r"['’‘`]", "", text.casefold())


def _short(brand: str) -> str:
    name = " ".join((brand or "").split())
    return name if len(name) <= _BRAND_MAX else name[: _BRAND_MAX - 3].rstrip() + "..."
