"""The migrations build exactly the tables the models describe, on both engines, and the
SQLite engine is set up for several processes sharing one file."""

import sqlite3

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import SQLModel

import store.models  # noqa: F401  (registers the tables)
from store.db import alembic_config, make_engine, migrate, session_scope


def _diff(engine):
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, SQLModel.metadata)


def test_migration_head_matches_the_models(engine):
    assert _diff(engine) == []


def test_a_model_change_without_a_migration_is_detected(engine):
    # Guards the test above against comparing nothing: drop an index and the diff shows it.
    with engine.begin() as conn:
        conn.execute(text("DROP INDEX ix_outbox_status_not_before"))
    diff = _diff(engine)
    assert [op[0] for op in diff] == ["add_index"]
    assert diff[0][1].name == "ix_outbox_status_not_before"


def test_migrate_records_head_and_is_idempotent(engine):
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    migrate(engine)  # second run: nothing to do, no error
    with engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == head


def test_downgrade_to_base_then_upgrade_again(engine):
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate(engine)
    assert _diff(engine) == []


def test_migrate_creates_the_sqlite_file_on_first_use(sqlite_url):
    engine = make_engine(sqlite_url)
    try:
        migrate(engine)
        assert "outbox" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_sqlite_connections_are_set_up_for_several_processes(sqlite_engine):
    with sqlite_engine.connect() as conn:
        pragma = {
            name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "busy_timeout", "foreign_keys")
        }
    assert pragma == {"journal_mode": "wal", "busy_timeout": 30_000, "foreign_keys": 1}


def _other_writer_gets_lock(path):
    """Whether a second connection can start writing right now (it does not wait)."""
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError as exc:
        assert "locked" in str(exc)
        return False
    finally:
        other.close()


def test_sqlite_sessions_take_the_write_lock_up_front(sqlite_engine, sqlite_url):
    # Taking it at BEGIN is what makes a second writer wait (busy timeout) instead of failing
    # with SQLITE_BUSY_SNAPSHOT when a read-then-write transaction upgrades.
    path = sqlite_url.removeprefix("sqlite:///")
    with session_scope(sqlite_engine) as session:
        session.execute(text("SELECT 1"))  # only a read, yet the lock is held
        assert not _other_writer_gets_lock(path)
    assert _other_writer_gets_lock(path)


def test_sqlite_readonly_sessions_do_not_block_writers(sqlite_engine, sqlite_url):
    path = sqlite_url.removeprefix("sqlite:///")
    with session_scope(sqlite_engine, readonly=True) as session:
        session.execute(text("SELECT count(*) FROM outbox"))
        assert _other_writer_gets_lock(path)


def test_readonly_sessions_read_but_do_not_write(engine):
    with session_scope(engine, readonly=True) as session:
        assert session.execute(text("SELECT count(*) FROM outbox")).scalar() == 0
    if engine.dialect.name == "postgresql":
        with (
            pytest.raises(DBAPIError, match="read-only"),
            session_scope(engine, readonly=True) as session,
        ):
            session.execute(text("DELETE FROM outbox"))
    # The pooled connection goes back to read-write for everyone else.
    for _ in range(3):
        with session_scope(engine) as session:
            session.execute(text("DELETE FROM outbox"))


@pytest.mark.postgres
def test_a_bare_postgresql_url_uses_psycopg_3(pg_url):
    engine = make_engine(pg_url.replace("postgresql+psycopg://", "postgresql://"))
    try:
        assert engine.dialect.driver == "psycopg"
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
    finally:
        engine.dispose()


def test_workflow_enrolments_made_before_are_keyed_by_their_deals_location(engine):
    """0009: `workflow:hot_deal:{mls}` -> `workflow:hot_deal:{location}:{mls}` from the deal's
    opportunity link; an MLS id linked at two locations is left as it was."""
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0008_location_leases")
    with engine.begin() as conn:
        for mls, loc in (("FL-1", "loc_a"), ("FL-2", "loc_a"), ("FL-2", "loc_b")):
            conn.execute(
                text(
                    "INSERT INTO opportunity_links (mls_id, location_id, opportunity_id, "
                    "created_at, updated_at) VALUES (:m, :l, :o, :t, :t)"
                ),
                {"m": mls, "l": loc, "o": f"opp_{mls}_{loc}", "t": "2026-03-02 15:00:00"},
            )
        for mls in ("FL-1", "FL-2"):
            conn.execute(
                text(
                    "INSERT INTO outbox (kind, dedupe_key, status, payload, attempts, "
                    "not_before, created_at, updated_at) VALUES ('workflow', :k, 'pending', "
                    "'{}', 0, :t, :t, :t)"
                ),
                {"k": f"workflow:hot_deal:{mls}", "t": "2026-03-02 15:00:00"},
            )
    migrate(engine)
    with engine.connect() as conn:
        keys = set(conn.execute(text("SELECT dedupe_key FROM outbox")).scalars())
    assert keys == {"workflow:hot_deal:loc_a:FL-1", "workflow:hot_deal:FL-2"}


def test_hot_deal_alerts_and_cards_made_before_are_keyed_by_their_deals_location(engine):
    """0010: `slack:deal:{mls}` -> `slack:deal:{location}:{mls}` and the card's `deal:{mls}`
    -> `deal:{location}:{mls}`, from the stored property; one whose property is gone is left
    as it was; the downgrade puts them back."""
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0009_workflow_keys")
    with engine.begin() as conn:
        for mls, loc in (("FL-1", "loc_a"), ("FL-2", "loc_b")):
            conn.execute(
                text(
                    "INSERT INTO properties (mls_id, location_id, data, created_at, updated_at) "
                    "VALUES (:m, :l, '{}', :t, :t)"
                ),
                {"m": mls, "l": loc, "t": "2026-03-02 15:00:00"},
            )
        for mls in ("FL-1", "FL-2", "FL-GONE"):
            conn.execute(
                text(
                    "INSERT INTO outbox (kind, dedupe_key, status, payload, attempts, "
                    "not_before, created_at, updated_at) VALUES ('slack_post', :k, 'pending', "
                    "'{}', 0, :t, :t, :t)"
                ),
                {"k": f"slack:deal:{mls}", "t": "2026-03-02 15:00:00"},
            )
            conn.execute(
                text(
                    "INSERT INTO slack_messages (key, channel, ts, created_at, updated_at) "
                    "VALUES (:k, 'C1', :ts, :t, :t)"
                ),
                {"k": f"deal:{mls}", "ts": f"{len(mls)}.1", "t": "2026-03-02 15:00:00"},
            )
    migrate(engine)
    with engine.connect() as conn:
        keys = set(conn.execute(text("SELECT dedupe_key FROM outbox")).scalars())
        cards = set(conn.execute(text("SELECT key FROM slack_messages")).scalars())
    assert keys == {"slack:deal:loc_a:FL-1", "slack:deal:loc_b:FL-2", "slack:deal:FL-GONE"}
    assert cards == {"deal:loc_a:FL-1", "deal:loc_b:FL-2", "deal:FL-GONE"}
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0009_workflow_keys")
    with engine.connect() as conn:
        keys = set(conn.execute(text("SELECT dedupe_key FROM outbox")).scalars())
    assert keys == {"slack:deal:FL-1", "slack:deal:FL-2", "slack:deal:FL-GONE"}
    with engine.connect() as conn:
        cards = set(conn.execute(text("SELECT key FROM slack_messages")).scalars())
    assert cards == {"deal:FL-1", "deal:FL-2", "deal:FL-GONE"}
    migrate(engine)
