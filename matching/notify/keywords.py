"""Reading a buyer's reply: opt-out, possible opt-out, HELP, re-subscribe, or an ordinary message.

The FCC's revocation rule (47 CFR 64.1200(a)(10), 2024 order) names "stop", "quit", "end",
"revoke", "opt out", "cancel" and "unsubscribe" as reasonable ways to revoke consent by
text, and counts other wording, in any language, that a reasonable person would read as a
request to stop. Missing an opt-out risks a TCPA claim per message; inventing one loses a
buyer who only wanted to meet at the house. So there are three answers, not two:

* "opt_out": the request is plain. The CTIA/FCC words and their Spanish (ALTO, PARA, PARAR,
  BASTA, CANCELAR, ...) alone or with filler ("STOP please!!", "alto ya"), in any case,
  spacing or punctuation ("S T O P", "s.t.o.p", full-width "ＳＴＯＰ", "stooop"); a sentence
  of its own ("Stop. By the way I bought already"); a request governing the messages ("stop
  texting me", "para de escribirme", "cancel my subscription"); the phrases in
  `optout_words.ALWAYS` ("opt me out", "take me off your list", "wrong number", "no me
  escribas", "dar de baja") anywhere.
* "possible_opt_out": such a word in a sentence that a reasonable person may not read as a
  request to stop: "can we stop at the property at 3?", "I can't stop thinking about this
  deal", "don't stop sending deals", "precio alto", "para cuando?". The caller pauses texting
  and asks a person (`services.optout.review`).
* Not an opt-out: "stop by / stop in / stop over" (a visit), END, CANCEL and QUIT inside other
  sentences ("cancel the showing"), PARA / ALTO / BAJA inside longer Spanish sentences, where
  they are "for", "high" and "low".

HELP / INFO / AYUDA answer with `help_reply` only when they are the whole message; START and
UNSTOP are reported (re-subscribing is a person's decision). The language of the reply is
`language.detect_language`'s.

    >>> reading = read_inbound("ALTO")
    >>> reading.kind, reading.language
    ('opt_out', 'es')
    >>> classify_inbound("Stop texting me!")
    'opt_out'
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from matching.notify import optout_words as W
from matching.notify.language import Language, detect_language
from matching.notify.templates import help_reply, opt_out_confirmation

InboundKind = Literal["opt_out", "possible_opt_out", "help", "opt_in", "other"]

_REQUEST_WORDS = W.STRONG | W.EVERYDAY | W.WEAK
_MERGEABLE = _REQUEST_WORDS | W.HELP | W.START
_SHORT = 4  # a message of at most this many meaningful words is "short"
# Phrases that are themselves negative ("don't text", "no me escribas"): no negation check.
_NEGATIVE_FORM = frozenset({"dont", "do", "no", "leave", "lose", "wrong", "numero", "equivocado"})

__all__ = [
    "InboundKind",
    "InboundReading",
    "classify_inbound",
    "help_reply",
    "opt_out_confirmation",
    "read_inbound",
]


@dataclass(frozen=True)
class InboundReading:
    """What a reply asks for, the language to answer in, and why (for people and logs)."""

    kind: InboundKind
    language: Language
    why: str


def classify_inbound(body: str) -> InboundKind:
    """What an inbound text asks for: "opt_out", "possible_opt_out", "help", "opt_in", "other"."""
    return read_inbound(body).kind


def read_inbound(body: str) -> InboundReading:
    """`classify_inbound` with the buyer's language and the rule that decided."""
    plain = _plain(body)
    kind, why = _judge(plain)
    return InboundReading(kind=kind, language=detect_language(body, plain=plain), why=why)


def _judge(text: str) -> tuple[InboundKind, str]:
    sentences = [_words(part) for part in re.split(r"[.!?;\n]+|\s[-–]\s", text)]
    clauses = [_words(part) for part in re.split(r"[.!?;,:()\n]+|\s[-–]\s", text)]
    words = [word for sentence in sentences for word in sentence]
    core = [word for word in words if word not in W.FILLER]
    if not core:
        return "other", "no words"
    if _bare(core):
        return "opt_out", "only an opt-out word"
    possible: str | None = None
    for clause in clauses:
        verdict = _scan(clause)
        if verdict is not None and verdict[0] == "opt_out":
            return verdict
        possible = possible or (verdict[1] if verdict else None)
    for sentence in sentences:
        meaningful = [word for word in sentence if word not in W.FILLER]
        if meaningful and _bare(meaningful, kinds=W.STRONG | W.WEAK):
            return "opt_out", "a sentence that is only an opt-out word"
    possible = possible or _possible(words, core, sentences)
    if possible:
        return "possible_opt_out", possible
    if set(core) <= W.HELP:
        return "help", "HELP"
    if set(core) <= W.START:
        return "opt_in", "START"
    return "other", "no opt-out wording"


