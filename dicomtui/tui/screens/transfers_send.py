"""The Send dialog: which node, which files or folders, how many associations at once."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.screen import ModalScreen
from textual.suggester import Suggester
from textual.validation import Function
from textual.widgets import Button, Input, Label, Select, Static

from ...engine.send_limits import DEFAULT_PARALLEL, MAX_PARALLEL
from ...units import size

PREVIEW_LIMIT = 200_000  # files counted for the preview before it says "more than"


@dataclass(frozen=True)
class SendRequest:
    target: str  # a node name from the config
    sources: list[str]  # absolute paths
    parallel: int


class PathSuggester(Suggester):
    """Completes the last path component from what is on disk (the first match, folders with a slash)."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        if not value:
            return None
        expanded = os.path.expanduser(value)
        folder, prefix = os.path.split(expanded)
        try:
            names = sorted(n for n in os.listdir(folder or ".") if n.startswith(prefix) and n != prefix)
        except OSError:
            return None
        if not names or (not prefix and len(names) > 1):
            return None
        name = names[0]
        suffix = "/" if os.path.isdir(os.path.join(folder or ".", name)) else ""
        return value + name[len(prefix):] + suffix


def _exists(value: str) -> bool:
    return bool(value.strip()) and os.path.exists(os.path.expanduser(value.strip()))


def _parallel_ok(value: str) -> bool:
    return value.strip().isdigit() and 1 <= int(value) <= MAX_PARALLEL


class SendScreen(ModalScreen[SendRequest | None]):
    AUTO_FOCUS = "#send-node"
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="send.cancel", tooltip="Close without sending"),
        Binding("ctrl+s,f2", "send", "Send", id="send.send", tooltip="Queue the send job and start it"),
    ]

    def __init__(self, nodes: list[tuple[str, str]], node: str | None = None, path: str = "") -> None:
        """`nodes`: (name, text shown) of the configured nodes."""
        super().__init__()
        self._node_choices = nodes
        self._initial_node = node
        self._initial_path = path

    def compose(self) -> ComposeResult:
        with Vertical(id="send", classes="q-modal"):
            yield Static("Send files and folders (C-STORE, as a job)", classes="q-modal-title")
            with Grid(id="send-grid"):
                yield Label("Node", classes="form-label")
                yield Select([(text, name) for name, text in self._node_choices], prompt="pick a node",
                             value=self._initial_node or Select.NULL, id="send-node", compact=True)
                yield Label("Path", classes="form-label")
                yield Input(self._initial_path, placeholder="a file or folder (→ completes)", id="send-path",
                            suggester=PathSuggester(), compact=True, validate_on=["changed", "submitted"],
                            validators=[Function(_exists, "no such file or folder")])
                yield Label("Parallel", classes="form-label")
                yield Input(str(DEFAULT_PARALLEL), id="send-parallel", compact=True,
                            validate_on=["changed", "submitted"],
                            validators=[Function(_parallel_ok, f"a number from 1 to {MAX_PARALLEL}")])
            yield Static("", id="send-preview")
            yield Static("", id="send-error")
            with Horizontal(id="send-buttons"):
                yield Button("Send", variant="primary", id="send-ok", compact=True)
                yield Button("Cancel", id="send-cancel", compact=True)
            yield Static("tab next · enter, ctrl+s or F2 sends · esc cancels", classes="q-modal-hint")

    def on_mount(self) -> None:
        if self._initial_path:
            self._preview(self._initial_path)
        if self._initial_node:  # the node is chosen already: what is left to type is the path
            self.query_one("#send-path", Input).focus()

    @on(Input.Changed, "#send-path")
    def _path_changed(self, event: Input.Changed) -> None:
        self._preview(event.value)

    @work(thread=True, exclusive=True, group="send-preview", exit_on_error=False, description="count files")
    def _preview(self, value: str) -> None:
        path = Path(os.path.expanduser(value.strip())) if value.strip() else None
        if path is None or not path.exists():
            text = ""
        elif path.is_file():
            text = f"1 file, {size(path.stat().st_size)}"
        else:
            count, total, more = 0, 0, False
            for folder, _dirs, files in os.walk(path):
                for name in files:
                    try:
                        total += os.stat(os.path.join(folder, name)).st_size
                    except OSError:
                        continue
                    count += 1
                if count >= PREVIEW_LIMIT:
                    more = True
                    break
            text = f"{'more than ' if more else ''}{count} files, {size(total)} (files that are not DICOM are skipped)"
        self.app.call_from_thread(self._show_preview, text)

    def _show_preview(self, text: str) -> None:
        if self.is_attached:
            self.query_one("#send-preview", Static).update(text)

    @on(Input.Submitted)
    @on(Button.Pressed, "#send-ok")
    def action_send(self) -> None:
        node = self.query_one("#send-node", Select).value
        path = self.query_one("#send-path", Input).value.strip()
        parallel = self.query_one("#send-parallel", Input).value.strip()
        error = self.query_one("#send-error", Static)
        if node is Select.NULL or node is None:
            error.update("Pick a node to send to.")
            self.query_one("#send-node", Select).focus()
        elif not _exists(path):
            error.update(f"No such file or folder: {path}" if path else "Type the path of a file or folder.")
            self.query_one("#send-path", Input).focus()
        elif not _parallel_ok(parallel):
            error.update(f"Parallel associations: a number from 1 to {MAX_PARALLEL}.")
            self.query_one("#send-parallel", Input).focus()
        else:
            self.dismiss(SendRequest(str(node), [os.path.abspath(os.path.expanduser(path))], int(parallel)))

    @on(Button.Pressed, "#send-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
