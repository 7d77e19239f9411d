"""[keymap]: a binding's keys replaced by id, unknown ids reported, and the README lists every id."""

from __future__ import annotations

from pathlib import Path

from textual.binding import Binding
from textual.dom import DOMNode

from dicomtui.config import ConfigFile, load
from dicomtui.store.echo_log import EchoLog
from dicomtui.tui.app import DicomtuiApp
from dicomtui.tui.keymap import known_bindings
from dicomtui.tui.screens.transfers import TransfersScreen
from dicomtui.tui.screens.worklist import WorklistScreen

from .conftest import _record_notifications

README = Path(__file__).resolve().parents[2] / "README.md"


def _app(tmp_path: Path, text: str) -> DicomtuiApp:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    app = DicomtuiApp(ConfigFile(path), EchoLog(tmp_path / "state.sqlite3"), receiver=False)
    _record_notifications(app)
    return app


async def test_a_binding_gets_the_users_keys(tmp_path):
    app = _app(tmp_path, '[keymap]\n"app.section.transfers" = "f4"\n"app.section.worklist" = "5,f5"\n')
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f4")
        assert isinstance(app.screen, TransfersScreen)
        await pilot.press("f5")
        assert isinstance(app.screen, WorklistScreen)
        await pilot.press("4")  # replaced: 4 no longer switches
        assert isinstance(app.screen, WorklistScreen)
        await pilot.press("5")  # kept among the new keys
        assert isinstance(app.screen, WorklistScreen)
        assert not [n for n in app.sent_notifications if n.title == "Keymap"]


async def test_unknown_ids_are_reported(tmp_path):
    app = _app(tmp_path, '[keymap]\n"transfers.pasue" = "P"\n"nodes.add" = "A"\n')
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        [said] = [n.message for n in app.sent_notifications if n.title == "Keymap"]
        assert "transfers.pasue" in said and "nodes.add" not in said


def test_a_keymap_value_that_is_not_keys_is_a_config_problem(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[keymap]\n"nodes.add" = 5\n"nodes.edit" = "ctrl+e, f2"\n')
    loaded = load(path)
    [problem] = loaded.problems
    assert problem.line == 2 and 'must be keys in quotes, like "P"' in problem.message
    assert loaded.config.keymap == {"nodes.edit": "ctrl+e,f2"}


def _all_bindings() -> list[tuple[str, Binding]]:
    found, seen = [], set()

    def walk(cls):
        for sub in cls.__subclasses__():
            if sub not in seen:
                seen.add(sub)
                if sub.__module__.startswith("dicomtui."):
                    found.extend((sub.__name__, b) for b in sub.__dict__.get("BINDINGS", []))
                walk(sub)

    walk(DOMNode)
    return found


def test_every_binding_has_an_id_a_description_and_a_line_in_the_readme():
    missing = [(owner, b.key) for owner, b in _all_bindings() if not isinstance(b, Binding) or not b.id]
    assert not missing, f"bindings without an id: {missing}"
    text = README.read_text(encoding="utf-8")
    bindings = known_bindings()
    assert len(bindings) > 60
    for ident, binding in bindings.items():
        assert binding.description, ident
        assert f"`{ident}`" in text, f"README's key list lacks {ident}"


# Keys a terminal, an SSH client or a multiplexer may take for itself: flow control (XON/XOFF), tmux's and
# screen's prefixes, suspend, and the function keys GNOME Terminal and others keep for help, menu, full screen.
SWALLOWED = {"ctrl+s", "ctrl+q", "ctrl+b", "ctrl+a", "ctrl+z", "ctrl+backslash", "f1", "f10", "f11", "f12"}


def test_no_action_needs_a_key_that_terminals_may_swallow():
    import dicomtui.tui.app  # noqa: F401 - imports every screen, so every binding is known
    from dicomtui.tui.keymap import known_bindings

    for ident, binding in known_bindings().items():
        keys = {key.strip() for key in binding.key.split(",")}
        assert keys - SWALLOWED, f"{ident} has only keys a terminal may swallow: {binding.key}"
