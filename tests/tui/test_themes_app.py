"""Themes in the app: the default, [ui] theme, --theme, the user's own files (broken ones reported together,
never stopping the app), and a theme chosen in the command palette kept in the config with its comments."""

from __future__ import annotations

from pathlib import Path

from dicomtui import paths
from dicomtui.config import ConfigFile
from dicomtui.store.echo_log import EchoLog
from dicomtui.tui.app import DicomtuiApp

from .conftest import _record_notifications
from .test_nodes_flow import wait_for

HAND_WRITTEN = """\
# my dicomtui config
[local]
ae_title = "DICOMTUI"   # our AE title

[ui]
# the look
theme = "dicomtui-light"
"""


def _app(tmp_path: Path, text: str | None = None, theme: str | None = None) -> DicomtuiApp:
    path = tmp_path / "config.toml"
    if text is not None:
        path.write_text(text, encoding="utf-8")
    app = DicomtuiApp(ConfigFile(path), EchoLog(tmp_path / "state.sqlite3"), receiver=False, theme=theme)
    _record_notifications(app)
    return app


async def test_the_default_theme_is_dicomtuis_dark_one(tmp_path):
    app = _app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.theme == "dicomtui-dark"
        assert {"dicomtui-dark", "dicomtui-light", "dicomtui-contrast"} <= set(app.available_themes)
        assert not [n for n in app.sent_notifications if n.title == "Theme problems"]


async def test_the_config_chooses_and_theme_overrides_for_one_run(tmp_path):
    async with _app(tmp_path, HAND_WRITTEN).run_test(size=(80, 24)) as pilot:
        assert pilot.app.theme == "dicomtui-light"
    async with _app(tmp_path, HAND_WRITTEN, theme="dicomtui-contrast").run_test(size=(80, 24)) as pilot:
        assert pilot.app.theme == "dicomtui-contrast"
    assert (tmp_path / "config.toml").read_text() == HAND_WRITTEN  # --theme is not saved


async def test_users_themes_load_and_broken_ones_are_reported_together(tmp_path):
    folder = paths.config_dir() / "themes"
    folder.mkdir(parents=True)
    (folder / "night.toml").write_text('name = "night"\nprimary = "#336699"\n[states]\nfailed = "#ff00ff"\n')
    (folder / "typo.toml").write_text('name = "typo"\nprimary = "#33669"\n')
    (folder / "notes.toml").write_text("this is not TOML\n")
    app = _app(tmp_path, '[ui]\ntheme = "night"\n')
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.theme == "night" and app.theme_variables["state-failed"]
        [problems] = [n.message for n in app.sent_notifications if n.title == "Theme problems"]
        assert "typo.toml: primary: '#33669' is not a colour" in problems
        assert "notes.toml: not valid TOML" in problems
        assert "night" not in problems.replace(str(folder), "")


async def test_an_unknown_theme_falls_back_and_says_which_there_are(tmp_path):
    app = _app(tmp_path, '[ui]\ntheme = "solarised"\n')
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.theme == "dicomtui-dark"
        [problems] = [n.message for n in app.sent_notifications if n.title == "Theme problems"]
        assert "there is no theme 'solarised'" in problems and "dicomtui-light" in problems


async def test_a_theme_chosen_in_the_palette_is_kept_with_the_files_comments(tmp_path):
    app = _app(tmp_path, HAND_WRITTEN)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.press(*"theme")
        await pilot.pause(0.3)
        await pilot.press("enter")  # Textual's "Change theme": a list of the themes
        await pilot.pause(0.3)
        await pilot.press(*"dicomtui-contrast")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(pilot, lambda: 'theme = "dicomtui-contrast"' in (tmp_path / "config.toml").read_text())
        assert app.theme == "dicomtui-contrast"
    text = (tmp_path / "config.toml").read_text()
    assert text == HAND_WRITTEN.replace("dicomtui-light", "dicomtui-contrast")


async def test_a_first_choice_adds_a_ui_table_to_a_file_without_one(tmp_path):
    app = _app(tmp_path, '# mine\n[local]\nae_title = "ME"\n')
    async with app.run_test(size=(80, 24)) as pilot:
        app.theme = "dicomtui-light"
        await wait_for(pilot, lambda: "[ui]" in (tmp_path / "config.toml").read_text())
    text = (tmp_path / "config.toml").read_text()
    assert text.startswith('# mine\n[local]\nae_title = "ME"\n') and 'theme = "dicomtui-light"' in text
    assert ConfigFile(tmp_path / "config.toml").config.ui.theme == "dicomtui-light"
