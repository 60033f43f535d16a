"""Engines, sessions and migrations for the store, on SQLite (one instance) or PostgreSQL (several).

    engine = make_engine(settings.database_url)
    migrate(engine)                                  # alembic upgrade head, in code
    with session_scope(engine) as session:
        buyers.upsert_buyer(session=session, buyer_in=...)

SQLite is set up so that several processes can share one file: WAL (readers never block the
writer), a 30 s busy timeout, and every read-write transaction opened with ``BEGIN IMMEDIATE``
so it takes the write lock up front. A transaction that starts as a reader and later writes can
fail at once with "database is locked" (SQLITE_BUSY_SNAPSHOT: the busy timeout does not help
there); taking the lock first makes the second writer wait instead. This is the pysqlite recipe
from the SQLAlchemy SQLite docs ("Enabling Non-Legacy SQLite Transactional Modes").
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, CursorResult, Result, make_url
from sqlmodel import Session

SQLITE_BUSY_TIMEOUT_MS = 30_000

# pg_advisory locks share one key space per database; these first keys keep ours apart.
PG_LOCK_MIGRATE = 0x44460001
PG_LOCK_SMS = 0x44460002
PG_LOCK_NAMED = 0x44460004  # store.locks.named_lock (0x44460003: the scheduler's job leases)


def pg_lock_key(param: str) -> str:
    """SQL for an advisory-lock key from the bound parameter `param` and the schema.

    Advisory locks share one key space per database; with the schema in the key, two stores
    (a schema each: staging beside production, or two test runs) never hold each other up.
    """
    return f"hashtext(current_schema() || ':' || :{param})"


# The server's keepalives to this client: idle seconds, then probes every interval, count.
PG_SERVER_KEEPALIVES = {
    "tcp_keepalives_idle": 60,
    "tcp_keepalives_interval": 10,
    "tcp_keepalives_count": 6,
}

_MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_BEGIN_OPTION = "dealfinder_sqlite_begin"


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """Build the engine for `url` (``sqlite:///file.db`` or ``postgresql+psycopg://...``).

    A bare ``postgresql://`` URL is taken to mean psycopg 3. PostgreSQL options such as a
    schema go in the URL's query string, e.g. ``?options=-csearch_path%3Dmyschema``.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _make_sqlite_engine(url, echo=echo)
    if parsed.drivername in ("postgres", "postgresql"):
        # A bare postgresql:// URL would select psycopg2, which is not installed; psycopg 3 is.
        parsed = parsed.set(drivername="postgresql+psycopg")
    # connect_timeout: an unreachable host (packets dropped) fails in seconds, not minutes.
    connect_args = {} if "connect_timeout" in parsed.query else {"connect_timeout": 10}
    engine = create_engine(parsed, echo=echo, pool_pre_ping=True, connect_args=connect_args)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # A session that holds an advisory lock (a deal being worked, a job tick) keeps it
        # until the server sees the client gone. A killed process closes its socket at once;
        # a machine that dies does not, and the server's TCP default notices after 2 hours.
        # These keepalives make it minutes (ignored on a Unix socket, where none are needed).
        settings = "; ".join(f"SET {name} = {int(v)}" for name, v in PG_SERVER_KEEPALIVES.items())
        with dbapi_connection.cursor() as cursor:
            cursor.execute(settings)
        dbapi_connection.commit()

    return engine


def _enable_wal(cursor: Any, *, attempts: int = 100) -> None:
    """Switch the file to WAL once. The switch needs a moment of exclusive access and SQLite
    answers "database is locked" without waiting when another process holds the file at that
    instant (its busy handler does not cover this step), so a fresh file opened by two
    processes at once must retry here. Once in WAL mode the setting persists in the file."""
    for attempt in range(attempts):
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal":
                return
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.05)


def _make_sqlite_engine(url: str, *, echo: bool) -> Engine:
    engine = create_engine(
        url,
        echo=echo,
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take BEGIN away from the sqlite3 module (it skips it before SELECTs), emit our own.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        _enable_wal(cursor)
        # NORMAL is durable across application crashes in WAL mode; only power loss can
        # lose the last commits, and it saves an fsync per commit.
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(_BEGIN_OPTION, "IMMEDIATE")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def readonly_engine(engine: Engine) -> Engine:
    """The same engine for read-only work: on SQLite it does not wait for the write lock."""
    if engine.dialect.name == "sqlite":
        return engine.execution_options(**{_BEGIN_OPTION: "DEFERRED"})
    return engine.execution_options(postgresql_readonly=True)


@contextmanager
def session_scope(engine: Engine, *, readonly: bool = False) -> Iterator[Session]:
    """A session that commits when the block ends and rolls back if it raises.

    Objects stay usable after the block (no expiry on commit). Keep blocks short: on SQLite a
    read-write session holds the database's single write lock until it ends.
    """
    bind = readonly_engine(engine) if readonly else engine
    with Session(bind, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def alembic_config() -> Config:
    """An Alembic `Config` built in code, pointing at the migrations inside this package.

    For a new revision during development (the models are the source of truth):

        cfg = alembic_config()
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.revision(cfg, message="add x", autogenerate=True)
    """
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS_DIR))
    cfg.set_main_option("path_separator", "os")
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the database schema to the newest revision (``alembic upgrade head``).

    Safe to call from several instances starting at once: on PostgreSQL an advisory lock and
    on SQLite the write lock make them take turns, and the later ones find nothing to do.
    """
    cfg = alembic_config()
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(  # one migration at a time per schema (the store's own)
                text("SELECT pg_advisory_xact_lock(:k, hashtext(current_schema()))"),
                {"k": PG_LOCK_MIGRATE},
            )
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def dialect_insert(session: Session, model: Any) -> postgresql.Insert | sqlite.Insert:
    """``INSERT`` with ``ON CONFLICT`` support for the session's database.

    Both dialects offer ``on_conflict_do_nothing``/``on_conflict_do_update`` and ``excluded``;
    given a model class the statement is ORM-enabled, so ``.returning(Model)`` yields objects.
    """
    name = dialect_name(session)
    if name == "postgresql":
        return postgresql.insert(model)
    if name == "sqlite":
        return sqlite.insert(model)
    raise NotImplementedError(f"the store supports SQLite and PostgreSQL, not {name}")


def dialect_name(session: Session) -> str:
    """The session's database: "sqlite" or "postgresql"."""
    return session.get_bind().dialect.name


def rows_affected(result: Result[Any]) -> int:
    """How many rows an ``UPDATE`` or ``DELETE`` touched.

    SQLAlchemy types ``Session.execute``'s answer as a plain ``Result``; for a DML statement it
    is a ``CursorResult``, which is what carries ``rowcount``.
    """
    return cast(CursorResult[Any], result).rowcount
