"""`payload_problem`: which GHL webhook payloads are refused before any handler runs, and why."""

from __future__ import annotations

import pytest

from bot.web.webhook_payloads import TEXT_LIMIT, payload_problem

CASES = [
    ({}, None),
    ({"contactId": "cI08i1Bls3iTB9bKgFJh", "body": "STOP", "messageType": "SMS"}, None),
    ({"id": None, "contactId": ""}, None),  # absent: the handler says what is missing
    ({"id": "opp_1-a"}, None),
    ({"dndSettings": {"SMS": {"status": "active"}, "Email": None}}, None),
    ({"id": [None, None]}, "id is not a GHL id"),
    ({"contactId": 12345}, "contactId is not a GHL id"),
    ({"contactId": "../locations/x?y=1"}, "contactId is not a GHL id"),
    ({"contactId": "a b"}, "contactId is not a GHL id"),
    ({"assignedTo": "x" * 65}, "assignedTo is not a GHL id"),
    ({"messageType": {"a": 1}}, "messageType is not text"),
    ({"body": ["STOP"]}, "body is not text"),
    ({"title": "t" * (TEXT_LIMIT + 1)}, f"title is longer than {TEXT_LIMIT:,} characters"),
    ({"dndSettings": "active"}, "dndSettings is not an object of channel settings"),
    ({"dndSettings": {"SMS": "active"}}, "dndSettings is not an object of channel settings"),
]


@pytest.mark.parametrize(("payload", "problem"), CASES)
def test_payload_problem(payload: dict, problem: str | None) -> None:
    assert payload_problem(payload) == problem
