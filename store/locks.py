"""Named locks across threads and processes that vanish with the process holding them.

Two DealFinder processes importing the same property at once would each create its note and
tasks (GHL has no idempotency key for them). A lease row would outlive a killed worker and
block the re-run; these locks do not: PostgreSQL's session advisory locks end with the
connection, and on SQLite (one machine) a byte-range `lockf` on one file beside the database
ends with the process. Within a process a thread lock per name does the same job.

POSIX record locks belong to the process and ALL of them on a file go when the process closes
ANY descriptor of that file, so the lock file is opened once per process and kept open: a
thread releasing one name must not release the names other threads hold.

    with named_lock(engine, f"deal:{location_id}:{mls_id}") as held:
        if not held:
            ...  # another process is on it right now
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine, text

from store.db import PG_LOCK_NAMED, pg_lock_key

_local_lock = threading.Lock()
_held_here: set[tuple[str, str]] = set()  # (store URL, name) held by this process
_lock_files: dict[Path, int] = {}  # one descriptor per lock file, open for the process's life


def _sqlite_lock_file(engine: Engine) -> Path:
    database = engine.url.database or ""
    if not database or database == ":memory:":
        raise ValueError("named locks on SQLite need a database file")
    return Path(f"{database}.locks")


@contextlib.contextmanager
def _process_lock(engine: Engine, name: str) -> Iterator[bool]:
    if engine.dialect.name == "postgresql":
        key = pg_lock_key("name")
        args = {"ns": PG_LOCK_NAMED, "name": name}
        with engine.connect() as conn:
            held = bool(
                conn.execute(text(f"SELECT pg_try_advisory_lock(:ns, {key})"), args).scalar()
            )
            conn.commit()
            try:
                yield held
            finally:
                if held:
                    conn.execute(text(f"SELECT pg_advisory_unlock(:ns, {key})"), args)
                    conn.commit()
        return
    fd = _lock_file_descriptor(_sqlite_lock_file(engine))
    offset = zlib.crc32(name.encode())  # one byte per name in a sparse file
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, offset)
    except OSError:
        yield False
        return
    try:
        yield True
    finally:
        fcntl.lockf(fd, fcntl.LOCK_UN, 1, offset)


def _lock_file_descriptor(path: Path) -> int:
    key = path.resolve()
    with _local_lock:
        fd = _lock_files.get(key)
        if fd is None:
            fd = _lock_files[key] = os.open(key, os.O_RDWR | os.O_CREAT, 0o600)
        return fd


@contextlib.contextmanager
def named_lock(engine: Engine, name: str) -> Iterator[bool]:
    """Try to hold `name` without waiting; yields whether this caller holds it.

    Names are per store: the same name in another database or schema is another lock.
    """
    here = (engine.url.render_as_string(hide_password=True), name)
    with _local_lock:
        busy = here in _held_here
        if not busy:
            _held_here.add(here)
    if busy:
        yield False
        return
    try:
        with _process_lock(engine, name) as held:
            yield held
    finally:
        with _local_lock:
            _held_here.discard(here)
