"""The emoji shortcodes the product writes into Slack, found by reading its source.

Every string literal in the product's packages is searched for `:name:` standing on its own
(not inside a word, a key like "slack:deal:{id}", or a time like "08:00-20:00").
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The product's code; the Slack fake and the sandbox page are test stand-ins, not the product.
PRODUCT = ("bot", "services", "store", "matching", "ghl")
SKIP = ("sandbox/slack_fake", "sandbox", "sandbox/ghl_emulator")
SHORTCODE = re.compile(r"(?<![\w:]):([a-z+][a-z0-9_+-]*):(?![\w:])")
# Literals that look like shortcodes and are not emoji: SQLite's in-memory database name.
NOT_EMOJI = {"memory"}


def product_files() -> list[Path]:
    found = []
    for package in PRODUCT:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if not relative.startswith(SKIP):
                found.append(path)
    return found


def shortcodes_in(source: str) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            names.update(SHORTCODE.findall(node.value))
    return names - NOT_EMOJI


def product_shortcodes() -> dict[str, str]:
    """Each shortcode the product uses, with one file that uses it."""
    used: dict[str, str] = {}
    for path in product_files():
        for name in shortcodes_in(path.read_text(encoding="utf-8")):
            used.setdefault(name, path.relative_to(ROOT).as_posix())
    return used
