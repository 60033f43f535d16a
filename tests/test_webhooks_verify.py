"""Signature and freshness checks as plain functions: key formats, GHL's published key, times."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from bot.web.webhook_verify import (
    GHL_ED25519_KEY,
    GHL_LEGACY_RSA_KEY,
    SignatureVerifier,
    WebhookKeyError,
    freshness_problem,
    load_ed25519_key,
    load_rsa_key,
    parse_timestamp,
)
from tests.fixtures.ops import WEBHOOK_DOCS

NOW = datetime(2027, 1, 15, 15, 0, tzinfo=UTC)


def test_the_legacy_key_is_ghl_published_one():
    doc = (WEBHOOK_DOCS / "WebhookAuthentication.md").read_text(encoding="utf-8")
    published = re.search(r"-----BEGIN PUBLIC KEY-----.*?-----END PUBLIC KEY-----", doc, re.S)
    assert published is not None
    assert GHL_LEGACY_RSA_KEY.strip() == published.group(0).strip()
    assert load_rsa_key(GHL_LEGACY_RSA_KEY).key_size == 4096


def test_the_default_ed25519_key_is_ghls_published_one_and_the_setting_overrides_it(
    ed25519_pair,
):
    readme = Path(__file__).resolve().parents[3] / "shared" / "ghl-api" / "README.md"
    published = "MCowBQYDK2VwAyEAi2HR1srL4o18O8BRa7gVJY7G7bupbN3H9AwJrHCDiOg="
    if readme.exists():  # the shared facts file, where the key is quoted from GHL's guide
        assert published in readme.read_text(encoding="utf-8")
    assert published == GHL_ED25519_KEY
    default = SignatureVerifier.from_settings(public_key=None, legacy_rsa=False)
    raw = default.ed25519_key.public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    assert raw == base64.b64decode(published)[-32:]
    body = b'{"type": "ContactUpdate"}'
    signature = {"X-GHL-Signature": ed25519_pair.sign(body)}
    assert not default.verify(body, signature).ok
    own = SignatureVerifier.from_settings(public_key=ed25519_pair.public_pem, legacy_rsa=False)
    assert own.verify(body, signature).ok


def test_every_ed25519_key_form_loads_to_the_same_key(ed25519_pair):
    public = ed25519_pair.private.public_key()
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    raw_urlsafe = (
        base64.urlsafe_b64encode(
            public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        )
        .decode()
        .rstrip("=")
    )
    forms = [
        ed25519_pair.public_pem,
        ed25519_pair.public_raw_b64,
        base64.b64encode(der).decode(),
        raw_urlsafe,
        f"  {ed25519_pair.public_pem}\n",
    ]
    raw = {
        load_ed25519_key(form).public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        for form in forms
    }
    assert len(raw) == 1


@pytest.mark.parametrize(
    "value", ["not a key", "c2hvcnQ=", GHL_LEGACY_RSA_KEY], ids=["text", "too short", "RSA key"]
)
def test_a_key_that_is_not_ed25519_is_refused_with_the_setting_named(value):
    with pytest.raises(WebhookKeyError, match="GHL_WEBHOOK_PUBLIC_KEY"):
        load_ed25519_key(value)


def test_verification_reasons(ed25519_pair, rsa_pair):
    body = b'{"type":"ContactUpdate"}'
    ed_only = SignatureVerifier(ed25519_key=load_ed25519_key(ed25519_pair.public_pem))
    assert ed_only.verify(body, {"x-ghl-signature": ed25519_pair.sign(body)}).scheme == "ed25519"
    refused = ed_only.verify(body, {"X-WH-Signature": rsa_pair.sign(body)})
    assert not refused.ok and "retired" in refused.reason
    assert ed_only.verify(body, {}).reason == "no signature header"
    rsa_only = SignatureVerifier(
        ed25519_key=None, rsa_key=load_rsa_key(rsa_pair.public_pem), legacy_rsa=True
    )
    verdict = rsa_only.verify(body, {"X-WH-Signature": rsa_pair.sign(body), "X-GHL-Signature": "x"})
    assert verdict.ok and verdict.scheme == "rsa"  # no Ed25519 key here: the RSA one decides
    assert not SignatureVerifier(ed25519_key=None).configured


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-01-28T14:35:00Z", datetime(2025, 1, 28, 14, 35, tzinfo=UTC)),
        ("2025-01-28T14:35:00.250+00:00", datetime(2025, 1, 28, 14, 35, 0, 250000, tzinfo=UTC)),
        ("2025-01-28T14:35:00", datetime(2025, 1, 28, 14, 35, tzinfo=UTC)),
        (1738074900, datetime(2025, 1, 28, 14, 35, tzinfo=UTC)),
        (1738074900000, datetime(2025, 1, 28, 14, 35, tzinfo=UTC)),
        ("yesterday", None),
        (True, None),
        ({"at": 1}, None),
    ],
)
def test_parse_timestamp(value, expected):
    assert parse_timestamp(value) == expected


@pytest.mark.parametrize(
    ("sent", "problem"),
    [
        (NOW - timedelta(minutes=5), None),
        (NOW - timedelta(minutes=70), None),  # GHL's sixth retry of a 429
        (NOW - timedelta(hours=2), None),
        (NOW - timedelta(hours=2, seconds=1), "stale: sent 7201 s ago"),
        (NOW + timedelta(minutes=5), None),
        (NOW + timedelta(minutes=6), "from the future: 360 s ahead"),
        (None, "no timestamp"),
        ("soon", "unreadable timestamp"),
    ],
)
def test_freshness(sent, problem):
    value = sent.isoformat() if isinstance(sent, datetime) else sent
    assert freshness_problem(value, now=NOW) == problem
