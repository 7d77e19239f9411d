"""Reading the [[queries]] tables: saved Query screen forms."""

from __future__ import annotations

import re
from typing import Any

from ..dicom.validation import InvalidValue
from .model import DATE_PRESETS, QUERY_LEVELS, Node, SavedQuery
from .problems import LineFinder, Problem
from .tables import check_entries, check_fields

QUERY_KEYS = {"name", "node", "level", "keys", "preset"}
# A DICOM keyword (PatientName) or a tag ((0010,0010) or 0010,0010); the value is checked when the query runs.
_KEY = re.compile(r"^([A-Za-z][A-Za-z0-9]*|\(?\s*[0-9A-Fa-f]{4}\s*,\s*[0-9A-Fa-f]{4}\s*\)?)$")


def check_queries(raw: Any, nodes: list[Node], lines: LineFinder, problems: list[Problem],
                  notes: list[Problem]) -> list[SavedQuery]:
    names: set[str] = set()
    node_names = {n.name.casefold() for n in nodes}

    def check(entry: dict[str, Any], index: int, label: str) -> SavedQuery | None:
        required = {"name": lambda v: _name(v, names), "node": lambda v: _text(v, "the name of a node")}
        optional = {"level": _level, "keys": _keys, "preset": _preset}
        values = check_fields(entry, index, "queries", label, required, optional,
                              "every saved query needs a name and a node", lines, problems)
        if isinstance(entry.get("name"), str) and entry["name"].strip():
            names.add(entry["name"].strip().casefold())
        if values is None:
            return None
        query = SavedQuery(**values)
        if query.node.casefold() not in node_names:
            # A note, not a problem: removing a node must not make the whole file unusable.
            notes.append(Problem(f"{label}: there is no node named {query.node!r}; the query cannot run",
                                 lines.key("queries", "node", index)))
        return query

    return check_entries(raw, "queries", "name, node, level and keys", QUERY_KEYS, check, lines, problems, notes)


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidValue(f"must be {what}, as text in quotes, not {value!r}")
    return value.strip()


def check_query_name(value: Any, taken: set[str] | list[str], what: str = "saved query") -> str:
    """A name for a saved query (or, as `what` says, a worklist preset): 1-64 characters, not taken."""
    name = _text(value, "a name")
    if len(name) > 64:
        raise InvalidValue(f"a {what}'s name can have at most 64 characters")
    if name.casefold() in {t.casefold() for t in taken}:
        raise InvalidValue(f"there is already a {what} named {name!r}")
    return name


_name = check_query_name


def _level(value: Any) -> str:
    if isinstance(value, str) and value.strip().lower() in QUERY_LEVELS:
        return value.strip().lower()
    raise InvalidValue(f"use one of {', '.join(QUERY_LEVELS)}, not {value!r}")


def _keys(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise InvalidValue('must be an inline table like { PatientName = "SMITH*", Modality = "CT" }')
    keys = {}
    for key, text in value.items():
        if not _KEY.match(str(key)):
            raise InvalidValue(f"{key!r} is not a DICOM keyword or a tag like (0010,0010)")
        if not isinstance(text, str):
            raise InvalidValue(f"the value of {key} must be text in quotes, not {text!r}")
        keys[str(key)] = text
    return keys


def _preset(value: Any) -> str:
    if value in DATE_PRESETS:
        return value
    raise InvalidValue(f"use one of {', '.join(repr(p) for p in DATE_PRESETS)}, not {value!r}")
