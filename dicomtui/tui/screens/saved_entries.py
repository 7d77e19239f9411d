"""Named entries kept in the config file (saved queries, worklist presets): ask a name and save, pick one and run
it or delete it, and change the config file saying in a notification why a change could not be made."""

from __future__ import annotations

from collections.abc import Callable

from textual.screen import Screen

from ...config import ConfigError
from ...dicom.validation import InvalidValue
from .confirm import ConfirmScreen
from .query_modals import NameScreen, PickScreen


def change_config(screen: Screen, failed: str, change: Callable) -> bool:
    """Run `change(config_file)`; say why in a notification titled `failed` when it cannot be done."""
    app = screen.app
    try:
        change(app.config_file)  # type: ignore[attr-defined]
    except InvalidValue as exc:
        app.notify(str(exc), title=failed, severity="error", timeout=10)
    except ConfigError as exc:
        app.notify("the config file has problems: " + "; ".join(p.format(exc.path) for p in exc.problems),
                   title=failed, severity="error", timeout=10)
    except OSError as exc:
        app.notify(f"cannot write {app.config_file.path}: {exc.strerror}", title=failed,  # type: ignore[attr-defined]
                   severity="error", timeout=10)
    else:
        return True
    return False


def save_named(screen: Screen, title: str, placeholder: str, what: str, exists: Callable[[str], bool],
               save: Callable[[str, bool], None]) -> None:
    """Ask for a name, then `save(name, replace)`; a name in use (`exists`) is replaced only when confirmed."""

    def named(name: str | None) -> None:
        if not name:
            return
        if not exists(name):
            save(name, False)
            return
        screen.app.push_screen(ConfirmScreen(f"Replace the {what} {name!r}?", yes="Replace"),
                               lambda yes: save(name, True) if yes else None)

    screen.app.push_screen(NameScreen(title, placeholder=placeholder), named)


def pick_saved(screen: Screen, title: str, entries: list[tuple[str, str]], what: str, run: Callable[[int], None],
               delete: Callable[[int], bool], numbered: bool = False) -> None:
    """A list of `entries` (name, text shown): enter gives `run(index)` (with `numbered`, so do 1-9); d asks, then
    `delete(index)` (True when it was deleted, and it leaves the list)."""

    def on_delete(picker: PickScreen, ident: str) -> None:
        name = entries[int(ident)][0]

        def answered(yes: bool | None) -> None:
            if yes and delete(int(ident)):
                picker.remove_choice(ident)

        screen.app.push_screen(ConfirmScreen(f"Delete the {what} {name!r}?", yes="Delete"), answered)

    choices = [(str(index), text) for index, (_name, text) in enumerate(entries)]
    hint = f"{'1-9 or ' if numbered else ''}enter runs it · d deletes it · esc closes"
    screen.app.push_screen(PickScreen(title, choices, hint, on_delete=on_delete, numbered=numbered),
                           lambda picked: run(int(picked)) if picked is not None else None)
