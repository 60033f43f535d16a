"""The deal text: placeholders, formatting, the 320-character limit and what is never cut."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from matching.notify import (
    MAX_LENGTH,
    OPT_OUT_HINT,
    MessageTooLongError,
    render_deal_sms,
    validate_template,
)
from matching.notify.templates import format_beds, format_price

LINK = "https://deals.example.com/p/8f3k2"


def render(**overrides: object) -> str:
    fields: dict[str, object] = {
        "template": None, "brand": "Acme Deals", "first_name": "Dana",
        "address": "12 Oak St", "city": "Tampa", "price": 245_000, "beds": 3, "link": LINK,
    }  # fmt: skip
    return render_deal_sms(**(fields | overrides))  # type: ignore[arg-type]


def test_the_default_text() -> None:
    assert render() == (
        "Acme Deals: Hi Dana, new deal: 12 Oak St, Tampa - $245,000, 3 bd. "
        f"{LINK} Reply STOP to opt out"
    )


def test_missing_fields_leave_no_stray_punctuation() -> None:
    assert render(first_name=None, city=None, beds=None) == (
        f"Acme Deals: Hi there, new deal: 12 Oak St - $245,000. {LINK} Reply STOP to opt out"
    )
    text = render(template="$brand: $price, $beds ($city) at $address. $link", city="", beds=None)
    assert text == f"Acme Deals: $245,000 at 12 Oak St. {LINK} Reply STOP to opt out"


@pytest.mark.parametrize(
    ("price", "text"), [(245_000, "$245,000"), (0, "$0"), (1_250_000, "$1,250,000"), (99, "$99")]
)
def test_price_format(price: int, text: str) -> None:
    assert format_price(price) == text


@pytest.mark.parametrize(("beds", "text"), [(3, "3 bd"), (1, "1 bd"), (0, "studio"), (None, "")])
def test_beds_format(beds: int | None, text: str) -> None:
    assert format_beds(beds) == text


def test_a_negative_price_is_an_error() -> None:
    with pytest.raises(ValueError):
        render(price=-1)


def test_a_template_without_the_hint_gets_it_appended() -> None:
    text = render(template="New: $address $link")
    assert text == f"New: 12 Oak St {LINK} {OPT_OUT_HINT}"


def test_a_long_address_is_cut_at_a_word_and_the_link_and_hint_survive() -> None:
    address = "1234 Northwest Very Long Boulevard Extension Unit 5B " * 8
    text = render(address=address)
    assert len(text) <= MAX_LENGTH
    assert text.endswith(f"{LINK} {OPT_OUT_HINT}")
    kept = text.removeprefix("Acme Deals: Hi Dana, new deal: ").split("...", 1)[0]
    assert address.startswith(kept)
    assert address[len(kept)] == " "  # cut between words, not inside one
    assert len(kept) > 150  # and only as much as needed
    assert f"{kept}..., Tampa - $245,000, 3 bd. {LINK}" in text


def test_when_the_address_is_not_enough_the_city_then_the_name_give_way() -> None:
    text = render(address="A" * 400, city="B" * 400, first_name="C" * 400)
    assert len(text) <= MAX_LENGTH
    assert text.startswith("Acme Deals: Hi C")
    assert "A" not in text.replace("Acme", "")
    assert text.endswith(f"{LINK} {OPT_OUT_HINT}")


def test_a_link_too_long_to_fit_is_an_error_not_a_cut_link() -> None:
    with pytest.raises(MessageTooLongError):
        render(link="https://deals.example.com/" + "x" * 300)


def test_the_link_is_never_altered_by_tidying() -> None:
    odd = "https://d.example/p?a=1,,b=2 ,."
    assert render(link=odd.replace(" ", "")).count("https://d.example/p?a=1,,b=2,.") == 1


def test_fields_are_one_line_and_gsm_friendly() -> None:
    text = render(first_name="D’Angelo\nJr.", address="12 “Oak” St\t#4")
    assert "Hi D'Angelo Jr.," in text
    assert '12 "Oak" St #4' in text
    assert "\n" not in text and "\t" not in text


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("Hi $nme, $link", "unknown placeholders"),
        ("Deal for ${first_name $link", "stray"),
        ("Costs 5$ $link", "stray"),
        ("New deal at $address", "must contain \\$link"),
        ("x" * 300 + " $link", "leaves under"),
    ],
)
def test_bad_templates_fail_validation(template: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        validate_template(template)


def test_a_literal_dollar_sign_is_written_twice() -> None:
    validate_template("Save $$5k: $link")
    assert render(template="Save $$5k: $link").startswith("Save $5k: https://")


@given(
    brand=st.from_regex(r"[A-Za-z][A-Za-z &'.-]{0,39}", fullmatch=True),
    first_name=st.one_of(st.none(), st.text(max_size=200)),
    address=st.one_of(st.none(), st.text(max_size=500)),
    city=st.one_of(st.none(), st.text(max_size=200)),
    price=st.integers(min_value=0, max_value=10**9),
    beds=st.one_of(st.none(), st.integers(min_value=0, max_value=12)),
)
def test_any_buyer_fields_fit_and_keep_link_and_hint(
    brand: str,
    first_name: str | None,
    address: str | None,
    city: str | None,
    price: int,
    beds: int | None,
) -> None:
    text = render_deal_sms(template=None, brand=brand, first_name=first_name, address=address,
                           city=city, price=price, beds=beds, link=LINK)  # fmt: skip
    assert len(text) <= MAX_LENGTH
    assert text.endswith(f"{LINK} {OPT_OUT_HINT}")
