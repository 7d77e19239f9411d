"""Theme files: the shipped ones load, and every way a user's file can be wrong is reported in words."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.app import App

from dicomtui.tui.themes import (
    DEFAULT_THEME,
    load_themes,
    rich_colour,
    shipped_folder,
    state_colour,
    theme_from,
)

SHIPPED = ("dicomtui-dark", "dicomtui-light", "dicomtui-contrast")


def test_the_shipped_themes_load_without_a_problem():
    found = load_themes([shipped_folder()])
    assert found.problems == []
    assert sorted(t.name for t in found.themes) == sorted(SHIPPED)
    assert DEFAULT_THEME in SHIPPED
    contrast = next(t for t in found.themes if t.name == "dicomtui-contrast")
    # 16-colour terminals: every colour of the high-contrast theme is one of the terminal's own.
    assert contrast.ansi and all(str(getattr(contrast, key)).startswith("ansi_")
                                 for key in ("primary", "error", "success", "warning", "foreground"))
    light = next(t for t in found.themes if t.name == "dicomtui-light")
    assert not light.dark and state_colour(light, "failed") == "#C0262D"


async def test_textual_accepts_every_shipped_theme():
    """Each theme really builds Textual's colour system and renders (not only parses)."""
    found = load_themes([shipped_folder()])
    app = App()
    async with app.run_test(size=(40, 10)) as pilot:
        for theme in found.themes:
            app.register_theme(theme)
            app.theme = theme.name
            await pilot.pause()
            assert app.current_theme.name == theme.name
            assert app.theme_variables["state-ok"]


def _write(folder: Path, name: str, text: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")


def test_broken_files_are_all_reported_and_the_good_ones_kept(tmp_path):
    _write(tmp_path, "good.toml", 'name = "mine"\nprimary = "#112233"\n[states]\nok = "green"\n')
    _write(tmp_path, "colour.toml", 'name = "c"\nprimary = "blu"\n')
    _write(tmp_path, "key.toml", 'name = "k"\nprimary = "red"\nprimery = "red"\n')
    _write(tmp_path, "syntax.toml", 'name = "s\nprimary = "red"\n')
    _write(tmp_path, "state.toml", 'name = "t"\nprimary = "red"\n[states]\nbusy = "red"\n')
    (tmp_path / "latin1.toml").write_bytes('name = "é"\n'.encode("latin-1"))
    found = load_themes([tmp_path])
    assert [t.name for t in found.themes] == ["mine"]
    problems = "\n".join(found.problems)
    assert "colour.toml: primary: 'blu' is not a colour" in problems
    assert "key.toml: unknown key 'primery'" in problems
    assert "syntax.toml: not valid TOML" in problems
    assert "state.toml: [states] unknown state 'busy'" in problems
    assert "latin1.toml: not UTF-8 text" in problems
    assert len(found.problems) == 5


def test_a_users_theme_replaces_a_shipped_one_of_the_same_name(tmp_path):
    _write(tmp_path, "mine.toml", 'name = "dicomtui-dark"\nprimary = "#ff0000"\n')
    found = load_themes([shipped_folder(), tmp_path])
    [dark] = [t for t in found.themes if t.name == "dicomtui-dark"]
    assert dark.primary == "#ff0000"


@pytest.mark.parametrize("data, words", [
    ({"primary": "red"}, "every theme needs a name"),
    ({"name": "x"}, "needs a primary colour"),
    ({"name": "x", "primary": 5}, "a colour is text in quotes"),
    ({"name": "x", "primary": "red", "dark": "yes"}, "dark: must be true or false"),
    ({"name": "x", "primary": "red", "text_alpha": 2}, "text_alpha: must be a number from 0.0 to 1.0"),
    ({"name": "x", "primary": "red", "states": 1}, "states: must be a table"),
])
def test_each_problem_says_what_to_write(data, words):
    theme, problems = theme_from(data)
    assert theme is None and any(words in p for p in problems), problems


def test_colours_for_rich():
    assert rich_colour("ansi_bright_red") == "bright_red"
    assert rich_colour("#4c9be8") == "#4C9BE8"
    assert rich_colour(None) == ""
