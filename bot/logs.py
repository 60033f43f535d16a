"""Logging for every entry point: secrets masked always, one JSON object per line if asked."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from ghl.redact import RedactingFilter


class JSONFormatter(logging.Formatter):
    """One JSON object per line, for log shippers."""

    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_text:
            payload["exc"] = record.exc_text
        elif record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, ensure_ascii=False)


# Libraries whose warnings are about their own set-up, not ours to act on (slack_sdk's "429,
# retrying", bolt's "token will be unused"): kept for DEALFINDER_LOG_LEVEL=DEBUG, not shown
# in normal output. Their errors still show.
LIBRARY_LOGGERS = ("slack_sdk", "slack_bolt")


class DemoteFilter(logging.Filter):
    """Show the named loggers' records below their threshold only when the level is DEBUG.

    Also used by a command that prints a summary itself, so the service's own log line of
    the same summary is not printed a second time (`demote("dealfinder.buyers")`).
    """

    def __init__(self, thresholds: dict[str, int]) -> None:
        super().__init__()
        self.thresholds = dict(thresholds)
        self.show_debug = False

    def filter(self, record: logging.LogRecord) -> bool:
        if self.show_debug:
            return True
        # Not rewritten: other handlers (a log shipper, pytest's caplog) see the record as is.
        return record.levelno >= self._threshold(record.name)

    def _threshold(self, name: str) -> int:
        found = [
            level
            for one, level in self.thresholds.items()
            if name == one or name.startswith(one + ".")
        ]
        return max(found, default=logging.NOTSET)


def demote(*names: str, below: int = logging.WARNING) -> None:
    """Show these loggers' records below `below` (default: their INFO) only at DEBUG level."""
    for handler in logging.getLogger().handlers:
        for found in handler.filters:
            if isinstance(found, DemoteFilter):
                found.thresholds.update(dict.fromkeys(names, below))


def configure_logging(*, level: str = "INFO", json_lines: bool = False) -> None:
    """Install one stderr handler whose filter masks secrets before any formatter sees them."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    demoted = DemoteFilter(dict.fromkeys(LIBRARY_LOGGERS, logging.ERROR))
    demoted.show_debug = logging.getLevelName(level.upper()) == logging.DEBUG
    handler.addFilter(demoted)
    handler.setFormatter(
        JSONFormatter()
        if json_lines
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("urllib3", "werkzeug", "apscheduler", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
