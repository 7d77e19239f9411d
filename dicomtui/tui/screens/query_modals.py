"""Small questions the Query screen asks: pick one of a list (a move destination, a saved query), or type a name."""

from __future__ import annotations

from collections.abc import Callable

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option


class PickScreen(ModalScreen[str | None]):
    """A titled list; enter picks the highlighted entry (its id), esc gives None; with `on_delete`, d or delete
    hands the highlighted id to it (which asks, deletes, and calls `remove_choice`). With `numbered`, the first
    nine entries show 1-9 and that digit picks one at once."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="pick.cancel", tooltip="Close without choosing"),
        Binding("d,delete", "delete", "Delete", id="pick.delete", tooltip="Delete the highlighted entry"),
    ]

    def __init__(self, title: str, choices: list[tuple[str, str]], hint: str = "",
                 on_delete: Callable[[PickScreen, str], None] | None = None, numbered: bool = False) -> None:
        """`choices`: (id, text shown)."""
        super().__init__()
        self._title = title
        self._choices = choices
        self._hint = hint
        self._on_delete = on_delete
        self._numbered = numbered

    def compose(self) -> ComposeResult:
        with Vertical(id="pick", classes="q-modal"):
            yield Static(self._title, classes="q-modal-title")
            yield OptionList(*[Option(f"{i + 1}  {text}" if self._numbered and i < 9 else text, id=ident)
                               for i, (ident, text) in enumerate(self._choices)], id="pick-list")
            if self._hint:
                yield Static(self._hint, classes="q-modal-hint")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    @property
    def highlighted(self) -> str | None:
        """The id of the highlighted entry."""
        options = self.query_one(OptionList)
        if options.highlighted is None:
            return None
        return options.get_option_at_index(options.highlighted).id

    def on_key(self, event: events.Key) -> None:
        """With `numbered`, 1-9 pick the entry shown with that number (none once it was deleted)."""
        if not self._numbered or event.character is None or event.character not in "123456789":
            return
        event.stop()
        event.prevent_default()
        index = int(event.character) - 1
        if index < len(self._choices):
            ident = self._choices[index][0]
            options = self.query_one(OptionList)
            if any(options.get_option_at_index(i).id == ident for i in range(options.option_count)):
                self.dismiss(ident)

    def remove_choice(self, ident: str) -> None:
        """Take an entry off the list; with none left there is nothing to pick, and the list closes."""
        options = self.query_one(OptionList)
        options.remove_option(ident)
        if options.option_count == 0:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_delete(self) -> None:
        ident = self.highlighted
        if ident is not None and self._on_delete is not None:
            self._on_delete(self, ident)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self._on_delete is not None if action == "delete" else True


class NameScreen(ModalScreen[str | None]):
    """One line of text; enter gives it (stripped, never empty), esc gives None."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="name.cancel", tooltip="Close without saving")]

    def __init__(self, title: str, value: str = "", placeholder: str = "") -> None:
        super().__init__()
        self._title = title
        self._value = value
        self._placeholder = placeholder

    def compose(self) -> ComposeResult:
        with Vertical(id="name", classes="q-modal"):
            yield Static(self._title, classes="q-modal-title")
            yield Input(self._value, placeholder=self._placeholder, id="name-input", compact=True)
            yield Static("enter saves · esc cancels", classes="q-modal-hint")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.value.strip():
            self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)
