"""The last C-ECHO results per node, kept between runs.

Both faces write here, so a cron `dicomtui echo pacs` shows up in the TUI's Nodes screen.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .db import connect

if TYPE_CHECKING:
    from ..engine.echo import EchoResult

KEEP_PER_NODE = 50


@dataclass(frozen=True)
class EchoRecord:
    node: str
    at: float
    ok: bool
    rtt_ms: float | None
    error: str | None
    failure: str | None = None


class EchoLog:
    def __init__(self, path: Path):
        self.path = path

    def record(self, node: str, ok: bool, rtt_ms: float | None, error: str | None,
               failure: str | None = None, at: float | None = None) -> EchoRecord:
        entry = EchoRecord(node, time.time() if at is None else at, ok, rtt_ms, error, failure)
        with connect(self.path) as conn:
            conn.execute(
                "INSERT INTO echo_results (node, at, ok, rtt_ms, error, failure) VALUES (?, ?, ?, ?, ?, ?)",
                (entry.node, entry.at, int(entry.ok), entry.rtt_ms, entry.error, entry.failure),
            )
            conn.execute(
                "DELETE FROM echo_results WHERE node = ? AND rowid NOT IN "
                "(SELECT rowid FROM echo_results WHERE node = ? ORDER BY at DESC LIMIT ?)",
                (node, node, KEEP_PER_NODE),
            )
        return entry

    def record_result(self, node: str, result: EchoResult) -> EchoRecord:
        return self.record(node, result.ok, result.mean_rtt_ms, result.error, result.failure)

    def latest(self) -> dict[str, EchoRecord]:
        """The newest record of every node, keyed by node name."""
        if not self.path.exists():
            return {}
        with connect(self.path) as conn:
            rows = conn.execute(
                "SELECT node, MAX(at), ok, rtt_ms, error, failure FROM echo_results GROUP BY node"
            ).fetchall()
        return {row[0]: EchoRecord(row[0], row[1], bool(row[2]), row[3], row[4], row[5]) for row in rows}

    def rename(self, old: str, new: str) -> None:
        with connect(self.path) as conn:
            conn.execute("UPDATE echo_results SET node = ? WHERE node = ?", (new, old))

    def forget(self, node: str) -> None:
        with connect(self.path) as conn:
            conn.execute("DELETE FROM echo_results WHERE node = ?", (node,))
