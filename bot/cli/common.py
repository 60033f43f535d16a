"""Shared pieces of the `dealfinder` subcommands: consoles, exit codes, error handling.

Subcommand modules import from here (never from `bot.cli.main`, which imports them to register
their commands), so any of them can be imported first. What an error prints and which exit
code it gives is decided in one table, `bot.cli.errors`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from rich.console import Console

from bot.cli.errors import (
    _PASS_THROUGH,
    EXIT_CONFIG,
    EXIT_FAILED,
    EXIT_UNREACHABLE,
    remember,
    stop_with,
)
from bot.logs import configure_logging
from bot.settings import Settings, load_settings

out = Console()
err = Console(stderr=True)

EXIT_GHL = EXIT_UNREACHABLE  # the name used before every service had exit code 3
__all__ = ["EXIT_CONFIG", "EXIT_FAILED", "EXIT_GHL", "EXIT_UNREACHABLE", "err", "friendly", "out"]


def friendly(func: Callable[..., Any]) -> Callable[..., Any]:
    """Errors a user can act on as one line and an exit code (the table in bot.cli.errors).

    The `dealfinder` group applies the same table to every command; this decorator keeps a
    command friendly when it is called outside the group (scripts, other apps).
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except _PASS_THROUGH:
            raise
        except Exception as exc:
            raise stop_with(exc) from None

    return wrapper


def settings_from_env() -> Settings:
    """The process's Settings (read once), with logging set up from them."""
    settings = remember(load_settings())
    configure_logging(level=settings.log_level, json_lines=settings.log_json)
    return settings
