"""Is this webhook from GHL, and is it fresh? Signatures over the raw body, and replay windows.

GHL signs the exact bytes it posts (ghl-api README, "Facts not in the files"):
- ``X-GHL-Signature``: Ed25519, base64, with GHL's published key (`GHL_ED25519_KEY`) unless
  GHL_WEBHOOK_PUBLIC_KEY names another (PEM, base64 DER, or the raw 32-byte key in base64).
  The scheme in use since 2026-07-01.
- ``X-WH-Signature``: RSA-SHA256 (PKCS#1 v1.5), base64, with GHL's published key
  (webhooks/WebhookAuthentication.md). Retired on 2026-07-01, so accepted only when
  GHL_WEBHOOK_LEGACY_RSA is on.
Replays are refused by ``webhookId`` (seen before: `store.webhooks.remember_webhook_id`, kept
a day) and the body's ``timestamp``. WebhookAuthentication.md suggests a 5-minute window, but GHL
retries a delivery answered 429 up to 6 times about 10 minutes apart (help centre, "Automated
Webhook Retries"): the same signed body, over an hour old by its last attempt. So a validly
signed body is accepted up to `RETRY_HORIZON` (2 hours) old, far inside the day its id is kept,
so a replay inside the horizon always meets its id.

    verifier = SignatureVerifier.from_settings(public_key=s.webhook_public_key,
                                               legacy_rsa=s.webhook_legacy_rsa)
    verdict = verifier.verify(raw_body, request.headers)     # Verification(ok, scheme, reason)
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

ED25519_HEADER = "X-GHL-Signature"
LEGACY_HEADER = "X-WH-Signature"
# GHL's last retry comes about 70 minutes (6 x 10 min plus jitter) after the first attempt.
RETRY_HORIZON = timedelta(hours=2)
# How far ahead of our clock a body's timestamp may be (clock skew between GHL and us).
CLOCK_SKEW = timedelta(minutes=5)

# GHL's published Ed25519 webhook key (SPKI DER, base64), from its webhook integration guide
# (ghl-api README, "Signature key"); the default unless GHL_WEBHOOK_PUBLIC_KEY overrides it.
GHL_ED25519_KEY = "MCowBQYDK2VwAyEAi2HR1srL4o18O8BRa7gVJY7G7bupbN3H9AwJrHCDiOg="

# GHL's published webhook key, copied from webhooks/WebhookAuthentication.md ("Verifying the
# Signature"); tests/test_webhooks_verify.py checks the copy against the vendored file.
GHL_LEGACY_RSA_KEY = """-----BEGIN PUBLIC KEY-----
MIICIjANBgkqhkiG9w0BAQEFAAOCAg8AMIICCgKCAgEAokvo/r9tVgcfZ5DysOSC
Frm602qYV0MaAiNnX9O8KxMbiyRKWeL9JpCpVpt4XHIcBOK4u3cLSqJGOLaPuXw6
dO0t6Q/ZVdAV5Phz+ZtzPL16iCGeK9po6D6JHBpbi989mmzMryUnQJezlYJ3DVfB
csedpinheNnyYeFXolrJvcsjDtfAeRx5ByHQmTnSdFUzuAnC9/GepgLT9SM4nCpv
uxmZMxrJt5Rw+VUaQ9B8JSvbMPpez4peKaJPZHBbU3OdeCVx5klVXXZQGNHOs8gF
3kvoV5rTnXV0IknLBXlcKKAQLZcY/Q9rG6Ifi9c+5vqlvHPCUJFT5XUGG5RKgOKU
J062fRtN+rLYZUV+BjafxQauvC8wSWeYja63VSUruvmNj8xkx2zE/Juc+yjLjTXp
IocmaiFeAO6fUtNjDeFVkhf5LNb59vECyrHD2SQIrhgXpO4Q3dVNA5rw576PwTzN
h/AMfHKIjE4xQA1SZuYJmNnmVZLIZBlQAF9Ntd03rfadZ+yDiOXCCs9FkHibELhC
HULgCsnuDJHcrGNd5/Ddm5hxGQ0ASitgHeMZ0kcIOwKDOzOU53lDza6/Y09T7sYJ
PQe7z0cvj7aE4B+Ax1ZoZGPzpJlZtGXCsu9aTEGEnKzmsFqwcSsnw3JB31IGKAyk
T1hhTiaCeIY/OwwwNUY2yvcCAwEAAQ==
-----END PUBLIC KEY-----
"""


class WebhookKeyError(ValueError):
    """The configured public key cannot be read; the message says what was expected."""


def _b64(value: str) -> bytes:
    """Decode standard or URL-safe base64, padding optional."""
    cleaned = "".join(value.split())
    cleaned += "=" * (-len(cleaned) % 4)
    try:
        return base64.b64decode(cleaned.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not base64") from None


def load_ed25519_key(value: str) -> Ed25519PublicKey:
    """GHL's Ed25519 public key from PEM, base64 DER, or the base64 raw 32-byte key."""
    value = value.strip()
    try:
        if value.startswith("-----BEGIN"):
            key = serialization.load_pem_public_key(value.encode())
        else:
            raw = _b64(value)
            key = (
                Ed25519PublicKey.from_public_bytes(raw)
                if len(raw) == 32
                else serialization.load_der_public_key(raw)
            )
    except (ValueError, TypeError):
        raise WebhookKeyError(
            "GHL_WEBHOOK_PUBLIC_KEY must be an Ed25519 public key: a PEM block "
            "(-----BEGIN PUBLIC KEY-----) or the 32-byte key in base64"
        ) from None
    if not isinstance(key, Ed25519PublicKey):
        raise WebhookKeyError("GHL_WEBHOOK_PUBLIC_KEY is a public key, but not an Ed25519 one")
    return key


