"""The app's SQLite state file: one place that opens it the same way every time.

WAL lets the TUI read while a CLI run or a worker writes; short-lived connections keep
every thread on its own connection, as sqlite3 requires.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# Each entry upgrades the schema by one version; never edit a released entry, append.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE echo_results (
        node    TEXT NOT NULL,
        at      REAL NOT NULL,      -- seconds since the epoch
        ok      INTEGER NOT NULL,
        rtt_ms  REAL,               -- the mean of the replies, when ok
        error   TEXT,
        failure TEXT                -- refused, timeout, rejected, ... (EchoResult.failure)
    );
    CREATE INDEX echo_results_node_at ON echo_results (node, at);
    """,
]


_wal_lock = threading.Lock()


def enable_wal(conn: sqlite3.Connection) -> None:
    """Put the database in WAL mode (it stays so: the mode is kept in the file).

    Switching the mode needs the database to itself and does not wait for other
    connections: eight threads opening a new index at once got "database is locked" from
    the PRAGMA. So it is only switched when needed, by one thread of this process at a time.
    """
    if conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
        return
    with _wal_lock:
        conn.execute("PRAGMA journal_mode=WAL")


@contextmanager
def connect(path: Path, migrations: list[str] | None = None) -> Iterator[sqlite3.Connection]:
    """A connection in a transaction: committed on success, rolled back on error, always closed.
    `migrations`: the schema of a file other than the state file (whose MIGRATIONS are the default)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=10)
    try:
        enable_wal(conn)
        conn.execute("PRAGMA synchronous=NORMAL")
        migrate(conn, MIGRATIONS if migrations is None else migrations, newer_ok=True)
        with conn:
            yield conn
    finally:
        conn.close()


def migrate(conn: sqlite3.Connection, scripts: list[str] | tuple[str, ...], *, newer_ok: bool) -> None:
    """Bring the schema to len(scripts) (PRAGMA user_version counts the scripts applied). A newer schema
    than ours (a downgrade) is used as it is when `newer_ok`, else DatabaseError for the caller to word."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > len(scripts) and not newer_ok:
        raise sqlite3.DatabaseError(f"it was written by a newer dicomtui (schema {version})")
    if version >= len(scripts):
        return
    with conn:
        conn.execute("BEGIN IMMEDIATE")
        # Re-read inside the write lock: another process may have migrated meanwhile.
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        for number, script in enumerate(scripts[version:], start=version + 1):
            for statement in filter(str.strip, script.split(";")):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number}")
