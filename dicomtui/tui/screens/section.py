"""Base for the top-level screens: the section bar above, the footer of key bindings below."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer

from ..sections import sections
from ..widgets.section_bar import SectionBar


class SectionScreen(Screen):
    SECTION_ID = ""
    HELP = ""  # a few lines shown at the top of this screen's help

    def compose(self) -> ComposeResult:
        yield SectionBar(sections(), self.app.config_file.config.local.ae_title, self.SECTION_ID)
        yield from self.compose_body()
        yield Footer()

    def compose_body(self) -> ComposeResult:
        yield from ()

    @property
    def _config(self):
        """The config as last read (the app reads it again on ctrl+r)."""
        return self.app.config_file.config
