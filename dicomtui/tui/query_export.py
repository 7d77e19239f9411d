"""What the Query screen writes out: the shown rows as CSV or JSON, and the equivalent command lines."""

from __future__ import annotations

import csv
import json
import shlex
import time
from pathlib import Path

from .query_levels import Level, Row, export_columns, find_command, text


def export(rows: list[Row], level: str, folder: Path, kind: str) -> Path:
    """Write `rows` to a new file in `folder`: "csv", or "json" shaped like `dicomtui find --json`
    (an array of objects keyed by keyword; strings, lists for multi-valued attributes, null for empty)."""
    target = folder / f"{level.lower()}-{time.strftime('%Y%m%d-%H%M%S')}.{kind}"
    folder.mkdir(parents=True, exist_ok=True)
    columns = export_columns(rows, level)
    with open(target, "w", newline="", encoding="utf-8") as out:
        if kind == "json":
            json.dump([{c: row.get(c) for c in columns} for row in rows], out, ensure_ascii=False, indent=2)
            out.write("\n")
        else:
            writer = csv.writer(out)
            writer.writerow(columns)
            writer.writerows([text(row.get(c)) for c in columns] for row in rows)
    return target


def retrieve_args(level: Level, row: Row) -> list[str]:
    args = []
    for option, name in (("--study", "study_uid"), ("--series", "series_uid"), ("--instance", "instance_uid")):
        uid = level.uids(row).get(name)
        if uid:
            args += [option, uid]
    return args


def command_lines(node: str, level: Level, row: Row | None, destination: str) -> list[str]:
    """The find line for the level, then (with a highlighted study, series or instance) the move and get lines
    for that row."""
    lines = [find_command(node, level)]
    if row is not None and level.retrievable:
        uids = retrieve_args(level, row)
        lines.append(shlex.join(["dicomtui", "move", node, "--dest", destination, *uids]))
        lines.append(shlex.join(["dicomtui", "get", node, *uids]))
    return lines
