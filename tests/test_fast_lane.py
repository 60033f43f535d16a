"""The fast lane (``pytest -m "not slow"``) still exercises every package of the product.

Marking a file slow takes it out of everyday runs; this keeps that from quietly emptying the
lane for a package. Read from the test files' source (no collection): a file is in the fast
lane when it is not slow as a whole (``pytestmark``) and has a test function not marked slow;
the packages it imports are the ones it exercises.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
PACKAGES = (
    "ghl",
    "matching",
    "matching.notify",
    "store",
    "services",
    "services.intake",
    "services.notify",
    "services.optout",
    "services.pipeline",
    "bot",
    "bot.cli",
    "bot.ops",
    "bot.slack",
    "bot.web",
)


def _names_slow(node: ast.AST) -> bool:
    """Whether a decorator or ``pytestmark`` value mentions ``pytest.mark.slow``."""
    return any(isinstance(n, ast.Attribute) and n.attr == "slow" for n in ast.walk(node))


def _whole_file_slow(tree: ast.Module) -> bool:
    return any(
        isinstance(stmt, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in stmt.targets)
        and _names_slow(stmt.value)
        for stmt in tree.body
    )


def _has_fast_test(tree: ast.Module) -> bool:
    tests = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test")
    ]
    return any(not any(_names_slow(d) for d in test.decorator_list) for test in tests)


def _imported(tree: ast.Module) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return names


@cache
def _trees() -> dict[str, ast.Module]:
    """Every test file's syntax tree, by its path under tests/ (parsed once per run)."""
    return {
        str(path.relative_to(TESTS)): ast.parse(path.read_text(encoding="utf-8"))
        for path in sorted(TESTS.rglob("test_*.py"))
    }


def lanes() -> tuple[dict[str, set[str]], list[str]]:
    """The fast-lane files with what each imports, and the files that are slow as a whole."""
    fast, slow = {}, []
    for name, tree in _trees().items():
        if _whole_file_slow(tree):
            slow.append(name)
        elif _has_fast_test(tree):
            fast[name] = _imported(tree)
    return fast, slow


def _postgres_tests(tree: ast.Module) -> list[str]:
    """Fast tests about PostgreSQL itself: marked ``postgres`` or taking a PostgreSQL fixture."""
    return [
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef)
        and node.name.startswith("test")
        and not any(_names_slow(d) for d in node.decorator_list)
        and (
            any(
                isinstance(n, ast.Attribute) and n.attr == "postgres"
                for d in node.decorator_list
                for n in ast.walk(d)
            )
            or {"pg_engine", "pg_url"} & {arg.arg for arg in node.args.args}
        )
    ]


@pytest.mark.slow  # over 0.5 s: the full run only (README, 'fast lane')
def test_the_check_sees_both_lanes() -> None:
    # Guards the test below against reading nothing: the soak is slow, the grammar is fast.
    fast, slow = lanes()
    assert "e2e/test_soak.py" in slow
    assert "test_bot_grammar.py" in fast


def test_every_package_has_tests_in_the_fast_lane() -> None:
    fast, _ = lanes()
    uncovered = [
        package
        for package in PACKAGES
        if not any(
            name == package or name.startswith(package + ".")
            for imported in fast.values()
            for name in imported
        )
    ]
    assert uncovered == [], f"no fast test imports from {uncovered}: unmark one of their tests"


def test_postgresql_itself_stays_in_the_fast_lane() -> None:
    # Two-engine tests run on PostgreSQL in the full run only; what is PostgreSQL's own
    # (advisory locks, keepalives, a bare URL) must still be checked every day.
    fast, _ = lanes()
    found = [name for name in fast if _postgres_tests(_trees()[name])]
    assert "test_store_locks.py" in found
