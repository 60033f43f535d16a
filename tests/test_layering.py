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


# -- inside `bot/`: one direction, from the plain parts up to the command line ----------------
# settings and logs < slack < web < ops < the composition (runtime, oauth/location wiring) <
# cli. A module imports its own layer or lower ones; upward imports are the exceptions below,
# each inside a function and each with its reason.
BOT_LAYERS = {
    "bot.settings": 0, "bot.logs": 0, "bot.slack": 1, "bot.web": 2, "bot.ops": 3,
    "bot.runtime": 4, "bot.oauth_wiring": 4, "bot.location_wiring": 4, "bot.cli": 5,
}  # fmt: skip
UPWARD_ALLOWED = {
    # The settings check the intake API's token format where every setting is checked.
    ("bot/settings.py", "bot.web"),
    # Wiring one part alone (tests) loads the mapping and rules the way the runtime does.
    ("bot/slack/app.py", "bot.runtime"),
    ("bot/ops/wiring.py", "bot.runtime"),
    ("bot/ops/wiring.py", "bot.oauth_wiring"),
    # Another location's Slack services are composed on first use (issue 14).
    ("bot/slack/locations.py", "bot.location_wiring"),
}
# Product code imports the emulator, the Slack fake and the sandbox page only at the
# documented dry-run and sandbox entry points.
SANDBOX_DOORS = {"ghl/dryrun.py", "bot/cli/demo.py", "bot/cli/main.py"}


def bot_layer(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "bot" or len(parts) < 2:
        return None
    return f"bot.{parts[1]}" if f"bot.{parts[1]}" in BOT_LAYERS else None


def imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found |= {f"{node.module}.{alias.name}" for alias in node.names} | {node.module}
    return found


def test_bots_packages_import_one_way() -> None:
    files = sorted((ROOT / "bot").rglob("*.py"))
    assert {bot_layer(".".join(p.relative_to(ROOT).with_suffix("").parts)) for p in files} >= set(
        BOT_LAYERS
    )
    upward = set()
    for path in files:
        rel = str(path.relative_to(ROOT))
        own = bot_layer(".".join(path.relative_to(ROOT).with_suffix("").parts))
        if own is None:
            continue
        for module in imported_modules(path):
            other = bot_layer(module)
            if other is not None and BOT_LAYERS[other] > BOT_LAYERS[own]:
                upward.add((rel, other))
    assert upward == UPWARD_ALLOWED


def test_product_code_reaches_the_fakes_only_through_the_sandbox_doors() -> None:
    reaching = {
        str(path.relative_to(ROOT))
        for package in sorted(FIRST_PARTY)
        for path in (ROOT / package).rglob("*.py")
        if "sandbox" in imported_packages(path)
    }
    assert reaching == SANDBOX_DOORS


def test_the_fakes_are_apart_from_product_code() -> None:
    for fake in ("ghl_emulator", "slack_fake"):
        assert (ROOT / "sandbox" / fake / "__init__.py").is_file()
    for package in FIRST_PARTY:
        assert not list((ROOT / package).rglob("slack_fake")), package
        assert not list((ROOT / package).rglob("*emulator*")), package
