"""The `dealfinder` command given bad arguments, as a user runs it (real processes): an unknown
file type, a missing file, a directory, files that are not JSON or not text, missing and
unknown options. Each ends with a non-zero exit code and a specific message, never a traceback.

The processes run side by side (one fixture for the module), so the sweep costs about one
start-up of the command.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # every CLI command in a subprocess

EXE = Path(sys.executable).with_name("dealfinder")


@dataclass(frozen=True)
class Case:
    args: tuple[str, ...]
    exit_code: int
    says: tuple[str, ...]
    dry_run: bool = False


CASES = {
    "unknown file type": Case(("import", "deals.xlsx", "--dry-run"), 2,
                              ("unknown file type '.xlsx'; use .json, .jsonl or .csv",)),
    "missing file": Case(("import", "missing.json", "--dry-run"), 2,
                         ("cannot read missing.json: No such file or directory",)),
    "directory": Case(("import", "folder.json", "--dry-run"), 2,
                      ("cannot read folder.json: Is a directory",)),
    "not JSON": Case(("import", "broken.json", "--dry-run"), 1,
                     ("bad record line 1: not valid JSON at line 1",)),
    "not text": Case(("import", "binary.csv", "--dry-run"), 1,
                     ("can't decode byte 0xff", "the rest of the file was not read")),
    "no file": Case(("import", "--dry-run"), 2, ("Missing argument 'file'",)),
    "unknown option": Case(("import", "deals.json", "--bogus"), 2, ("No such option: --bogus",)),
    "match a directory": Case(("match", "--file", "folder.json"), 1,
                              ("Cannot read folder.json", "Is a directory"), dry_run=True),
    "notify without an id": Case(("notify", "--mls-id"), 2,
                                 ("Option '--mls-id' requires an argument",)),
    "unknown command": Case(("frobnicate",), 2, ("No such command 'frobnicate'",)),
}  # fmt: skip


@pytest.fixture(scope="module")
def answers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[int, str]]:
    folder = tmp_path_factory.mktemp("cli")
    (folder / "deals.xlsx").write_bytes(b"PK\x03\x04 not a spreadsheet we read")
    (folder / "folder.json").mkdir()
    (folder / "broken.json").write_text("{not json", encoding="utf-8")
    (folder / "binary.csv").write_bytes(b"mls_id,city\n\xff\xfe\x00" + bytes(range(256)))
    (folder / "deals.json").write_text("[]", encoding="utf-8")
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GHL_", "SLACK_", "DEALFINDER_", "DATABASE_URL", "REDIS_URL"))
    }
    base |= {"COLUMNS": "200", "DEALFINDER_LOG_LEVEL": "WARNING"}  # one message, one line
    procs = {
        name: subprocess.Popen(
            [str(EXE), *case.args], cwd=folder, text=True, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, env=base | ({"DEALFINDER_DRY_RUN": "1"} if case.dry_run
                                                  else {}),
        )
        for name, case in CASES.items()
    }  # fmt: skip
    found = {}
    for name, proc in procs.items():
        output, _ = proc.communicate(timeout=120)
        found[name] = (proc.returncode, output)
    return found


@pytest.mark.parametrize("name", list(CASES))
def test_a_bad_argument_ends_with_a_message_and_an_exit_code(answers, name: str) -> None:
    case = CASES[name]
    code, output = answers[name]
    flat = " ".join(output.replace("│", " ").split())
    assert code == case.exit_code, output
    for words in case.says:
        assert words in flat, output
    assert "Traceback" not in output and 'File "' not in output, output
