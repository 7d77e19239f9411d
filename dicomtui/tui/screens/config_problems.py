"""Shown when the config file has problems: what they are, and the file left untouched."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ...config import Problem


class ConfigProblemsScreen(ModalScreen[str]):
    """Dismisses with "reload", "close" or "quit"."""

    BINDINGS = [
        Binding("r,ctrl+r", "choose('reload')", "Reload", id="problems.reload",
                tooltip="Read the config file again after fixing it"),
        Binding("escape", "choose('close')", "Close", id="problems.close",
                tooltip="Look around without the config; nothing can be changed"),
        Binding("q", "choose('quit')", "Quit", id="problems.quit"),
    ]

    def __init__(self, path: Path, problems: list[Problem]) -> None:
        super().__init__()
        self._path = path
        self._problems = problems

    def compose(self) -> ComposeResult:
        count = len(self._problems)
        with VerticalScroll(id="problems"):
            yield Static(Text(f"The config file has {count} problem{'s' if count > 1 else ''}",
                              style="bold"), id="problems-title")
            yield Static(f"{self._path}\nIt has not been changed. Fix it in an editor, then press r to "
                         "reload.", id="problems-intro")
            listing = Text()
            for problem in self._problems:
                where = f"line {problem.line}: " if problem.line else ""
                listing.append(f"• {where}", style="bold")
                listing.append(f"{problem.message}\n")
            yield Static(listing, id="problems-list")
            yield Static(Text("r reload · esc look around (read-only) · q quit", style="dim"))

    def action_choose(self, choice: str) -> None:
        self.dismiss(choice)
