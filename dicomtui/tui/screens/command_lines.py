"""Copy as command: an action's `dicomtui` and dcmtk lines (dicomtui/command_lines.py), one picked and copied.

Any screen opens it with the CommandLine entries of its action. Each entry shows its label, then its two lines
wrapped to the width, then its note; up and down move between the lines only, enter copies the highlighted
line to the clipboard (App.copy_to_clipboard: OSC 52, which reaches the local clipboard over SSH in terminals
that allow it) and closes, esc closes.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from ...command_lines import CommandLine


class CommandLinesScreen(ModalScreen[str | None]):
    """Gives the copied line, or None when closed without copying."""

    DEFAULT_CSS = """
    CommandLinesScreen {
        align: center middle;
        background: $background 60%;
    }
    #commands {
        width: 78;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        border: round $primary;
        background: $surface;
        padding: 0 1;
    }
    #commands-title {
        text-style: bold;
    }
    #commands-list {
        height: auto;
        max-height: 80vh;  /* the title, the hint and the frame keep their rows at 24 lines */
        border: none;
        padding: 0;
        background: $surface;
    }
    /* Labels and notes cannot be picked, but are there to be read. */
    #commands-list > .option-list--option-disabled {
        color: $foreground;
    }
    #commands-hint {
        color: $text-muted;
    }
    """

    BINDINGS = [
        # priority: the list would otherwise take enter for its own selection, and a keymap could not move it.
        Binding("enter", "copy", "Copy", id="commands.copy", priority=True,
                tooltip="Copy the highlighted line to the clipboard and close"),
        Binding("escape", "close", "Close", id="commands.close", tooltip="Close without copying"),
    ]

    def __init__(self, entries: Sequence[CommandLine], title: str = "Copy as command") -> None:
        super().__init__()
        self._entries = list(entries)
        self._title = title
        self._lines: dict[str, str] = {}  # option id -> the line it copies

    def compose(self) -> ComposeResult:
        options: list[Option | None] = []
        for number, entry in enumerate(self._entries):
            if number:
                options.append(None)  # a rule between actions
            options.append(Option(Text(entry.label, style="bold"), disabled=True))
            for kind, line in (("dicomtui", entry.dicomtui), ("dcmtk", entry.dcmtk)):
                ident = f"{number}-{kind}"
                self._lines[ident] = line
                options.append(Option(Text(line), id=ident))
            if entry.note:
                options.append(Option(Text(entry.note, style="italic dim"), disabled=True))
        with Vertical(id="commands"):
            yield Static(self._title, id="commands-title")
            yield OptionList(*options, id="commands-list")
            yield Static("↑↓ choose a line · enter copies it · esc closes", id="commands-hint")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.focus()
        options.action_first()  # the first line, not the label above it (labels are disabled)

    @property
    def highlighted(self) -> str | None:
        """The line the cursor is on."""
        options = self.query_one(OptionList)
        if options.highlighted is None:
            return None
        return self._lines.get(options.get_option_at_index(options.highlighted).id or "")

    def action_copy(self) -> None:
        line = self.highlighted
        if line is None:
            return
        self.app.copy_to_clipboard(line)
        self.app.notify(f"Copied: {line}", title="Copy as command")
        self.dismiss(line)

    def action_close(self) -> None:
        self.dismiss(None)
