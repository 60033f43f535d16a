"""Inbound replies: opt-out in any reasonable form, HELP, START, and ordinary deal talk."""

from __future__ import annotations

import pytest

from matching.notify import classify_inbound, help_reply, opt_out_confirmation

OPT_OUT = [
    "STOP",
    "stop",
    "Stop.",
    "STOP!!!",
    "  stop  ",
    "please stop",
    "Stop texting me!",
    "STOP ALL",
    "stopall",
    "UNSUBSCRIBE",
    "unsubscribe me",
    "Unsub",
    "un-subscribe",
    "CANCEL",
    "cancel please",
    "END",
    "End.",
    "the end",
    "QUIT",
    "I quit",
    "quit texting me",
    "REVOKE",
    "opt out",
    "OPT-OUT",
    "optout",
    "Opt Out please",
    "cancel my subscription",
    "end these alerts",
    "Great deal but please stop texting me",
    "Stop. By the way I bought already",  # a sentence break ends the "stop by" idiom
    "remove me from your list",
    "take me off this list",
    "Don't text me again",
    "do not contact me",
    "no more texts",
    "wrong number",
    "leave me alone",
    "No más",
    "Cancelar",
    "ALTO",
    "S T O P",
    "opt me out",
]

# Issue 12 changed this rule: a request word in a sentence that a reasonable person may not
# read as a request to stop (negated, or another sense of the word) is a *possible* opt-out,
# which pauses texting and asks a person; "don't stop sending deals!" used to opt out.
POSSIBLE = [
    "don't stop sending deals!",
    "can we stop at the property at 3?",
    "I can't stop thinking about this deal",
    "precio alto",
    "para cuando?",
]

OTHER = [
    "stopped by the house yesterday",
    "I'll stop by the house tomorrow at 3",
    "can I stop in to see it?",
    "I want to send an offer by the end of the week",
    "we need to cancel the showing tomorrow",
    "my tenant wants to quit the lease early",
    "Is the seller open to ending escrow early?",
    "nonstop calls from agents lately, but yours are fine",
    "Interested! What are the comps?",
    "Yes",
    "Send me the address",
    "What's the ARV on 12 Oak St?",
    "more info on the Oak St house?",
    "can you help me find a 3 bed in Tampa",
    "Not interested in this one",  # about the deal, not the texts; the team follows up
    "",
    "   ",
    "👍",
]

HELP = ["HELP", "help", "Help!", "INFO", "info please", "help?"]
OPT_IN = ["START", "start", "Unstop", "subscribe"]


@pytest.mark.parametrize("body", OPT_OUT)
def test_opt_out(body: str) -> None:
    assert classify_inbound(body) == "opt_out"


@pytest.mark.parametrize("body", POSSIBLE)
def test_possible_opt_out(body: str) -> None:
    assert classify_inbound(body) == "possible_opt_out"


@pytest.mark.parametrize("body", OTHER)
def test_not_an_opt_out(body: str) -> None:
    assert classify_inbound(body) == "other"


@pytest.mark.parametrize("body", HELP)
def test_help(body: str) -> None:
    assert classify_inbound(body) == "help"


@pytest.mark.parametrize("body", OPT_IN)
def test_opt_in(body: str) -> None:
    assert classify_inbound(body) == "opt_in"


def test_an_opt_out_word_beats_help_and_start() -> None:
    assert classify_inbound("help stop") == "opt_out"
    assert classify_inbound("stop start") == "opt_out"


@pytest.mark.parametrize("brand", ["Acme Deals", "A" * 200, "  Sunbelt   Home Buyers  "])
def test_replies_are_short_and_name_the_brand(brand: str) -> None:
    for reply in (help_reply(brand), opt_out_confirmation(brand)):
        assert len(reply) < 160
        assert reply.startswith(" ".join(brand.split())[:20])
    assert "Reply STOP to opt out" in help_reply(brand)
    assert "Reply START to resubscribe" in opt_out_confirmation(brand)


@pytest.mark.parametrize("brand", ["Acme Deals", "A" * 200, "Inversiones Ñandú"])
def test_spanish_replies_are_one_gsm7_segment_and_name_the_brand(brand: str) -> None:
    gsm7_letters = set("éèùìòÇØøÅåÄÖÑÜäöñüà¿¡")
    for reply in (help_reply(brand, language="es"), opt_out_confirmation(brand, language="es")):
        assert len(reply) <= 160
        assert reply.startswith(" ".join(brand.split())[:20])
        body = reply[len(" ".join(brand.split())[:30]) :]
        assert all(ch.isascii() or ch in gsm7_letters for ch in body), body
    assert "Responda STOP para cancelar" in help_reply(brand, language="es")
    assert "Responda START" in opt_out_confirmation(brand, language="es")
    assert "le dimos de baja" in opt_out_confirmation(brand, language="es")
