"""Alembic environment: runs on the connection `store.db.migrate` hands over.

There is no alembic.ini and no URL here: the caller owns the engine, the transaction and the
lock that keeps concurrent instances from migrating at once.
"""

from __future__ import annotations

from typing import Any, Literal

import sqlalchemy as sa
from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlmodel import SQLModel
from sqlmodel.sql.sqltypes import AutoString

import store.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from store.types import UTCDateTime


def _render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Write our column types as plain SQLAlchemy ones so revisions never import the app."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if type_ == "type" and isinstance(obj, AutoString):
        return f"sa.String(length={obj.length})" if obj.length else "sa.String()"
    return False


def _include_name(name: str | None, type_: str, _parent_names: Any) -> bool:
    """Autogenerate looks only at the store's tables: others share the database (the GHL rate
    limiter keeps its own ``ghl_rate_window`` table) and must not be dropped by a revision."""
    return type_ != "table" or name in SQLModel.metadata.tables


def run_migrations() -> None:
    connection: sa.Connection | None = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through store.db.migrate(engine), not the alembic CLI")
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        compare_type=True,
        include_name=_include_name,
        render_item=_render_item,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
