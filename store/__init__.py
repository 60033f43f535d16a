"""DealFinder's store: what must survive a restart, on SQLite or PostgreSQL.

    engine = make_engine(settings.database_url)     # the URL comes from Settings
    migrate(engine)                                  # alembic upgrade head
    with session_scope(engine) as session:           # commits at the end of the block
        outbox.enqueue(session=session, kind="sms", dedupe_key=..., payload=...)

Data functions live in one module per area (`buyers`, `deals`, `outbox`, `sms`, `webhooks`,
`state`). They take the session first, keyword-only, and never commit: the caller's
`session_scope` decides what is one transaction. Tables are in `models`, input schemas in
`schemas`, and `types` keeps every timestamp aware UTC on both engines.
"""

from store.db import make_engine, migrate, session_scope

__all__ = ["make_engine", "migrate", "session_scope"]
