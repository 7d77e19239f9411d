"""Themes from TOML files: the ones dicomtui ships (top-level `themes/`) and the user's own
(`themes/` in the config folder), each mapped onto Textual's Theme.

    found = load_themes([shipped_folder(), user_folder()])
    found.themes   -> [Theme, ...]      (a user's theme replaces a shipped one of the same name)
    found.problems -> ["mine.toml: primary: 'blu' is not a colour ...", ...]

A broken file never stops the app: it is left out, and every problem is reported together.
A theme's [states] table holds dicomtui's own colours (ok, failed, pending, running); they
become the Theme variables state-ok... that the screens read with state_colour().
"""

from __future__ import annotations

import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from textual.color import Color, ColorParseError
from textual.theme import Theme

from .. import paths

DEFAULT_THEME = "dicomtui-dark"
COLOURS = ("primary", "secondary", "warning", "error", "success", "accent", "foreground", "background", "surface",
           "panel", "boost")
NUMBERS = {"luminosity_spread": (0.0, 1.0), "text_alpha": (0.0, 1.0)}
FLAGS = ("dark", "ansi")
STATES = ("ok", "failed", "pending", "running")
TABLES = ("states", "variables")
# Where a state colour comes from when a theme does not set it (Textual's own themes have no [states]).
STATE_FALLBACK = {"ok": "success", "failed": "error", "pending": "foreground", "running": "primary"}


@dataclass
class FoundThemes:
    themes: list[Theme] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # "file.toml: what is wrong", one per problem


def shipped_folder() -> Path:
    """The themes that come with dicomtui: next to the package in a checkout (or an editable install),
    else where the wheel puts its data files."""
    beside = Path(__file__).resolve().parents[2] / "themes"
    return beside if beside.is_dir() else Path(sys.prefix) / "share" / "dicomtui" / "themes"


def user_folder() -> Path:
    return paths.config_dir() / "themes"


def load_themes(folders: list[Path]) -> FoundThemes:
    found = FoundThemes()
    by_name: dict[str, Theme] = {}
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.toml")):
            theme, problems = read_theme(path)
            found.problems += [f"{path.name}: {problem}" for problem in problems]
            if theme is not None:
                by_name[theme.name] = theme
    found.themes = list(by_name.values())
    return found


def read_theme(path: Path) -> tuple[Theme | None, list[str]]:
    """The theme in one file, or None and why not (every problem, not just the first)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        return None, ["not UTF-8 text"]
    except OSError as exc:
        return None, [f"cannot be read: {exc.strerror or exc}"]
    except tomllib.TOMLDecodeError as exc:
        return None, [f"not valid TOML: {exc}"]
    return theme_from(data)


def theme_from(data: dict[str, Any]) -> tuple[Theme | None, list[str]]:
    problems: list[str] = []
    values: dict[str, Any] = {}
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.append('name: every theme needs a name, like name = "my-theme"')
    else:
        values["name"] = name.strip()
    if "primary" not in data:
        problems.append('primary: every theme needs a primary colour, like primary = "#4c9be8"')
    for key, value in data.items():
        if key in ("name",) or key in TABLES:
            continue
        if key in COLOURS:
            if _colour_problem(value) is None:
                values[key] = value
            else:
                problems.append(f"{key}: {_colour_problem(value)}")
        elif key in FLAGS:
            if isinstance(value, bool):
                values[key] = value
            else:
                problems.append(f"{key}: must be true or false, not {value!r}")
        elif key in NUMBERS:
            low, high = NUMBERS[key]
            if isinstance(value, int | float) and not isinstance(value, bool) and low <= value <= high:
                values[key] = float(value)
            else:
                problems.append(f"{key}: must be a number from {low} to {high}, not {value!r}")
        else:
            known = ", ".join(("name", *COLOURS, *FLAGS, *NUMBERS))
            problems.append(f"unknown key {key!r} (a theme has {known}, and [states] and [variables] tables)")
    variables = _variables(data, problems)
    if problems:
        return None, problems
    return Theme(**values, variables=variables), []


def _variables(data: dict[str, Any], problems: list[str]) -> dict[str, str]:
    variables: dict[str, str] = {}
    for table in TABLES:
        raw = data.get(table, {})
        if not isinstance(raw, dict):
            problems.append(f"{table}: must be a table, written [{table}]")
            continue
        for key, value in raw.items():
            if table == "states" and key not in STATES:
                problems.append(f"[states] unknown state {key!r} (states are {', '.join(STATES)})")
                continue
            if table == "variables" and key.endswith("text-style"):
                if isinstance(value, str):  # "bold", "reverse", "none"...: Textual checks the words
                    variables[key] = value
                else:
                    problems.append(f"[variables] {key}: must be text, like \"bold\", not {value!r}")
                continue
            problem = _colour_problem(value)
            if problem is not None:
                problems.append(f"[{table}] {key}: {problem}")
            else:
                variables[f"state-{key}" if table == "states" else key] = value
    return variables


def _colour_problem(value: Any) -> str | None:
    if not isinstance(value, str):
        return f"a colour is text in quotes, like \"#4c9be8\", not {value!r}"
    try:
        Color.parse(value)
    except ColorParseError:
        return f"{value!r} is not a colour (use #rrggbb, rgb(r,g,b), a name like \"red\", or \"ansi_red\")"
    return None


def state_colour(theme: Theme, state: str) -> str:
    """The colour of a state (ok, failed, pending, running) in `theme`, for a Rich style ("" for none)."""
    return rich_colour(theme.variables.get(f"state-{state}") or getattr(theme, STATE_FALLBACK[state], None))


def colour(theme: Theme, role: str) -> str:
    """One of the theme's colours (error, warning, success, accent...) for a Rich style ("" for none)."""
    return rich_colour(getattr(theme, role, None))


def rich_colour(value: str | None) -> str:
    """A Textual colour as Rich writes it: Textual's "ansi_bright_red" is Rich's "bright_red" (the terminal's
    own colour, which a 16-colour theme must keep), and Rich cannot draw an alpha channel."""
    if not value:
        return ""
    if value.startswith("ansi_"):
        return value.removeprefix("ansi_")
    try:
        return Color.parse(value).hex6
    except ColorParseError:
        return ""
