"""Reading the [ui] table."""

from __future__ import annotations

from typing import Any

from ..dicom.validation import InvalidValue
from .model import UiOptions
from .problems import LineFinder, Problem
from .tables import check_table


def check_ui(raw: Any, lines: LineFinder, problems: list[Problem], notes: list[Problem]) -> UiOptions:
    options = UiOptions()
    check_table(raw, "ui", options, {"theme": _theme_name}, lines, problems, notes)
    return options


def _theme_name(value: Any) -> str:
    # Whether such a theme exists is known only to the app (the user's themes folder may change): it says so.
    if not isinstance(value, str) or not value.strip():
        raise InvalidValue(f'must be the name of a theme in quotes, like "dicomtui-light", not {value!r}')
    return value.strip()
