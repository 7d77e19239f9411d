"""The line at the top: the app name, the sections with their keys, our AE title."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from ..sections import Section


class SectionBar(Static):
    active: reactive[str] = reactive("")

    def __init__(self, sections: list[Section], local_ae: str, active: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self._sections = sections
        self._local_ae = local_ae
        self.set_reactive(SectionBar.active, active)

    def render(self) -> Text:
        text = Text.assemble((" dicomtui ", "bold reverse"), " ")
        for section in self._sections:
            style = "bold reverse" if section.id == self.active else ""
            text.append(f" {section.key} {section.title} ", style=style)
            text.append(" ")
        right = f"AE {self._local_ae} "
        width = self.size.width or 80
        text.append(" " * max(1, width - len(text.plain) - len(right)))
        text.append(right, style="dim")
        return text
