"""The transfer queue's SQLite file (jobs.sqlite3 in the data folder): schema and opening it.

A file of its own rather than a table in state.sqlite3: its migrations then never collide
with the state file's, and a queue of a million instance rows never slows the echo log.
WAL lets `dicomtui jobs list` read while a send writes an outcome per instance.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .db import enable_wal, migrate

# Each entry upgrades the schema by one version; never edit a released entry, append.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE jobs (
        id        INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused, so an old id never names a new job
        kind      TEXT NOT NULL,        -- "send", "move", "get"
        target    TEXT NOT NULL,        -- what the user typed: a node name or AE@HOST:PORT
        node      TEXT NOT NULL,        -- JSON: the node's settings when queued (used if the name is gone)
        calling_ae TEXT NOT NULL,
        sources   TEXT NOT NULL,        -- JSON list of absolute paths
        options   TEXT NOT NULL,        -- JSON object: parallel, attempts...
        state     TEXT NOT NULL,        -- queued, running, paused, done, failed, cancelled
        scanned   INTEGER NOT NULL DEFAULT 0,  -- instance rows recorded (the scan is not repeated)
        cancel_requested INTEGER NOT NULL DEFAULT 0,
        message   TEXT NOT NULL DEFAULT '',    -- why it ended as it did, in words
        created   REAL NOT NULL,
        started   REAL,
        finished  REAL
    );
    CREATE TABLE job_instances (
        job_id    INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
        seq       INTEGER NOT NULL,     -- scan order, for showing and sending in a stable order
        path      TEXT NOT NULL,
        sop_instance_uid TEXT NOT NULL,
        state     TEXT NOT NULL,        -- pending, sent, failed, not-sent
        bytes     INTEGER NOT NULL DEFAULT 0,
        status    INTEGER,              -- the C-STORE-RSP status, when one came
        error     TEXT NOT NULL DEFAULT '',
        kind      TEXT NOT NULL DEFAULT '',    -- InstanceOutcome.kind
        transient INTEGER NOT NULL DEFAULT 0,  -- a failure worth another attempt
        attempts  INTEGER NOT NULL DEFAULT 0,
        updated   REAL,
        PRIMARY KEY (job_id, path)
    );
    CREATE INDEX job_instances_state ON job_instances (job_id, state);
    CREATE TABLE job_skipped (
        job_id    INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
        path      TEXT NOT NULL,
        reason    TEXT NOT NULL
    );
    CREATE INDEX job_skipped_job ON job_skipped (job_id);
    """,
    # 2: move and get jobs. A retrieve has no files: the archive reports sub-operation counts,
    # so one row per job holds them (send jobs simply have none).
    """
    CREATE TABLE job_retrieves (
        job_id      INTEGER PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
        destination TEXT NOT NULL DEFAULT '',  -- the C-MOVE destination AE title, '' for a C-GET
        request     TEXT NOT NULL,             -- JSON: the fields of the RetrieveRequest
        remaining   INTEGER,                   -- NULL when the archive does not say
        completed   INTEGER NOT NULL DEFAULT 0,
        failed      INTEGER NOT NULL DEFAULT 0,
        warning     INTEGER NOT NULL DEFAULT 0,
        failed_uids TEXT NOT NULL DEFAULT '[]',  -- JSON list of SOP Instance UIDs
        status      INTEGER,                   -- the final C-MOVE/C-GET status, when one came
        failure     TEXT NOT NULL DEFAULT '',  -- RetrieveResult.failure: why it failed, as a kind
        updated     REAL
    );
    """,
    # 3: pause. Like cancel, a flag the process running the job polls; the run then ends "paused".
    """
    ALTER TABLE jobs ADD COLUMN pause_requested INTEGER NOT NULL DEFAULT 0;
    """,
]


class JobStoreError(Exception):
    """The job database cannot be used; the message says why in words."""


def open_connection(path: Path) -> sqlite3.Connection:
    """A migrated connection in autocommit-off mode; the caller commits and closes.

    check_same_thread is off because a send's outcomes arrive on its association threads;
    the callers serialise access (the send engine reports under a lock)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=10, check_same_thread=False)
    except (OSError, sqlite3.Error) as exc:
        raise JobStoreError(f"cannot open the job database {path}: {_words(exc)}") from None
    try:
        enable_wal(conn)
        conn.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: a commit survives a killed process
        conn.execute("PRAGMA foreign_keys=ON")
        _migrate(conn)
    except sqlite3.Error as exc:
        conn.close()
        raise JobStoreError(f"cannot read the job database {path}: {_words(exc)}. Move the file away to start "
                            "with an empty queue (its jobs are then forgotten).") from None
    return conn


@contextmanager
def connect(path: Path) -> Iterator[sqlite3.Connection]:
    """A connection in a transaction: committed on success, rolled back on error, always closed."""
    conn = open_connection(path)
    try:
        with conn:
            yield conn
    except sqlite3.Error as exc:
        raise JobStoreError(f"the job database {path} failed: {_words(exc)}") from None
    finally:
        conn.close()


def _words(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def _migrate(conn: sqlite3.Connection) -> None:
    migrate(conn, MIGRATIONS, newer_ok=False)
