"""Checking one plain [table] of the config: each known key with its check, every problem kept."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..dicom.validation import InvalidValue
from .problems import LineFinder, Problem


def check_table(raw: Any, table: str, target: object, checks: dict[str, Callable[[Any], Any]],
                lines: LineFinder, problems: list[Problem], notes: list[Problem]) -> None:
    """Set each key of `raw` that passes its check on `target` (a dataclass with defaults);
    a failing key keeps its default and adds a problem with its line; unknown keys add a note."""
    if not isinstance(raw, dict):
        problems.append(Problem(f"'{table}' must be a table: write it as [{table}]", lines.key(None, table)))
        return
    for key, check in checks.items():
        if key in raw:
            try:
                setattr(target, key, check(raw[key]))
            except InvalidValue as exc:
                problems.append(Problem(f"[{table}] {key}: {exc}", lines.key(table, key)))
    for key in raw.keys() - checks.keys():
        notes.append(Problem(f"[{table}] unknown key {key!r} is kept but not used", lines.key(table, key)))
