"""What the Worklist screen writes out: the shown rows as CSV, or as JSON exactly as `dicomtui worklist --json`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .exports import write_rows

PROTOCOL = "ScheduledProtocolCodeSequence"


def export(rows: list[Any], folder: Path, kind: str) -> Path:
    """A new worklist-YYYYmmdd-HHMMSS.csv or .json in `folder`; the protocol codes become one text cell in CSV
    ("meaning (scheme:value)", several joined with a backslash)."""
    records = [row.as_json() for row in rows]
    columns = list(records[0]) if records else []
    if kind == "csv":
        for record, row in zip(records, rows, strict=True):
            record[PROTOCOL] = [code.text() for code in row.protocol] or None
    return write_rows(records, columns, folder, "worklist", kind)
