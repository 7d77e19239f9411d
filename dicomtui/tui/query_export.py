"""What the Query screen writes out: the shown rows as CSV or JSON."""

from __future__ import annotations

from pathlib import Path

from .exports import write_rows
from .query_levels import Row, export_columns


def export(rows: list[Row], level: str, folder: Path, kind: str) -> Path:
    """Write `rows` to a new file in `folder`: "csv", or "json" shaped like `dicomtui find --json`
    (an array of objects keyed by keyword; strings, lists for multi-valued attributes, null for empty)."""
    return write_rows(rows, export_columns(rows, level), folder, level.lower(), kind)
