"""Reading the [worklist] table and the [[worklist_presets]] tables (the Worklist screen's saved queries)."""

from __future__ import annotations

import re
from typing import Any

from ..dicom.validation import AE_TITLE_MAX, InvalidValue
from ..dicom.worklist_dates import canonical_date
from .model import LOCAL_NODE, Node, WorklistOptions, WorklistPreset
from .problems import LineFinder, Problem
from .queries import check_query_name
from .receiver_options import whole
from .tables import check_entries, check_fields, check_table

PRESET_KEYS = {"name", "node", "station", "modality", "date"}
_CODE = re.compile(r"^[A-Za-z0-9 _*?]{0,16}$")


def check_worklist(raw: Any, lines: LineFinder, problems: list[Problem], notes: list[Problem]) -> WorklistOptions:
    options = WorklistOptions()
    checks = {"refresh_seconds": lambda v: whole(v, 1, 86_400, "seconds")}
    check_table(raw, "worklist", options, checks, lines, problems, notes)
    return options


def check_worklist_presets(raw: Any, nodes: list[Node], lines: LineFinder, problems: list[Problem],
                           notes: list[Problem]) -> list[WorklistPreset]:
    names: set[str] = set()
    node_names = {n.name.casefold() for n in nodes} | {LOCAL_NODE}

    def check(entry: dict[str, Any], index: int, label: str) -> WorklistPreset | None:
        required = {"name": lambda v: check_query_name(v, names, "worklist preset"),
                    "node": lambda v: _text(v, "the name of a node")}
        optional = {"station": _station, "modality": _modality, "date": _date}
        values = check_fields(entry, index, "worklist_presets", label, required, optional,
                              "every worklist preset needs a name and a node", lines, problems)
        if isinstance(entry.get("name"), str) and entry["name"].strip():
            names.add(entry["name"].strip().casefold())
        if values is None:
            return None
        preset = WorklistPreset(**values)
        if preset.node.casefold() not in node_names:
            # A note, not a problem: removing a node must not make the whole file unusable.
            notes.append(Problem(f"{label}: there is no node named {preset.node!r}; the preset cannot run",
                                 lines.key("worklist_presets", "node", index)))
        return preset

    return check_entries(raw, "worklist_presets", "name, node, station, modality and date", PRESET_KEYS, check,
                         lines, problems, notes)


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidValue(f"must be {what}, as text in quotes, not {value!r}")
    return value.strip()


def _station(value: Any) -> str:
    if not isinstance(value, str) or len(value.strip()) > AE_TITLE_MAX or "\\" in value or not value.isascii():
        raise InvalidValue(f"must be an AE title (at most {AE_TITLE_MAX} plain ASCII characters), not {value!r}")
    return value.strip()


def _modality(value: Any) -> str:
    if not isinstance(value, str) or not _CODE.match(value.strip()):
        raise InvalidValue(f"must be a modality such as \"CT\" or \"MR\", not {value!r}")
    return value.strip().upper()


def _date(value: Any) -> str:
    """Checked as `dicomtui worklist --date` and the Worklist screen check it (one function for all three), so a
    preset the screen saved always runs, and one written by hand fails here, with its line, not when it runs."""
    if not isinstance(value, str):
        raise InvalidValue(f"must be a date, a range or a preset such as \"today\", in quotes, not {value!r}")
    return canonical_date(value)
