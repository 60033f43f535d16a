"""What a `dealfinder` command says when a setting or a service stops it: one line, one code.

Exit codes (README, "The `dealfinder` command"; `dealfinder --help`):
  1  the work itself failed (a bad record, a failed check, an unknown outbox id)
  2  configuration: a setting is missing or malformed, or a service refused its credentials
  3  a service is unreachable or failing: the database, Redis, Slack, GHL

One table (`_RULES`) maps exception classes to that line and code; `ErrorMappingGroup`, the
app's command group, applies it to every command, so a command needs no try/except of its own.
The line always names the setting to check and how to fix it, and never a secret: URLs are
shown as host and port only.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import typer
from typer.core import TyperGroup

if TYPE_CHECKING:
    # Typer vendors Click: its groups' `invoke` takes that Click's context, not typer.Context.
    from typer._click.core import Context as ClickContext

from bot.settings import ConfigError, Settings
from ghl.errors import (
    GHLAuthError,
    GHLConnectionError,
    GHLError,
    GHLNotFoundError,
    GHLPermissionError,
    GHLTimeoutError,
)
from ghl.redact import redact

log = logging.getLogger("dealfinder.cli")

EXIT_FAILED = 1
EXIT_CONFIG = 2
EXIT_UNREACHABLE = 3

EXIT_CODES_HELP = (
    "Exit codes: 0 done; 1 the work failed (a bad record, a failed check); "
    "2 a setting is missing or malformed, or a service refused its credentials; "
    "3 a service is unreachable (database, Redis, Slack, GHL)."
)


@dataclass(frozen=True)
class Stop:
    """How a command ends: the one line for stderr and the exit code."""

    code: int
    line: str


class ServiceError(Exception):
    """A service checked at start refused us or could not be reached; names the setting."""

    def __init__(self, *, setting: str, problem: str, fix: str, refused: bool) -> None:
        self.setting = setting
        self.refused = refused
        super().__init__(f"{setting}: {problem}; {fix}")


def where(url: str | None) -> str:
    """host:port of a URL, without user, password, path or query (they may hold secrets)."""
    if not url:
        return "?"
    try:
        parts = urlsplit(url)
        host = parts.hostname or parts.path or "?"
        return f"{host}:{parts.port}" if parts.port else host
    except ValueError:
        return "?"


def _one_line(text: str) -> str:
    return " ".join(redact(text).split())


def _config(exc: ConfigError, _: Settings | None) -> Stop:
    problems = "; ".join(_one_line(p) for p in exc.problems)
    return Stop(
        EXIT_CONFIG,
        f"Configuration problem: {problems} (set it in the environment or "
        "a .env file; see the README's settings table)",
    )


def _service(exc: ServiceError, _: Settings | None) -> Stop:
    return Stop(EXIT_CONFIG if exc.refused else EXIT_UNREACHABLE, _one_line(str(exc)))


def _ghl_auth(exc: GHLError, _: Settings | None) -> Stop:
    # GHL's own text already names GHL_API_KEY (401) or GHL_LOCATION_ID (403) and the fix.
    return Stop(EXIT_CONFIG, _one_line(str(exc)))


def _ghl_not_found(exc: GHLNotFoundError, s: Settings | None) -> Stop:
    if (exc.path or "").startswith("/locations/"):
        location = s.ghl_location_id if s else "?"
        return Stop(
            EXIT_CONFIG,
            f"GHL_LOCATION_ID: GHL has no location {location!r} for this "
            "token; copy the id from the URL /location/<id>/ in GHL",
        )
    return _ghl_other(exc, s)


def _ghl_unreachable(exc: GHLConnectionError, s: Settings | None) -> Stop:
    host = where(s.ghl_base_url if s else None)
    call = f"{exc.method} {exc.path}" if exc.method and exc.path else "a GHL call"
    if isinstance(exc, GHLTimeoutError):
        return Stop(
            EXIT_UNREACHABLE,
            f"GHL_BASE_URL: GHL at {host} did not answer in time ({call}); check GHL's status "
            "and the network, or raise GHL_TIMEOUT_SECONDS",
        )
    return Stop(
        EXIT_UNREACHABLE,
        f"GHL_BASE_URL: GHL at {host} cannot be reached ({call}: no connection); check the "
        "network and GHL_BASE_URL",
    )


def _ghl_other(exc: GHLError, _: Settings | None) -> Stop:
    return Stop(
        EXIT_UNREACHABLE,
        f"GHL call failed: {_one_line(str(exc))} (`dealfinder health` "
        "checks GHL_BASE_URL, GHL_API_KEY and GHL_LOCATION_ID)",
    )


def _database(exc: Exception, s: Settings | None) -> Stop:
    url = s.database_url if s else ""
    reason = _one_line(str(getattr(exc, "orig", None) or exc)).split(" (Background on")[0]
    if url.startswith("sqlite") or isinstance(getattr(exc, "orig", exc), sqlite3.Error):
        path = s.sqlite_path() if s else None
        if "unable to open database file" in reason:
            return Stop(
                EXIT_CONFIG,
                f"DATABASE_URL: cannot open the SQLite file {path}: its "
                "folder does not exist or is not writable; create the folder or point "
                "DATABASE_URL at another file",
            )
        return Stop(
            EXIT_UNREACHABLE,
            f"DATABASE_URL: the SQLite file {path} failed ({reason}); check the file and the disk",
        )
    host = where(url.replace("+psycopg", ""))
    if any(m in reason for m in ("password authentication", "does not exist", "no password")):
        return Stop(
            EXIT_CONFIG,
            f"DATABASE_URL: PostgreSQL at {host} refused the connection "
            f"({_strip_url(reason)}); fix the user, password or database name in "
            "DATABASE_URL",
        )
    return Stop(
        EXIT_UNREACHABLE,
        f"DATABASE_URL: PostgreSQL at {host} cannot be reached "
        f"({_strip_url(reason)}); start it, or fix the host and port in DATABASE_URL",
    )


def _strip_url(reason: str) -> str:
    """psycopg repeats the host; keep its first sentence, which says what failed."""
    return reason.split("\tIs the server")[0].split(" Is the server")[0].strip()[:200]


def _redis(exc: Exception, s: Settings | None) -> Stop:
    import redis

    host = where(s.redis_url if s else None)
    if isinstance(exc, redis.AuthenticationError | redis.exceptions.AuthorizationError):
        return Stop(
            EXIT_CONFIG,
            f"REDIS_URL: Redis at {host} refused the credentials; fix the "
            "user and password in REDIS_URL",
        )
    reason = _one_line(str(exc))[:200]
    return Stop(
        EXIT_UNREACHABLE,
        f"REDIS_URL: Redis at {host} cannot be reached ({reason}); "
        "start it, fix REDIS_URL, or unset it to keep the rate-limit window in the "
        "database",
    )


def _unexpected(exc: Exception, _: Settings | None) -> Stop:
    log.debug("unexpected error", exc_info=exc)
    return Stop(
        EXIT_FAILED,
        f"unexpected error: {type(exc).__name__}: {_one_line(str(exc))[:300]}"
        " (a bug: run again with DEALFINDER_LOG_LEVEL=DEBUG to see where, and report "
        "it)",
    )


Rule = tuple[Callable[[], tuple[type[BaseException], ...]], Callable[..., Stop]]


def _classes(*names: str) -> Callable[[], tuple[type[BaseException], ...]]:
    """Exception classes by dotted name, imported only when an error is being explained."""

    def load() -> tuple[type[BaseException], ...]:
        import importlib

        found = []
        for name in names:
            module, _, attr = name.rpartition(".")
            try:
                found.append(getattr(importlib.import_module(module), attr))
            except (ImportError, AttributeError):
                continue
        return tuple(found)

    return load


# First match wins: subclasses before their bases.
_RULES: list[Rule] = [
    (lambda: (ConfigError,), _config),
    (lambda: (ServiceError,), _service),
    (lambda: (GHLAuthError, GHLPermissionError), _ghl_auth),
    (lambda: (GHLNotFoundError,), _ghl_not_found),
    (lambda: (GHLConnectionError,), _ghl_unreachable),
    (lambda: (GHLError,), _ghl_other),
    (
        _classes(
            "sqlalchemy.exc.OperationalError",
            "sqlalchemy.exc.InterfaceError",
            "sqlite3.OperationalError",  # raised before SQLAlchemy wraps it (WAL switch)
            "psycopg.OperationalError",
        ),
        _database,
    ),
    (_classes("redis.exceptions.RedisError"), _redis),
    (lambda: (Exception,), _unexpected),
]

_current: list[Settings] = []


def remember(settings: Settings) -> Settings:
    """Keep the settings this process started with, so an error can name hosts (no secrets)."""
    _current[:] = [settings]
    return settings


def describe(exc: Exception) -> Stop:
    """The line and exit code for `exc` (an unknown one is a bug, reported in one line too)."""
    settings = _current[0] if _current else None
    for classes, explain in _RULES:
        if isinstance(exc, classes()):
            return explain(exc, settings)
    return _unexpected(exc, settings)  # pragma: no cover - Exception matches above


def stop_with(exc: Exception) -> typer.Exit:
    """Print `exc`'s one line on stderr; the `typer.Exit` to raise with its code."""
    from bot.cli.common import err

    stop = describe(exc)
    err.print(stop.line, markup=False, highlight=False, soft_wrap=True)
    return typer.Exit(stop.code)


_PASS_THROUGH = (typer.Exit, typer.Abort, typer.TyperException, KeyboardInterrupt)


class ErrorMappingGroup(TyperGroup):
    """The `dealfinder` command group: every command's errors go through `describe` once."""

    def invoke(self, ctx: ClickContext) -> Any:
        try:
            return super().invoke(ctx)
        except _PASS_THROUGH:
            raise
        except Exception as exc:
            raise stop_with(exc) from None
