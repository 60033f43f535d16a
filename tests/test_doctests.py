"""The ``>>>`` examples in the product's docstrings run, so none of them can go stale.

Only modules whose source holds an example are imported (importing every module would run
Alembic's env.py and start nothing useful); sandbox/ is not product code and is left out.
"""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCT_PACKAGES = ("bot", "ghl", "matching", "services", "store")


def modules_with_examples() -> list[str]:
    """Dotted names of the product modules whose source has a ``>>>`` example."""
    return sorted(
        ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for package in PRODUCT_PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if ">>>" in path.read_text(encoding="utf-8")
    )


def test_the_product_has_examples_to_run() -> None:
    # Guards the test below against running nothing (a moved package, a wrong root).
    assert "store.types" in modules_with_examples()


@pytest.mark.parametrize("name", modules_with_examples())
def test_docstring_examples_run(name: str) -> None:
    module = importlib.import_module(name.removesuffix(".__init__"))
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.attempted > 0, f"{name} mentions '>>>' but doctest found no example"
    assert result.failed == 0, f"{result.failed} example(s) in {name} failed (output above)"
