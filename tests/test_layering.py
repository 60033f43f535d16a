"""The packages depend one way: `ghl`, `matching` and `store` stand alone, `services` builds
on them without knowing Slack, and only `bot` talks to Slack. Read from the source (imports,
also those made inside functions), so a shortcut across the layers fails here first."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIRST_PARTY = {"ghl", "matching", "store", "services", "bot"}
SLACK = {"slack_bolt", "slack_sdk"}
ALLOWED = {
    "ghl": set(),
    "matching": set(),
    "store": set(),
    "services": {"ghl", "matching", "store"},
}


def imported_packages(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_a_lower_layer_imports_only_what_it_stands_on(package: str) -> None:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files
    crossings = {
        str(path.relative_to(ROOT)): sorted(wrong)
        for path in files
        if (
            wrong := (imported_packages(path) & (FIRST_PARTY | SLACK))
            - ALLOWED[package]
            - {package}
        )
    }
    assert crossings == {}


def test_the_check_sees_imports_inside_functions(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "def f():\n    from bot.slack.app import create_app\n    import slack_sdk.web\n"
    )
    assert imported_packages(module) == {"bot", "slack_sdk"}
