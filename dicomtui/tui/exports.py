"""Rows written out as CSV or JSON in the data folder's exports, and the user told where (or why not)."""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import paths
from .query_levels import Row, text


def export_rows(screen: Any, write: Callable[[Path], Path], what: str) -> None:
    """`write(folder)` into the exports folder, then a notification naming `what` was saved where, or why not."""
    folder = paths.data_dir() / "exports"
    try:
        target = write(folder)
    except OSError as exc:
        screen.notify(f"cannot write in {folder}: {exc.strerror}", title="Export failed", severity="error")
        return
    screen.notify(f"{what} saved to {target}", title="Export")


def write_rows(rows: list[Row], columns: list[str], folder: Path, stem: str, kind: str) -> Path:
    """`rows` (objects keyed by column) as a new `stem-YYYYmmdd-HHMMSS.csv` or `.json` in `folder`: JSON keeps
    each value as it is (null, lists), CSV has a header row and each value as text."""
    target = folder / f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}.{kind}"
    folder.mkdir(parents=True, exist_ok=True)
    with open(target, "w", newline="", encoding="utf-8") as out:
        if kind == "json":
            json.dump([{c: row.get(c) for c in columns} for row in rows], out, ensure_ascii=False, indent=2)
            out.write("\n")
        else:
            writer = csv.writer(out)
            writer.writerow(columns)
            writer.writerows([text(row.get(c)) for c in columns] for row in rows)
    return target