def _bare(core: Sequence[str], *, kinds: frozenset[str] = _REQUEST_WORDS) -> bool:
    """Only request words (and HELP/START beside them): "stop", "help stop", "no más"."""
    rest = list(core)
    for phrase in W.BARE_PHRASES:
        if tuple(rest[: len(phrase)]) == phrase:
            return all(word in kinds | W.HELP | W.START for word in rest[len(phrase) :])
    return bool(set(rest) & kinds) and set(rest) <= kinds | W.HELP | W.START


def _scan(clause: list[str]) -> tuple[InboundKind, str] | None:
    """A request phrase or a request governing the messages in one clause, and whether a
    negation before it ("don't stop sending") makes it only possible."""
    found: tuple[InboundKind, str] | None = None
    for index, word in enumerate(clause):
        phrase = next((p for p in W.ALWAYS if tuple(clause[index : index + len(p)]) == p), None)
        if phrase is not None:
            what = " ".join(phrase)
            if phrase[0] in _NEGATIVE_FORM or not _negated(clause, index):
                return "opt_out", f"asks to stop: {what!r}"
            found = found or ("possible_opt_out", f"{what!r} after a negation")
            continue
        if word in _REQUEST_WORDS | W.CEASE and W.ABOUT_MESSAGES.intersection(
            clause[index + 1 : index + 4]
        ):
            if not _negated(clause, index):
                return "opt_out", f"{word!r} about the messages"
            found = found or ("possible_opt_out", f"{word!r} after a negation")
    return found


def _negated(clause: list[str], index: int) -> bool:
    before = clause[max(0, index - 3) : index]
    return bool(W.NEGATIONS.intersection(before))


def _possible(words: list[str], core: list[str], sentences: list[list[str]]) -> str | None:
    """Why a message with a request word in it may still be a request to stop, or None."""
    for index, word in enumerate(words):
        if word in W.STRONG:
            visit = (
                word == "stop" and index + 1 < len(words) and words[index + 1] in W.VISIT_AFTER_STOP
            )
            if not visit:
                return f"{word!r} in a sentence"
        if word in W.WEAK and (len(core) <= _SHORT or index == 0):
            return f"{word!r} in a short message"
    for sentence in sentences:
        meaningful = [word for word in sentence if word not in W.FILLER]
        if meaningful and _bare(meaningful):
            return "a sentence that is only an opt-out word"
        for phrase in W.BARE_PHRASES:
            if any(tuple(sentence[i : i + len(phrase)]) == phrase for i in range(len(sentence))):
                return f"{' '.join(phrase)!r} in a sentence"
    return None


def _words(text: str) -> list[str]:
    words = re.findall(r"[a-z]+|[0-9]+", text)
    return ["unsubscribe" if word.startswith("unsub") else word for word in words]


def _plain(body: str) -> str:
    """One spelling per word: full-width and look-alike letters to ASCII, accents off ("más"
    -> "mas"), apostrophes out ("don't" -> "dont"), "s.t.o.p" and "S T O P" joined, letters
    held down ("stooop") and a zero inside a word ("st0p") undone."""
    text = unicodedata.normalize("NFKC", body or "").casefold().translate(W.CONFUSABLES)
    text = "".join(char for char in text if unicodedata.category(char) != "Cf")  # zero-widths
    text = unicodedata.normalize("NFKD", text)
    text = "".join(char for char in text if not unicodedata.combining(char))
    text = re.sub(r"['’‘`]", "", text)
    text = re.sub(r"(?<=[a-z])0(?=[a-z])", "o", text)
    text = re.sub(r"([a-z])\1{2,}", r"\1", text)
    return re.sub(r"(?<![a-z])[a-z](?:[^a-z0-9\n]{1,3}[a-z])+(?![a-z])", _join_letters, text)


def _join_letters(match: re.Match[str]) -> str:
    joined = re.sub(r"[^a-z]", "", match.group(0))
    return joined if joined in _MERGEABLE else match.group(0)
