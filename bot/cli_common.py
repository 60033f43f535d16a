"""Shared pieces of the `dealfinder` subcommands: consoles, exit codes, error handling.

Subcommand modules import from here (never from `bot.cli`, which imports them to register
their commands), so any of them can be imported first.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import typer
from rich.console import Console

from bot.logs import configure_logging
from bot.settings import ConfigError, Settings, load_settings
from ghl.errors import GHLAuthError, GHLError, GHLPermissionError

out = Console()
err = Console(stderr=True)

EXIT_CONFIG = 2
EXIT_GHL = 3
EXIT_FAILED = 1


def friendly(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the errors a user can act on into a message and an exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ConfigError as exc:
            err.print(f"[red]{exc}[/red]", markup=True, highlight=False)
            err.print(
                "Set these in the environment or a .env file; see the README's settings table."
            )
            raise typer.Exit(EXIT_CONFIG) from None
        except (GHLAuthError, GHLPermissionError) as exc:
            err.print(f"[red]{exc}[/red]", highlight=False)
            raise typer.Exit(EXIT_CONFIG) from None
        except GHLError as exc:
            err.print(f"[red]GHL call failed:[/red] {exc}", highlight=False)
            raise typer.Exit(EXIT_GHL) from None

    return wrapper


def settings_from_env() -> Settings:
    settings = load_settings()
    configure_logging(level=settings.log_level, json_lines=settings.log_json)
    return settings
