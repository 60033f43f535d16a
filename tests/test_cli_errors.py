"""The CLI's error table (`bot.cli.errors.describe`): each failure class gives one line naming
the setting to fix, the documented exit code, and never a secret from a URL."""

from __future__ import annotations

import sqlite3

import pytest
import redis
from sqlalchemy.exc import OperationalError

from bot.cli.errors import ServiceError, describe, remember
from bot.settings import ConfigError, Settings
from ghl.errors import GHLAuthError, GHLConnectionError, GHLNotFoundError, GHLTimeoutError

SECRET = "s3cr3t-pw"


def _db_error(text: str) -> OperationalError:
    return OperationalError("SELECT 1", {}, Exception(text))


CASES = {
    "a missing setting": (ConfigError(["GHL_API_KEY is not set: a token"]), 2, "GHL_API_KEY"),
    "PostgreSQL refused": (_db_error('connection failed: connection to server at "db", port '
                                     "5432 failed: Connection refused"), 3, "DATABASE_URL"),
    "PostgreSQL password": (_db_error("password authentication failed for user u"), 2,
                            "DATABASE_URL"),
    "SQLite folder missing": (sqlite3.OperationalError("unable to open database file"), 2,
                              "DATABASE_URL"),
    "Redis down": (redis.exceptions.ConnectionError("Error 111 connecting"), 3, "REDIS_URL"),
    "Redis password": (redis.exceptions.AuthenticationError("invalid password"), 2,
                       "REDIS_URL"),
    "GHL token": (GHLAuthError("GHL rejected the token (401). Check GHL_API_KEY", status=401),
                  2, "GHL_API_KEY"),
    "GHL location": (GHLNotFoundError("no", status=404, method="GET", path="/locations/x"), 2,
                     "GHL_LOCATION_ID"),
    "GHL down": (GHLConnectionError("could not reach GHL", method="GET", path="/x"), 3,
                 "GHL_BASE_URL"),
    "GHL silent": (GHLTimeoutError("no answer", method="GET", path="/x"), 3, "GHL_BASE_URL"),
    "Slack refused": (ServiceError(setting="SLACK_BOT_TOKEN", problem="refused", fix="copy it",
                                   refused=True), 2, "SLACK_BOT_TOKEN"),
    "Slack down": (ServiceError(setting="SLACK_API_URL", problem="down", fix="check",
                                refused=False), 3, "SLACK_API_URL"),
    "a bug": (KeyError("x"), 1, "DEALFINDER_LOG_LEVEL=DEBUG"),
}  # fmt: skip


@pytest.mark.parametrize("name", list(CASES))
def test_each_failure_is_one_line_naming_the_setting(name: str) -> None:
    remember(
        Settings(
            DATABASE_URL=f"postgresql://u:{SECRET}@db.example:5432/x",
            REDIS_URL=f"redis://:{SECRET}@cache.example:6379/0",
        )
    )
    error, code, setting = CASES[name]
    stop = describe(error)
    assert stop.code == code and setting in stop.line
    assert "\n" not in stop.line and SECRET not in stop.line
    if setting in ("DATABASE_URL", "REDIS_URL") and name.endswith(("down", "refused")):
        assert "db.example:5432" in stop.line or "cache.example:6379" in stop.line