def load_rsa_key(pem: str) -> RSAPublicKey:
    """An RSA public key from PEM (GHL's legacy webhook key by default)."""
    key = serialization.load_pem_public_key(pem.encode())
    if not isinstance(key, RSAPublicKey):
        raise WebhookKeyError("the legacy webhook key must be an RSA public key")
    return key


@dataclass(frozen=True)
class Verification:
    """The signature check's verdict: which scheme proved it, or why it failed."""

    ok: bool
    scheme: str | None  # "ed25519" | "rsa"
    reason: str


class SignatureVerifier:
    """Checks GHL's signature headers against the raw request body."""

    def __init__(
        self,
        *,
        ed25519_key: Ed25519PublicKey | None,
        rsa_key: RSAPublicKey | None = None,
        legacy_rsa: bool = False,
    ) -> None:
        self.ed25519_key = ed25519_key
        self.rsa_key = rsa_key if legacy_rsa else None

    @classmethod
    def from_settings(
        cls, *, public_key: str | None, legacy_rsa: bool, rsa_pem: str = GHL_LEGACY_RSA_KEY
    ) -> SignatureVerifier:
        """From GHL_WEBHOOK_PUBLIC_KEY (unset: GHL's published key) and GHL_WEBHOOK_LEGACY_RSA
        (raises WebhookKeyError)."""
        ed25519 = load_ed25519_key(public_key or GHL_ED25519_KEY)
        rsa_key = load_rsa_key(rsa_pem) if legacy_rsa else None
        return cls(ed25519_key=ed25519, rsa_key=rsa_key, legacy_rsa=legacy_rsa)

    @property
    def configured(self) -> bool:
        """False when no signature can ever pass (no key, legacy off): every webhook is 401."""
        return self.ed25519_key is not None or self.rsa_key is not None

    def verify(self, body: bytes, headers: Mapping[str, str]) -> Verification:
        ed_sig = _header(headers, ED25519_HEADER)
        rsa_sig = _header(headers, LEGACY_HEADER)
        if ed_sig and self.ed25519_key is not None:
            if _verify_ed25519(self.ed25519_key, body, ed_sig):
                return Verification(True, "ed25519", "valid Ed25519 signature")
            return Verification(False, None, f"{ED25519_HEADER} does not match the body")
        if rsa_sig and self.rsa_key is not None:
            if _verify_rsa(self.rsa_key, body, rsa_sig):
                return Verification(True, "rsa", "valid legacy RSA signature")
            return Verification(False, None, f"{LEGACY_HEADER} does not match the body")
        if rsa_sig and not ed_sig:
            return Verification(False, None, f"{LEGACY_HEADER} (RSA) is retired and not enabled")
        if ed_sig:
            return Verification(False, None, "no Ed25519 key configured (GHL_WEBHOOK_PUBLIC_KEY)")
        return Verification(False, None, "no signature header")


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name) or headers.get(name.lower())
    return value.strip() if value and value.strip() else None


def _verify_ed25519(key: Ed25519PublicKey, body: bytes, signature: str) -> bool:
    try:
        key.verify(_b64(signature), body)
    except (InvalidSignature, ValueError):
        return False
    return True


def _verify_rsa(key: RSAPublicKey, body: bytes, signature: str) -> bool:
    try:
        key.verify(_b64(signature), body, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True


def parse_timestamp(value: object) -> datetime | None:
    """The body's ``timestamp``: ISO 8601 (GHL's "2025-01-28T14:35:00Z") or epoch s/ms."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        seconds = value / 1000 if value > 1e11 else value
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str) and value.strip():
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def freshness_problem(
    timestamp: object,
    *,
    now: datetime,
    tolerance: timedelta = RETRY_HORIZON,
    ahead: timedelta = CLOCK_SKEW,
) -> str | None:
    """Why the body's timestamp is refused (missing, unreadable, older than `tolerance`, more
    than `ahead` in the future), or None.

        freshness_problem("2026-01-01T10:00:00Z", now=ten_past_eleven)   # None: a late retry
    """
    if timestamp is None:
        return "no timestamp"
    moment = parse_timestamp(timestamp)
    if moment is None:
        return "unreadable timestamp"
    if now - moment > tolerance:
        return f"stale: sent {int((now - moment).total_seconds())} s ago"
    if moment - now > ahead:
        return f"from the future: {int((moment - now).total_seconds())} s ahead"
    return None
