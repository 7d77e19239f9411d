"""The line at the top: the app name, the sections with their keys, our AE title.

Plain labels styled by classes, so every theme colours it through app.tcss.
"""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label

from ..sections import Section


class SectionBar(Horizontal):
    def __init__(self, sections: list[Section], local_ae: str, active: str) -> None:
        super().__init__()
        self._sections = sections
        self._local_ae = local_ae
        self._active = active

    def compose(self) -> ComposeResult:
        yield Label("dicomtui", classes="app-name")
        for section in self._sections:
            classes = "section -active" if section.id == self._active else "section"
            yield Label(f"{section.key} {section.title}", classes=classes)
        yield Label(f"AE {self._local_ae}", classes="local-ae")

    def on_resize(self, event: events.Resize) -> None:
        # Sections come first: at 80 columns the AE title (on the Receiver screen too) makes room for them.
        labels = [len("dicomtui"), *(len(f"{s.key} {s.title}") for s in self._sections), len(f"AE {self._local_ae}")]
        self.query_one(".local-ae").display = sum(width + 2 for width in labels) <= event.size.width
