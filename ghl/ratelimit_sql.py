"""The rate limiter's window in the product's database, shared by every process using it.

SQLite (the default, several processes on one machine): the row is read and written inside
`BEGIN IMMEDIATE`, which takes SQLite's write lock, so two processes cannot both see a free
slot. PostgreSQL (several machines): `SELECT ... FOR UPDATE` on the location's row.

The table is limiter state, not product data: it holds one small row per location that
can be lost at any time without harm, so the backend creates it itself when missing.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar

import sqlalchemy as sa

from ghl.ratelimit_backends import Backend, WindowState

_T = TypeVar("_T")

TABLE = "ghl_rate_window"

_metadata = sa.MetaData()
rate_window = sa.Table(
    TABLE,
    _metadata,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("state", sa.Text, nullable=False),
)


def _switch_to_wal(conn: sqlite3.Connection) -> None:
    # WAL persists in the file: a second process finds it set and changes nothing.
    if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
        conn.execute("PRAGMA journal_mode=WAL")


class SQLBackend(Backend):
    """Limiter state in a SQLAlchemy database (SQLite file or PostgreSQL)."""

    def __init__(self, url: str, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self._url = url
        self._sleep = sleep
        if url.startswith("sqlite:"):
            path = url.split(":///", 1)[1] if ":///" in url else ":memory:"
            self._sqlite_path: str | None = path
            self._local = threading.local()
            self._ensure_sqlite()
        else:
            self._sqlite_path = None
            self._engine = sa.create_engine(url, pool_pre_ping=True, pool_size=5)
            self._ensure_pg()

    def _ensure_pg(self) -> None:
        # Processes starting together on a fresh database would race a check-then-create
        # (create_all) into duplicate-type errors; one transaction-scoped advisory lock makes
        # the CREATE ... IF NOT EXISTS theirs one at a time.
        with self._engine.begin() as conn:
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": TABLE})
            conn.execute(
                sa.text(
                    f"CREATE TABLE IF NOT EXISTS {TABLE} "
                    "(key VARCHAR(200) PRIMARY KEY, state TEXT NOT NULL)"
                )
            )

    # -- SQLite: plain sqlite3 so BEGIN IMMEDIATE is ours to issue -------------------------

    def _sqlite(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            assert self._sqlite_path is not None, "only the SQLite backend opens sqlite3"
            conn = sqlite3.connect(self._sqlite_path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA busy_timeout=30000")
            self._when_unlocked(lambda: _switch_to_wal(conn))
            self._local.conn = conn
        return conn

    def _ensure_sqlite(self) -> None:
        conn = self._sqlite()
        self._when_unlocked(
            lambda: conn.execute(
                f"CREATE TABLE IF NOT EXISTS {TABLE} "
                "(key VARCHAR(200) PRIMARY KEY, state TEXT NOT NULL)"
            )
        )

    def _when_unlocked(self, op: Callable[[], object], *, attempts: int = 200) -> None:
        """Run a set-up step that SQLite may refuse at once with "database is locked": the
        switch to WAL needs a moment of exclusive access, and a statement that must upgrade a
        read lock while another process holds the write lock gets that answer without its busy
        handler (SQLite's deadlock rule). Processes opening a fresh file together meet both;
        they wait a little and try again (up to 10 s) instead of dying."""
        for attempt in range(attempts):
            try:
                op()
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or attempt == attempts - 1:
                    raise
                self._sleep(0.05)

    def _locked(self, key: str, defaults: WindowState, step: Callable[[WindowState], _T]) -> _T:
        if self._sqlite_path is not None:
            return self._locked_sqlite(key, defaults, step)
        return self._locked_pg(key, defaults, step)

    def _locked_sqlite(
        self, key: str, defaults: WindowState, step: Callable[[WindowState], _T]
    ) -> _T:
        conn = self._sqlite()
        conn.execute("BEGIN IMMEDIATE")
        try:
            row = conn.execute(f"SELECT state FROM {TABLE} WHERE key = ?", (key,)).fetchone()  # noqa: S608
            state = WindowState.from_json(row[0]) if row else replace(defaults, stamps=[])
            result = step(state)
            conn.execute(
                f"INSERT INTO {TABLE} (key, state) VALUES (?, ?) "  # noqa: S608
                "ON CONFLICT(key) DO UPDATE SET state = excluded.state",
                (key, state.to_json()),
            )
            conn.execute("COMMIT")
            return result
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _locked_pg(self, key: str, defaults: WindowState, step: Callable[[WindowState], _T]) -> _T:
        from sqlalchemy.dialects.postgresql import insert

        with self._engine.begin() as conn:
            # Make sure the row exists, then lock it for the read-modify-write.
            conn.execute(
                insert(rate_window)
                .values(key=key, state=replace(defaults, stamps=[]).to_json())
                .on_conflict_do_nothing(index_elements=["key"])
            )
            raw = conn.execute(
                sa.select(rate_window.c.state).where(rate_window.c.key == key).with_for_update()
            ).scalar_one()
            state = WindowState.from_json(raw)
            result = step(state)
            conn.execute(
                rate_window.update().where(rate_window.c.key == key).values(state=state.to_json())
            )
            return result
