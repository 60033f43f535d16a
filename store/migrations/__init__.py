"""Alembic migrations for the store; run them with `store.db.migrate(engine)`."""
