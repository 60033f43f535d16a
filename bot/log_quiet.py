"""Library chatter kept out of normal output and kept in debug logs.

Two messages confused people in normal runs (issue 13):
- slack_sdk logs "A retry handler found: RateLimitErrorRetryHandler ... 429" at INFO for every
  rate-limited call it retries; a retried 429 is routine (Slack's per-channel limit), and the
  product's own logs say when a post finally fails.
- bolt warns "As you gave `client` as well, `token` will be unused." whenever SLACK_BOT_TOKEN is
  in the environment, because bolt reads that variable itself even when the app is handed a
  ready client (ours, with retry handlers) — as the product always does.

Both are rewritten to DEBUG: with DEALFINDER_LOG_LEVEL=DEBUG they still show, as DEBUG lines.
"""

from __future__ import annotations

import logging

# (logger name prefix, text in the message) of records that are routine, not warnings.
ROUTINE = (
    ("slack_sdk", "A retry handler found"),
    ("slack_sdk", "Going to retry the same request"),
    ("slack_bolt", "`token` will be unused"),
)


def is_routine(record: logging.LogRecord) -> bool:
    """Whether this record is library chatter that belongs in debug logs only."""
    message = record.getMessage()
    return any(record.name.startswith(prefix) and text in message for prefix, text in ROUTINE)


class DemoteRoutine(logging.Filter):
    """A handler filter: routine library records become DEBUG records, shown only when the
    root logger is at DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not is_routine(record):
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger().isEnabledFor(logging.DEBUG)
