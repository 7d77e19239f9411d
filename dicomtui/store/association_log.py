"""The association log on disk: every association dicomtui opened or accepted, newest kept.

Its own SQLite file in the data folder, written by whichever process ran the association (the
app, a job's process, `dicomtui serve`'s workers, a CLI command), read by the app's Associations
screen. One row per association; its contexts and messages are a JSON document in the row, since
they are only ever read whole.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from ..engine.association_log import AssociationEntry, ContextEntry, MessageEntry
from .db import connect as _connect

KEEP = 10_000  # associations; older ones go (200 messages at the most each: engine/association_log.py)
PRUNE_EVERY = 200  # records written by one process between prunings

MIGRATIONS = [
    """
    CREATE TABLE associations (
        id        TEXT PRIMARY KEY,
        started   REAL NOT NULL,
        ended     REAL,
        outgoing  INTEGER NOT NULL,
        service   TEXT NOT NULL,
        origin    TEXT NOT NULL,
        calling   TEXT NOT NULL,
        called    TEXT NOT NULL,
        peer      TEXT NOT NULL,
        outcome   TEXT NOT NULL,
        reason    TEXT NOT NULL,
        messages  INTEGER NOT NULL,
        body      TEXT NOT NULL      -- JSON: contexts, messages, counts, peer_max_pdu
    );
    CREATE INDEX associations_started ON associations (started);
    CREATE INDEX associations_origin ON associations (origin, started);
    """,
]


def journal(origin: str) -> LogJournal:
    """The journal of the data folder's association log: what every face hands the engine."""
    from .. import paths

    return AssociationLog(paths.associations_db()).journal(origin)


class AssociationLog:
    def __init__(self, path: Path):
        self.path = path
        self._written = 0

    def journal(self, origin: str) -> LogJournal:
        """What the engine is handed: entries recorded through it say `origin` caused them."""
        return LogJournal(self, origin)

    def _connect(self):
        return _connect(self.path, migrations=MIGRATIONS)

    # -- writing -----------------------------------------------------------------------------------
    def record(self, entry: AssociationEntry) -> None:
        body = json.dumps({
            # Field by field: dataclasses.asdict deep-copies, 10 ms for a storescu association's 120 contexts.
            "contexts": [{"context_id": c.context_id, "abstract_syntax": c.abstract_syntax,
                          "transfer_syntaxes": c.transfer_syntaxes, "result": c.result,
                          "transfer_syntax": c.transfer_syntax} for c in entry.contexts],
            "messages": [[m.at, m.sent, m.name, m.message_id, m.status, m.detail, m.identifier]
                         for m in entry.messages],
            "counts": entry.counts,
            "omitted": entry.omitted,
            "peer_max_pdu": entry.peer_max_pdu,
        }, separators=(",", ":"))
        with self._connect() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO associations (id, started, ended, outgoing, service, origin, calling, called,"
                " peer, outcome, reason, messages, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (entry.id, entry.started, entry.ended, int(entry.outgoing), entry.service, entry.origin,
                 entry.calling_ae, entry.called_ae, entry.peer, entry.outcome, entry.reason, entry.message_total,
                 body))
            if self._written % PRUNE_EVERY == 0:  # the first write of a process, and every PRUNE_EVERY after
                conn.execute("DELETE FROM associations WHERE rowid NOT IN (SELECT rowid FROM associations "
                             "ORDER BY started DESC LIMIT ?)", (KEEP,))
            self._written += 1

    # -- reading ------------------------------------------------------------------------------------
    def recent(self, limit: int = 500, *, origin: str | None = None, origin_prefix: str | None = None,
               ids: list[str] | None = None) -> list[AssociationEntry]:
        """The newest first, without their messages (`get` reads one whole)."""
        if not self.path.exists():
            return []
        where, args = [], []
        if origin is not None:
            where.append("origin = ?")
            args.append(origin)
        if origin_prefix is not None:
            where.append("origin LIKE ? ESCAPE '\\'")
            args.append(origin_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")
        if ids is not None:
            where.append(f"id IN ({','.join('?' * len(ids))})")
            args += ids
        sql = ("SELECT id, started, ended, outgoing, service, origin, calling, called, peer, outcome, reason, messages"
               " FROM associations" + (" WHERE " + " AND ".join(where) if where else "")
               + " ORDER BY started DESC LIMIT ?")
        with self._connect() as conn:
            rows = conn.execute(sql, (*args, limit)).fetchall()
        return [_summary(row) for row in rows]

    def get(self, entry_id: str) -> AssociationEntry | None:
        if not self.path.exists():
            return None
        with self._connect() as conn:
            row = conn.execute(
                "SELECT id, started, ended, outgoing, service, origin, calling, called, peer, outcome, reason,"
                " messages, body FROM associations WHERE id = ?", (entry_id,)).fetchone()
        if row is None:
            return None
        entry = _summary(row[:12])
        body = json.loads(row[12])
        entry.contexts = [ContextEntry(**c) for c in body.get("contexts", [])]
        entry.messages = [MessageEntry(at, sent, name, mid, status, detail, [tuple(p) for p in identifier])
                          for at, sent, name, mid, status, detail, identifier in body.get("messages", [])]
        entry.counts = body.get("counts", {})
        entry.omitted = body.get("omitted", 0)
        entry.peer_max_pdu = body.get("peer_max_pdu")
        return entry


def _summary(row: tuple) -> AssociationEntry:
    entry = AssociationEntry(id=row[0], outgoing=bool(row[3]), service=row[4], origin=row[5], calling_ae=row[6],
                             called_ae=row[7], peer=row[8], started=row[1], ended=row[2], outcome=row[9],
                             reason=row[10])
    entry.counts = {"": row[11]} if row[11] else {}  # the total only; get() reads the real counts
    return entry


class LogJournal:
    """The engine's Journal for one origin; recording never raises into a transfer."""

    def __init__(self, log: AssociationLog, origin: str):
        self.log = log
        self.origin = origin

    def record(self, entry: AssociationEntry) -> None:
        try:
            self.log.record(entry)
        except (sqlite3.Error, OSError):
            pass  # a full disk or a locked file must not fail the DICOM work; the log is a convenience

    def tagged(self, origin: str) -> LogJournal:
        return LogJournal(self.log, origin)
