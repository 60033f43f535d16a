"""The README's data recipe, run for real: back up a store with the documented command while
it is open, restore it, and the store opens and migrates; an older schema is brought up to
date when a command starts; the stored GHL tokens need the same DEALFINDER_SECRET_KEY."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from alembic import command
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from cryptography.fernet import Fernet
from sqlalchemy import inspect

from store.db import alembic_config, make_engine, migrate, session_scope
from store.deals import get_property, upsert_property
from store.oauth_tokens import TokenVault

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)

# The commands exactly as the README gives them (the test fails if the README changes them).
SQLITE_BACKUP = "sqlite3 dealfinder.db \".backup 'dealfinder-backup.db'\""
SQLITE_RESTORE = "sqlite3 dealfinder.db \".restore 'dealfinder-backup.db'\""
PG_BACKUP = 'pg_dump --format=custom --file=dealfinder.dump "$DATABASE_URL"'
PG_RESTORE = 'pg_restore --clean --if-exists --no-owner --dbname="$DATABASE_URL" dealfinder.dump'


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str | None
    expires_at: float
    scope: str


def _shell(line: str, *, cwd: Path, env: dict[str, str] | None = None) -> None:
    assert line in README, f"the README no longer says: {line}"
    done = subprocess.run(
        ["bash", "-c", line], cwd=cwd, env=os.environ | (env or {}), capture_output=True,
        text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def _head() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _revision(engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _fill(engine, key: str) -> None:
    with session_scope(engine) as session:
        upsert_property(session=session, mls_id="BK-1", location_id="loc_1",
                        data={"address": "1 Backup Rd"}, deal_score=91, now=NOW)  # fmt: skip
    TokenVault(engine, key).save_grant(
        key="loc_1", kind="location", location_id="loc_1", now=NOW,
        tokens=Tokens("access-1", "refresh-1", NOW.timestamp() + 3600, "contacts.readonly"),
    )  # fmt: skip


def _check_restored(url: str, key: str) -> None:
    engine = make_engine(url)
    try:
        migrate(engine)  # what every command does at start
        assert _revision(engine) == _head()
        with session_scope(engine, readonly=True) as session:
            row = get_property(session=session, mls_id="BK-1")
            assert row is not None and row.data["address"] == "1 Backup Rd"
        grant = TokenVault(engine, key).read("loc_1")
        assert grant is not None and grant.access_token == "access-1"
        # Another key cannot read them: losing the key means installing the app again.
        with pytest.raises(ValueError, match="install the app again"):
            TokenVault(engine, Fernet.generate_key().decode()).read("loc_1")
    finally:
        engine.dispose()


def test_sqlite_backup_while_open_then_restore(tmp_path):
    live, restored = tmp_path / "live", tmp_path / "restored"
    live.mkdir()
    restored.mkdir()
    key = Fernet.generate_key().decode()
    engine = make_engine(f"sqlite:///{live / 'dealfinder.db'}")
    migrate(engine)
    _fill(engine, key)
    with session_scope(engine, readonly=True):  # the service is running: a reader is open
        _shell(SQLITE_BACKUP, cwd=live)
    engine.dispose()
    (live / "dealfinder-backup.db").rename(restored / "dealfinder-backup.db")
    _shell(SQLITE_RESTORE, cwd=restored)
    _check_restored(f"sqlite:///{restored / 'dealfinder.db'}", key)


@pytest.mark.slow  # pg_dump and pg_restore
@pytest.mark.postgres
def test_postgresql_pg_dump_then_pg_restore(tmp_path, pg_server):
    """A database of its own (pg_dump works per database), dumped, emptied, restored."""
    name = f"dfbackup_{secrets.token_hex(4)}"
    admin = "postgresql://postgres@127.0.0.1:5432/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    url = f"postgresql://postgres@127.0.0.1:5432/{name}"
    key = Fernet.generate_key().decode()
    try:
        engine = make_engine(url)
        migrate(engine)
        _fill(engine, key)
        engine.dispose()
        _shell(PG_BACKUP, cwd=tmp_path, env={"DATABASE_URL": url})
        with psycopg.connect(admin, autocommit=True) as conn:  # the disaster
            conn.execute(f"DROP DATABASE {name}")
            conn.execute(f"CREATE DATABASE {name}")
        _shell(PG_RESTORE, cwd=tmp_path, env={"DATABASE_URL": url})
        _check_restored(url, key)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.mark.slow  # a CLI subprocess
def test_an_older_store_is_migrated_when_a_command_starts(tmp_path):
    """Upgrade = install the new version and start it: a store left at the first revision
    (before opt-out reviews, webhook intake and OAuth) is brought to head by a real
    `dealfinder` process, its data kept."""
    url = f"sqlite:///{tmp_path / 'dealfinder.db'}"
    engine = make_engine(url)
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    with session_scope(engine) as session:
        upsert_property(session=session, mls_id="OLD-1", location_id="loc_1",
                        data={"address": "9 Old Rd"}, deal_score=50, now=NOW)  # fmt: skip
    assert (
        _revision(engine) == "0001" and "ghl_oauth_grants" not in inspect(engine).get_table_names()
    )
    engine.dispose()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GHL_", "DEALFINDER_"))}
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli.main", "sync-buyers"], cwd=tmp_path, capture_output=True,
        text=True, timeout=180,
        env=env | {"DATABASE_URL": url, "DEALFINDER_DRY_RUN": "1", "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    engine = make_engine(url)
    try:
        assert _revision(engine) == _head() != "0001"
        assert "ghl_oauth_grants" in inspect(engine).get_table_names()
        with session_scope(engine, readonly=True) as session:
            assert get_property(session=session, mls_id="OLD-1") is not None
    finally:
        engine.dispose()
