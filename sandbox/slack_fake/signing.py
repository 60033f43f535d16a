"""Slack request signing: what Slack puts on every request it sends to an app.

Signature = "v0=" + hex HMAC-SHA256(signing secret, "v0:{timestamp}:{raw body}"), sent in
`X-Slack-Signature` with the timestamp in `X-Slack-Request-Timestamp`; receivers refuse
requests more than 5 minutes old (https://api.slack.com/authentication/verifying-requests-from-slack).

    headers = sign(signing_secret=secret, body=b"command=%2Fdeal", timestamp=int(time.time()))
"""

from __future__ import annotations

import hashlib
import hmac

MAX_AGE_SECONDS = 5 * 60


def signature(*, signing_secret: str, body: bytes, timestamp: int) -> str:
    """The `v0=` signature of a raw request body sent at `timestamp`."""
    base = b"v0:" + str(timestamp).encode() + b":" + body
    digest = hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()
    return "v0=" + digest


def sign(*, signing_secret: str, body: bytes, timestamp: int) -> dict[str, str]:
    """The two headers Slack sends with a request body."""
    return {
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": signature(
            signing_secret=signing_secret, body=body, timestamp=timestamp
        ),
    }


def verify(*, signing_secret: str, body: bytes, timestamp: str, received: str, now: float) -> bool:
    """Whether a request is Slack's: signature matches and it is at most 5 minutes old."""
    try:
        sent_at = int(timestamp)
    except ValueError:
        return False
    if abs(now - sent_at) > MAX_AGE_SECONDS:
        return False
    expected = signature(signing_secret=signing_secret, body=body, timestamp=sent_at)
    return hmac.compare_digest(expected, received)
