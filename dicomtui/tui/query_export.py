"""What the Query screen writes out: the shown rows as CSV or JSON, and the equivalent command lines."""

from __future__ import annotations

from pathlib import Path

from ..command_lines import get_command, move_command
from .exports import write_rows
from .query_levels import Level, Row, export_columns, find_command


def export(rows: list[Row], level: str, folder: Path, kind: str) -> Path:
    """Write `rows` to a new file in `folder`: "csv", or "json" shaped like `dicomtui find --json`
    (an array of objects keyed by keyword; strings, lists for multi-valued attributes, null for empty)."""
    return write_rows(rows, export_columns(rows, level), folder, level.lower(), kind)


def command_lines(node: str, level: Level, row: Row | None, destination: str) -> list[str]:
    """The find line for the level, then (with a highlighted study, series or instance) the move and get lines
    for that row."""
    lines = [find_command(node, level)]
    if row is not None and level.retrievable:
        uids = level.uids(row)
        study, series, instance = uids.get("study_uid"), uids.get("series_uid"), uids.get("instance_uid")
        lines.append(move_command(node, destination, study, series, instance))
        lines.append(get_command(node, study, series, instance))
    return lines
