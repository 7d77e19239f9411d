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


def check_entries(raw: Any, table: str, shape: str, known: set[str],
                  check_entry: Callable[[dict[str, Any], int, str], Any], lines: LineFinder,
                  problems: list[Problem], notes: list[Problem]) -> list[Any]:
    """The [[table]] entries that `check_entry(entry, index, label)` accepts (it returns None for one
    with problems); every problem kept, unknown keys noted. `shape` completes "must be a table with ..."."""
    if not isinstance(raw, list):
        problems.append(Problem(f"'{table}' must be a list of [[{table}]] tables", lines.key(None, table)))
        return []
    accepted = []
    for index, entry in enumerate(raw):
        label = f"[[{table}]] #{index + 1}"
        if not isinstance(entry, dict):
            problems.append(Problem(f"{label} must be a table with {shape}", lines.table(table, index)))
            continue
        if isinstance(entry.get("name"), str) and entry["name"].strip():
            label += f" ({entry['name'].strip()!r})"
        item = check_entry(entry, index, label)
        if item is not None:
            accepted.append(item)
        for key in entry.keys() - known:
            notes.append(Problem(f"{label}: unknown key {key!r} is kept but not used", lines.key(table, key, index)))
    return accepted


def check_fields(entry: dict[str, Any], index: int, table: str, label: str, required: dict[str, Callable],
                 optional: dict[str, Callable], missing: str, lines: LineFinder,
                 problems: list[Problem]) -> dict[str, Any] | None:
    """Each field of one [[table]] entry through its check; None when any failed or a required one is
    missing (`missing` ends that sentence: "every node needs ..."). Problems point at the field's line."""
    values: dict[str, Any] = {}
    before = len(problems)

    def problem(key: str, message: str) -> None:
        line = lines.key(table, key, index) if key in entry else lines.table(table, index)
        problems.append(Problem(f"{label}: {message}", line))

    for key, check in {**required, **optional}.items():
        if key not in entry:
            if key in required:
                problem(key, f"'{key}' is missing; {missing}")
            continue
        try:
            values[key] = check(entry[key])
        except InvalidValue as exc:
            problem(key, f"{key}: {exc}")
    return None if len(problems) > before else values


def true_or_false(value: Any) -> bool:
    if not isinstance(value, bool):
        raise InvalidValue(f"must be true or false, not {value!r}")
    return value
