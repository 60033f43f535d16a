"""Keep secrets out of every log line and exception text.

Known secrets are registered once (`register_secret(token)`) when a client is built; a logging
filter and `redact()` replace them, and any bearer/Slack/GHL token shape, with a mask.

    register_secret(settings.ghl_api_key.get_secret_value())
    logging.getLogger().addFilter(RedactingFilter())
"""

from __future__ import annotations

import logging
import re
import threading

MASK = "***"
_lock = threading.Lock()
_secrets: set[str] = set()

# Token shapes that must never be printed even when not registered (another process's token,
# a token pasted into a Slack command): bearer headers, Slack tokens, GHL private integration
# tokens (pit-<uuid>) and JWTs.
_PATTERNS = [
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"xox[abposr]-[A-Za-z0-9-]{6,}"),
    re.compile(r"xapp-[A-Za-z0-9-]{6,}"),
    re.compile(r"pit-[0-9a-fA-F-]{16,}"),
    re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
]


def register_secret(secret: str | None) -> None:
    """Remember a secret value so it is masked wherever it appears. Short values are ignored."""
    if secret and len(secret) >= 6:
        with _lock:
            _secrets.add(secret)


def redact(text: str) -> str:
    """Return `text` with registered secrets and token-shaped strings masked."""
    if not text:
        return text
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        text = text.replace(secret, MASK)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + MASK, text)
    return text


class RedactingFilter(logging.Filter):
    """A logging filter that masks secrets in the formatted message and exception text."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            # Format the traceback now, masked, so handlers print the clean text.
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text = redact(text)
            record.exc_info = None
        return True
