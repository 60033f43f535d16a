"""Every setting is documented where people look for it: the README's settings table and
`.env.example` name exactly the environment variables `bot.settings.Settings` reads."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import AliasChoices

from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def settings_names() -> set[str]:
    """The environment variable of each Settings field (the first of several aliases)."""
    names = set()
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            alias = alias.choices[0]
        assert isinstance(alias, str), f"{name} has no environment variable"
        names.add(alias)
    return names


def readme_table_names(root: Path = ROOT) -> set[str]:
    """The first column of the table under the README's `## Settings` heading."""
    text = (root / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \|", section, flags=re.MULTILINE))


def env_example_names(root: Path = ROOT) -> set[str]:
    """Names set in `.env.example`, commented out (`# NAME=`) or not."""
    text = (root / ".env.example").read_text(encoding="utf-8")
    return set(re.findall(r"^(?:# )?([A-Z][A-Z0-9_]+)=", text, flags=re.MULTILINE))


def test_the_readme_table_names_every_setting_and_no_other():
    documented = readme_table_names()
    assert len(documented) > 30  # the table was found and read
    assert documented == settings_names()


def test_env_example_names_every_setting_and_no_other():
    assert env_example_names() == settings_names()


def test_the_readers_see_a_changed_list(tmp_path):
    """The readers fail on a setting left out (so the checks above can fail)."""
    readme = "# x\n\n## Settings\n\n| setting | default | meaning |\n|---|---|---|\n"
    readme += "| `GHL_API_KEY` | — | token |\n\n## Next\n\n| `NOT_A_SETTING` | x | y |\n"
    (tmp_path / "README.md").write_text(readme, encoding="utf-8")
    (tmp_path / ".env.example").write_text("GHL_API_KEY=\n# REDIS_URL=redis://x\n# a note\n")
    assert readme_table_names(tmp_path) == {"GHL_API_KEY"}
    assert env_example_names(tmp_path) == {"GHL_API_KEY", "REDIS_URL"}
