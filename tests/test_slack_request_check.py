"""The pure checks in front of bolt: header shapes and body shapes, as parameter tables."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from slack_bolt.request import BoltRequest

from bot.slack.request_check import (
    body_problem,
    misread_form,
    signature_problem,
    timestamp_problem,
)

NOW = 1_700_000_000.0
FORM = "application/x-www-form-urlencoded"


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("1700000000", None),
        ("1699999701", None),  # 299 s old
        ("1700000299", None),  # 299 s ahead
        ("1699999699", "more than 5 minutes"),
        ("1700000301", "more than 5 minutes"),
        (None, "missing"),
        ("", "missing"),
        ("9" * 5000, "not a Unix time"),
        ("9" * 13, "not a Unix time"),
        ("-1700000000", "not a Unix time"),
        ("+1700000000", "not a Unix time"),
        ("1700000000.0", "not a Unix time"),
        ("1_700_000_000", "not a Unix time"),  # int() would take it
        ("17000000²", "not a Unix time"),  # isdigit() would take it
        ("١٧٠٠٠٠٠٠٠٠", "not a Unix time"),  # int() would take it
        ("１７００００００００", "not a Unix time"),  # full-width: int() would take it
        (" 1700000000", "not a Unix time"),
        ("0x6553f100", "not a Unix time"),
    ],
)
def test_timestamp_header(value: str | None, problem: str | None) -> None:
    found = timestamp_problem(value, now=NOW)
    assert (found is None) if problem is None else (found is not None and problem in found)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("v0=" + "0123456789abcdef" * 4, None),
        (None, "missing"),
        ("", "missing"),
        ("v0=" + "0" * 63, "not v0="),
        ("v0=" + "0" * 65, "not v0="),
        ("v0=" + "A" * 64, "not v0="),
        ("v1=" + "0" * 64, "not v0="),
        ("v0=" + "é" * 64, "not v0="),
        ("v0=" + "0" * 64 + "\n", "not v0="),
    ],
)
def test_signature_header(value: str | None, problem: str | None) -> None:
    found = signature_problem(value)
    assert (found is None) if problem is None else (found is not None and problem in found)


def payload(data: object) -> str:
    return urlencode({"payload": json.dumps(data)})


CLICK = {"type": "block_actions", "user": {"id": "U1"}, "actions": [{"action_id": "a"}]}
FORM_VIEW = {"type": "modal", "callback_id": "f", "state": {"values": {"b": {"a": {}}}}}
VIEW = {"type": "view_submission", "user": {"id": "U1"}, "view": FORM_VIEW}


@pytest.mark.parametrize(
    ("body", "content_type", "problem"),
    [
        (urlencode({"command": "/deal", "text": "hot", "user_id": "U1"}), FORM, None),
        ("ssl_check=1&token=x", FORM, None),
        (payload(CLICK), FORM, None),
        (payload(VIEW), FORM, None),
        (json.dumps({"type": "url_verification", "challenge": "c"}), "application/json", None),
        ("", FORM, "neither a slash command nor an interaction"),
        ("[1]", "application/json", "the JSON body is not a JSON object"),
        ("command=%2Fdeal", "application/json", "not valid JSON"),
        ("command=%2Fdeal", "application/json; charset=utf-8", "not valid JSON"),
        ("{", FORM, "not valid JSON"),
        ("payload=%7Bnope", FORM, "payload is not valid JSON"),
        (payload([CLICK]), FORM, "payload is not a JSON object"),
        ("payload=" + "%5B" * 100_000, FORM, "nested too deeply"),
        (payload(CLICK | {"actions": []}), FORM, "block_actions without actions"),
        (payload(CLICK | {"actions": "a"}), FORM, "block_actions without actions"),
        (payload(CLICK | {"actions": [{"value": "x"}]}), FORM, "needs an action_id"),
        (payload(CLICK | {"actions": [{"action_id": "a", "value": "x\x00"}]}), FORM, "NUL"),
        (payload(CLICK | {"user": "U1"}), FORM, "without user.id"),
        (payload(CLICK | {"channel": "C1"}), FORM, "channel is not an object"),
        (payload(CLICK | {"type": "nonsense"}), FORM, "unknown interaction type 'nonsense'"),
        (payload(CLICK | {"type": 7}), FORM, "unknown interaction type '7'"),
        (payload(VIEW | {"view": None}), FORM, "without a view"),
        (payload(VIEW | {"view": {"callback_id": "f"}}), FORM, "the view has no type"),
        (payload(VIEW | {"view": {"type": "modal"}}), FORM, "the view has no callback_id"),
        (payload(VIEW | {"view": VIEW["view"] | {"state": {"values": []}}}), FORM,
         "view.state.values"),
        (payload(VIEW | {"view": VIEW["view"] | {"state": {"values": {"b": "x"}}}}), FORM,
         "view.state.values"),
        (urlencode({"command": "/deal", "text": "hot"}), FORM, "without user_id"),
        (urlencode({"command": "/deal", "text": "show payload", "user_id": "U1"}), FORM, None),
    ],
)  # fmt: skip
def test_body_shape(body: str, content_type: str, problem: str | None) -> None:
    found = body_problem(body, content_type)
    assert (found is None) if problem is None else (found is not None and problem in found), found


@pytest.mark.parametrize(
    ("body", "content_type", "fields"),
    [
        ("command=%2Fdeal&text=show+payload", FORM, {"command": "/deal", "text": "show payload"}),
        ("command=%2Fdeal&text=show+x", FORM, None),  # bolt reads it right
        (payload(CLICK), FORM, None),  # a real interaction
        ('{"payload": 1}', "application/json", None),
        ("text=payload", "application/json", None),
    ],
)
def test_forms_bolt_would_misread(body: str, content_type: str, fields: dict | None) -> None:
    assert misread_form(body, content_type) == fields


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                max_size=4),
    max_leaves=20,
)  # fmt: skip
SHAPED = st.fixed_dictionaries(
    {"type": st.sampled_from(["block_actions", "view_submission", "shortcut", "x"]) | JSONISH},
    optional={k: JSONISH for k in ("user", "actions", "view", "channel", "command", "user_id")},
)


@pytest.mark.slow  # hypothesis, 500 inputs
@settings(max_examples=500, deadline=None)
@given(
    data=SHAPED | JSONISH,
    raw=st.text(max_size=200),
    as_form=st.booleans(),
    content_type=st.sampled_from([FORM, "application/json", "text/plain", ""]),
)
def test_what_the_checks_let_through_bolt_can_read(
    data: object, raw: str, as_form: bool, content_type: str
) -> None:
    for body in (payload(data) if as_form else json.dumps(data), raw):
        found = body_problem(body, content_type)
        assert found is None or isinstance(found, str)
        if found is None:  # as the server hands it to bolt (bot/web/server.py)
            fields = misread_form(body, content_type)
            if fields is not None:
                body, content_type = json.dumps(fields), "application/json"
            request = BoltRequest(body=body, headers={"content-type": content_type})
            assert isinstance(request.body, dict)
