"""Log: every association dicomtui opened or accepted, and what went over the wire on it.

The entries come from the association log (store/association_log.py), which every dicomtui
process writes: the app, the jobs it runs, `dicomtui serve`, a cron `dicomtui echo`. The table
reads the newest few hundred every LIVE_SECONDS in a thread; the pane shows the highlighted
one whole. Another screen opens this one on the associations of one of its rows (a node's echo,
a query, a job, a receiver association): `app.open_log(LogFilter(...))`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, VerticalScroll
from textual.widgets import Input, Static

from ..association_view import cells, columns_for, detail, haystack, peer_ae
from ..themes import state_colour
from ..widgets.result_table import ResultTable
from .section import SectionScreen

LIVE_SECONDS = 2.0
SHOWN = 500  # the newest entries the table holds


@dataclass(frozen=True)
class LogFilter:
    """The associations of one thing: what caused them (`origin`), from `since` on, or exactly `ids`."""

    title: str
    origin: str | None = None
    since: float | None = None
    ids: tuple[str, ...] | None = None


class AssociationsScreen(SectionScreen):
    SECTION_ID = "log"
    HELP = ("Every association dicomtui opened or accepted (the app, its jobs, 'dicomtui serve', commands run "
            "from cron), newest first: the presentation contexts proposed and how each was answered, every "
            "DIMSE message with its status, and how the association ended and why. l on a row of another screen "
            "(a node, a query, a job, a receiver association) opens its associations here; esc shows all again. "
            "Values that identify a patient are masked: v shows them, and v again hides them. / filters, "
            "enter or i gives the pane most of the screen.")
    BINDINGS = [
        Binding("R", "refresh", "Refresh", id="log.refresh", tooltip="Read the association log again"),
        Binding("v", "reveal", "Show PHI", id="log.reveal",
                tooltip="Show or mask the values that identify a patient in this screen"),
        Binding("slash", "filter", "Filter", id="log.filter", tooltip="Show only entries containing a text"),
        Binding("i", "toggle_detail", "Details", id="log.details", show=False,
                tooltip="Give the entry's pane most of the screen, or the table back"),
        Binding("escape", "back", "All", id="log.back", show=False,
                tooltip="Close the filter, or show every association again"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._entries: list[Any] = []  # AssociationEntry summaries, newest first
        self._shown: list[int] = []
        self._text = ""
        self._scope: LogFilter | None = None
        self._reveal = False
        self._full: Any = None  # the highlighted entry, read whole
        self._cursor_id: str | None = None  # the highlighted entry's id: the cursor stays on it as entries come
        self._wide = False

    def compose_body(self) -> ComposeResult:
        yield Static(id="log-status")
        yield Input(placeholder="filter the entries; esc clears", id="log-filter", compact=True)
        with Container(id="log-body"):
            yield ResultTable(id="log-table")
            with VerticalScroll(id="log-detail"):
                yield Static(id="log-detail-text")

    def on_mount(self) -> None:
        self.query_one("#log-filter").display = False
        self._set_columns()
        self.set_interval(LIVE_SECONDS, self._poll)

    def on_screen_resume(self) -> None:
        wanted = getattr(self.app, "take_log_filter", lambda: None)()
        if wanted is not None:
            self._scope = wanted
        self._poll()
        self.query_one("#log-table").focus()

    def on_resize(self, event: events.Resize) -> None:
        self._set_columns()

    @property
    def _table(self) -> ResultTable:
        return self.query_one("#log-table", ResultTable)

    def _set_columns(self) -> None:
        self._wide = self.size.width >= 110
        self._table.set_columns(columns_for(self.size.width))
        self._show()

    # -- reading the log (in a thread: it is SQLite) ----------------------------------------------------
    def _poll(self) -> None:
        if self.is_attached and self.app.screen is self:
            self._read(self._scope)

    @work(thread=True, exclusive=True, group="log-read", exit_on_error=False, description="read the log")
    def _read(self, scope: LogFilter | None) -> None:
        log = self.app.association_log
        if scope is None:
            entries = log.recent(SHOWN)
        elif scope.ids is not None:
            entries = log.recent(SHOWN, ids=list(scope.ids))
        else:
            entries = log.recent(SHOWN, origin=scope.origin)
            if scope.since is not None:
                entries = [e for e in entries if e.started >= scope.since - 1.0]
        self.app.call_from_thread(self._took, scope, entries)

    def _took(self, scope: LogFilter | None, entries: list[Any]) -> None:
        if scope != self._scope:
            return  # read for a scope left meanwhile
        if [e.id for e in entries] == [e.id for e in self._entries] and all(
                a.outcome == b.outcome for a, b in zip(entries, self._entries, strict=False)):
            return
        self._entries = entries
        self._show()

    def _show(self) -> None:
        wanted = self._text.casefold()
        self._shown = [i for i, e in enumerate(self._entries) if not wanted or wanted in haystack(e)]
        cursor = next((n for n, i in enumerate(self._shown) if self._entries[i].id == self._cursor_id), 0)
        wide = self._wide
        self._table.show_rows(len(self._shown), lambda n: cells(self._entries[self._shown[n]], wide), cursor)
        self._status()
        if not self._shown:
            self._full = None
            self.query_one("#log-detail-text", Static).update(self._empty_text())

    def palette_context(self) -> str:
        entry = self._current()
        return f"{entry.service} {peer_ae(entry)} {time.strftime('%H:%M:%S', time.localtime(entry.started))}" \
            if entry is not None else ""

    def _current(self) -> Any:
        row = self._table.cursor_row if self.is_mounted else 0
        if 0 <= row < len(self._shown):
            return self._entries[self._shown[row]]
        return None

    def _empty_text(self) -> str:
        if self._scope is not None:
            return (f"No associations of {self._scope.title} in the log (yet). It keeps an association once it "
                    "has ended; esc shows every association.")
        return "No associations yet: echo a node, query, send or receive something, and it shows here."

    def _status(self) -> None:
        scope = f"Associations of {self._scope.title}" if self._scope else "All associations"
        parts = [scope, f"{len(self._shown)} shown" + (f" of {len(self._entries)}" if self._text else "")]
        parts.append("patient data shown (v)" if self._reveal else "patient data masked (v)")
        if self._scope:
            parts.append("esc: all")
        self.query_one("#log-status", Static).update(Text(" · ".join(parts)))

    # -- the highlighted entry --------------------------------------------------------------------------
    @on(ResultTable.RowHighlighted, "#log-table")
    def _highlighted(self, event: ResultTable.RowHighlighted) -> None:
        entry = self._current()
        if entry is not None:
            self._cursor_id = entry.id
            self._read_one(entry.id)

    @work(thread=True, exclusive=True, group="log-entry", exit_on_error=False, description="read a log entry")
    def _read_one(self, entry_id: str) -> None:
        full = self.app.association_log.get(entry_id)
        self.app.call_from_thread(self._show_entry, full)

    def _show_entry(self, full: Any) -> None:
        self._full = full
        pane = self.query_one("#log-detail-text", Static)
        if full is None:
            pane.update("This entry is no longer in the log.")
            return
        theme = self.app.current_theme
        colours = {state: state_colour(theme, state) for state in ("ok", "failed", "pending")}
        pane.update(detail(full, self._reveal, colours))

    # -- actions -------------------------------------------------------------------------------------------
    def action_refresh(self) -> None:
        self._entries = []
        self._read(self._scope)

    def action_reveal(self) -> None:
        self._reveal = not self._reveal
        self._status()
        if self._full is not None:
            self._show_entry(self._full)

    def action_filter(self) -> None:
        box = self.query_one("#log-filter", Input)
        box.display = True
        box.focus()

    @on(Input.Changed, "#log-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self._text = event.value
        self._show()

    @on(Input.Submitted, "#log-filter")
    def _filter_done(self) -> None:
        self._table.focus()

    def action_toggle_detail(self) -> None:
        self.toggle_class("-big-detail")

    @on(ResultTable.RowSelected, "#log-table")
    def _selected(self) -> None:
        self.action_toggle_detail()

    def action_back(self) -> None:
        box = self.query_one("#log-filter", Input)
        if box.display:
            box.value = ""
            box.display = False
            self._table.focus()
        elif self.has_class("-big-detail"):
            self.remove_class("-big-detail")
        elif self._scope is not None:
            self._scope = None
            self._entries = []
            self._show()
            self._read(None)

    def show_scope(self, scope: LogFilter | None) -> None:
        """Show the associations of `scope` (None: all)."""
        self._scope = scope
        self._entries = []
        self._show()
        self._read(scope)
