"""The emulator's webhook signing key pair: a TEST key, published here on purpose.

GHL signs webhooks with its own private key; the emulator cannot, so it signs with this pair
and the product under test is configured with `TEST_PUBLIC_KEY` (GHL_WEBHOOK_PUBLIC_KEY). It
proves nothing outside tests and the sandbox: anyone can sign with it.

    headers = {"X-GHL-Signature": sign(body)}
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

# Derived from a fixed phrase so every run (and every process) has the same pair.
_SEED = hashlib.sha256(b"dealfinder GHL emulator webhook test key - not a secret").digest()
TEST_PRIVATE_KEY = Ed25519PrivateKey.from_private_bytes(_SEED)
TEST_PUBLIC_KEY = base64.b64encode(
    TEST_PRIVATE_KEY.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
).decode()
SIGNATURE_HEADER = "X-GHL-Signature"


def sign(body: bytes, key: Ed25519PrivateKey = TEST_PRIVATE_KEY) -> str:
    """GHL's `X-GHL-Signature`: Ed25519 over the exact body bytes, base64."""
    return base64.b64encode(key.sign(body)).decode()
