"""Help for the screen underneath: what it is for and every key it answers to."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark,f1", "dismiss", "Close", id="help.close")]

    def __init__(self, screen: Screen) -> None:
        super().__init__()
        self._target = screen

    def compose(self) -> ComposeResult:
        title = getattr(self._target, "SECTION_ID", "") or "dicomtui"
        with VerticalScroll(id="help"):
            yield Static(Text(f"Help: {title.capitalize()}", style="bold"), id="help-title")
            intro = getattr(self._target, "HELP", "")
            if intro:
                yield Static(intro, id="help-intro", markup=False)  # "[transfers]" is a config table, not markup
            yield Static(self._keys_table())
            yield Static(Text("esc, q or ? closes this help", style="dim"), id="help-hint")

    def _keys_table(self) -> Table:
        table = Table(box=None, show_header=True, header_style="bold", padding=(0, 1), expand=True)
        table.add_column("Key", no_wrap=True)
        table.add_column("Action", no_wrap=True)
        table.add_column("What it does")
        # dicomtui's keys first, then Textual's built-ins; a widget's only when it shows them
        # (a table's cursor keys are listed once, below, instead of one row each).
        ranked: list[tuple[int, str, str, str]] = []
        keys: dict[tuple[str, str], list[str]] = {}
        for active in self._target.active_bindings.values():
            binding = active.binding
            owner = active.node
            # dicomtui's own bindings all carry an id; Textual's built-ins do not.
            rank = 0 if binding.id else 1 if owner in (self._target, self.app) else 2
            if not binding.description or (rank == 2 and not binding.show):
                continue
            ident = (binding.action, binding.description)
            if ident not in keys:
                keys[ident] = []
                ranked.append((rank, binding.action, binding.description, binding.tooltip or ""))
            keys[ident].append(self.app.get_key_display(binding))
        for _, action, description, tooltip in sorted(ranked, key=lambda row: row[0]):
            table.add_row(" / ".join(keys[(action, description)]), description, tooltip)
        table.add_row("↑ ↓ pgup pgdn", "Move", "Move in the table; home and end jump to the ends")
        return table

    def action_dismiss(self, result: None = None) -> None:  # type: ignore[override]
        self.dismiss(None)
