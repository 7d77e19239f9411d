"""Reading the [ui] and [keymap] tables."""

from __future__ import annotations

import re
from typing import Any

from ..dicom.validation import InvalidValue
from .model import UiOptions
from .problems import LineFinder, Problem
from .tables import check_table, true_or_false


def check_ui(raw: Any, lines: LineFinder, problems: list[Problem], notes: list[Problem]) -> UiOptions:
    options = UiOptions()
    check_table(raw, "ui", options, {"theme": _theme_name, "mask_phi": true_or_false}, lines, problems, notes)
    return options


# A key as Textual names it: "p", "P", "f5", "ctrl+r", "question_mark"; several are separated by commas.
_KEY = re.compile(r"^[A-Za-z0-9_+]+$")


def check_keymap(raw: Any, lines: LineFinder, problems: list[Problem]) -> dict[str, str]:
    """binding id -> keys. Whether an id exists is known only to the app, which says so for unknown ones."""
    if not isinstance(raw, dict):
        problems.append(Problem("'keymap' must be a table: write it as [keymap]", lines.key(None, "keymap")))
        return {}
    keymap: dict[str, str] = {}
    for binding, keys in raw.items():
        names = [k.strip() for k in keys.split(",")] if isinstance(keys, str) else []
        if not names or not all(_KEY.match(name) for name in names):
            problems.append(Problem(f'[keymap] {binding}: must be keys in quotes, like "P" or "f5,ctrl+r", '
                                    f"not {keys!r}", lines.key("keymap", binding)))
            continue
        keymap[binding] = ",".join(names)
    return keymap


def _theme_name(value: Any) -> str:
    # Whether such a theme exists is known only to the app (the user's themes folder may change): it says so.
    if not isinstance(value, str) or not value.strip():
        raise InvalidValue(f'must be the name of a theme in quotes, like "dicomtui-light", not {value!r}')
    return value.strip()
