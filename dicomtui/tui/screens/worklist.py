"""Worklist: what a node has scheduled, asked as a modality asks, refreshed and compared on request or on a timer."""

from __future__ import annotations

import datetime
from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, VerticalScroll
from textual.timer import Timer
from textual.widgets import Input, Static

from ...config import LOCAL_NODE, Node
from ...config.target import local_node
from ...dicom.phi import MASK
from ...dicom.validation import InvalidValue
from ...engine.loading import import_engine
from ..query_levels import text
from ..query_runs import Run, RunFinished
from ..themes import colour, state_colour
from ..widgets.result_table import ResultTable
from ..widgets.worklist_form import Filters, WorklistForm
from ..worklist_view import (
    Column,
    cells,
    column_sort_key,
    columns_for,
    day_text,
    detail,
    haystack,
    id_width,
    one_day,
    order_key,
)
from .section import SectionScreen
from .worklist_commands import WorklistCommands
from .worklist_copy_log import WorklistCopyAndLog
from .worklist_presets import WorklistPresets
from .worklist_table_keys import WorklistTableKeys

# From this many columns the attribute pane (56 cells and a border, app.tcss) stands beside the table, not below
# it: the table keeps about 120 cells, enough for birth date, sex and status beside the names. Narrower, the
# pane beside it would leave the table the 80-column set of columns.
SIDE_DETAIL_WIDTH = 180
FILTER_FIELDS = ("start_date", "start_time", "patient_name", "patient_id", "birth_date", "sex", "accession_number",
                 "modality", "requested_procedure_description", "step_description", "station_ae_title",
                 "station_name", "status", "referring_physician", "performing_physician", "location", "step_id",
                 "requested_procedure_id")


def now() -> datetime.datetime:
    """The local time: what date presets mean and when the rows were last updated (tests fix it here)."""
    return datetime.datetime.now()


class WorklistScreen(WorklistCopyAndLog, WorklistPresets, WorklistTableKeys, SectionScreen):
    SECTION_ID = "worklist"
    COMMANDS = SectionScreen.COMMANDS | {WorklistCommands}
    HELP = ("Ask a worklist server (a RIS, or this machine's own worklist) what is scheduled, the way a modality "
            "asks: as its station AE title, for its modality, for a day (presets are worked out again at every "
            "refresh). Enter in the form asks; each scheduled procedure step is a row, and the columns that do not "
            "fit lie to the right (left and right move a column; arrows on the header say there are more). "
            "R asks again and compares: rows that appeared are highlighted (+), changed ones marked (~), and the "
            "ones that vanished stay, struck through (×), until the next refresh; the status line counts them. "
            "a refreshes every [worklist] refresh_seconds (30 s unless set) until pressed again. "
            "Enter or i enlarges the pane with every attribute of the highlighted item, sequences included. "
            "/ filters the rows, s sorts by the next column, x saves the shown rows as CSV in the data folder and "
            "X as JSON (as 'dicomtui worklist --json'; vanished rows are left out). S keeps the node and filters "
            "as a preset in the config file, o lists them and a digit (or enter) runs one (d in that list deletes "
            "one). c stops a query, f goes back to the form.")
    BINDINGS = [
        Binding("ctrl+r", "run_query", "Query", id="worklist.run", tooltip="Ask the node with the form's filters"),
        Binding("R", "refresh", "Refresh", id="worklist.refresh",
                tooltip="Ask again and highlight what appeared, changed or vanished"),
        Binding("a", "toggle_auto", "Auto", id="worklist.auto", tooltip="Refresh on an interval, or stop doing so"),
        Binding("slash", "filter", "Filter", id="worklist.filter", show=False,
                tooltip="Show only rows containing a text"),
        Binding("s", "sort", "Sort", id="worklist.sort", show=False, tooltip="Sort by the next column"),
        Binding("x", "export", "Export", id="worklist.export", tooltip="Save the shown rows as CSV"),
        Binding("X", "export_json", "JSON", id="worklist.export_json", show=False,
                tooltip="Save the shown rows as JSON, like 'dicomtui worklist --json'"),
        Binding("o", "open_preset", "Presets", id="worklist.presets", tooltip="Open a saved preset and run it"),
        Binding("S", "save_preset", "Save preset", id="worklist.save_preset", show=False,
                tooltip="Keep the node and filters as a preset in the config file"),
        Binding("i", "toggle_detail", "Details", id="worklist.details", show=False,
                tooltip="Give the attribute pane most of the screen, or the table back"),
        Binding("f", "edit_form", "Form", id="worklist.form", show=False, tooltip="Back to the filters"),
        Binding("c", "stop", "Stop", id="worklist.stop", show=False, tooltip="Stop the query under way"),
        Binding("y", "copy_command", "Copy cmd", id="worklist.copy", show=False,
                tooltip="Copy the worklist query as a dicomtui or a dcmtk findscu command line"),
        Binding("l", "log", "Log", id="worklist.log", show=False,
                tooltip="The association log of this node's worklist queries, what went over the wire"),
        Binding("escape", "back", "Back", id="worklist.back", show=False,
                tooltip="Close the filter, or leave the form for the table"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._node: Node | None = None  # of the rows shown (or being asked for)
        self._request: Any = None  # the engine's WorklistRequest of the rows shown
        self._rows: list[Any] = []  # WorklistRows in the worklist's order, the vanished ones among them
        self._shown: list[int] = []  # indices into _rows, filtered and sorted
        self._marks: dict[int, str] = {}  # id(row) -> "added", "changed" or "vanished", since the refresh before
        self._vanished: list[Any] = []  # rows the refresh before had and the last one not: shown until the next
        self._filter = ""
        self._sort: str | None = None  # a Column key
        self._columns: list[Column] = []
        self._fit = 0  # how many of _columns fill the table's width; the others lie past its right edge
        self._run: Run | None = None
        self._comparing = False  # the run under way asks what the rows shown answered: compare them
        self._updated: str | None = None  # HH:MM:SS of the rows shown
        self._note = ""  # how the last run ended, when not with fresh rows (an error, stopped)
        self._failed = False
        self._auto = False
        self._timer: Timer | None = None
        self._last_error: str | None = None  # notified once, not at every failing auto-refresh

    # -- layout -------------------------------------------------------------------------------------
    def compose_body(self) -> ComposeResult:
        yield WorklistForm(self._config.node_names(), id="wl-form")
        yield Static(id="wl-status")
        yield Input(placeholder="filter the rows; esc clears", id="wl-filter", compact=True)
        with Container(id="wl-body"):
            yield ResultTable(id="wl-table")
            with VerticalScroll(id="wl-detail"):
                yield Static(id="wl-detail-text")

    def on_mount(self) -> None:
        self.query_one("#wl-filter").display = False
        self.watch(self.app, "phi_masked", lambda _masked: self._fill(), init=False)
        self._fill()
        self.query_one("#wl-station", Input).focus()

    def on_resize(self, event: events.Resize) -> None:
        self.set_class(event.size.width >= SIDE_DETAIL_WIDTH, "-side-detail")
        self.call_after_refresh(self._fill)

    @property
    def _table(self) -> ResultTable:
        return self.query_one("#wl-table", ResultTable)

    def config_reloaded(self) -> None:
        self.query_one(WorklistForm).set_nodes(self._config.node_names())

    # -- asking -------------------------------------------------------------------------------------
    @on(WorklistForm.Submitted)
    def action_run_query(self) -> None:
        form = self.query_one(WorklistForm)
        if form.checked("Worklist"):
            self.run_filters(form.filters())

    def run_date(self, preset: str) -> None:
        """Set the date preset and ask (from the command palette)."""
        self.query_one(WorklistForm).set_date(preset)
        self.call_after_refresh(self.action_run_query)

    def run_filters(self, filters: Filters) -> None:
        node = self._node_named(filters.node)
        if node is None:
            self.notify(f"There is no node named {filters.node!r}; choose one (or add it on the Nodes screen).",
                        title="Worklist", severity="warning")
            return
        engine = import_engine("dicomtui.engine.worklist_request")  # no pydicom: quick on the UI thread
        try:
            request = engine.WorklistRequest(date=filters.date, station=filters.station, modality=filters.modality,
                                             patient_name=filters.patient)
        except InvalidValue as exc:
            self.notify(str(exc), title="Worklist", severity="warning")
            return
        self._ask(node, request)

    def _node_named(self, name: str) -> Node | None:
        node = self._config.node(name)
        if node is None and name.strip().casefold() == LOCAL_NODE:
            node = local_node(self._config)
        return node

    def action_refresh(self) -> None:
        """Ask what the rows shown answered, again; without rows yet, ask with the form."""
        if self._node is None or self._request is None:
            self.action_run_query()
        else:
            self._ask(self._node, self._request)

    def _ask(self, node: Node, request: Any) -> None:
        self._stop_run()
        self._comparing = (node, request) == (self._node, self._request) and self._updated is not None
        if not self._comparing:  # other filters: the rows shown answer another question
            self._rows, self._marks, self._vanished, self._updated, self._last_error = [], {}, [], None, None
        self._node, self._request = node, request
        self._note, self._failed = f"asking {node.ae_title}@{node.host}:{node.port}…", False
        calling, today = self._config.local.ae_title, now().date()
        journal = self.app.journal(f"worklist {node.name}")

        def call(run: Run):
            engine = import_engine("dicomtui.engine.worklist")
            return engine.query_worklist(node, calling, request, cancel=run.cancel, today=today, journal=journal)

        self._run = Run("worklist", call, lambda run: self.post_message(RunFinished(run))).start()
        self._fill()

    @on(RunFinished)
    def _finished(self, message: RunFinished) -> None:
        run = message.run
        if run is not self._run:
            return
        self._run = None
        result = run.result
        if run.crash is None and result.ok:
            self._take(result.rows)
        elif result is not None and result.failure == "cancelled":
            self._note, self._failed = "stopped", False
        else:
            self._failed_with(run.crash or result.error, result)
        self._schedule_auto()
        self._fill()
        if not self._comparing and self._shown and self.focused is not self.query_one("#wl-filter"):
            self._table.focus()  # the answer to a new question: its keys (R, a, x...) act on it at once

    def _take(self, rows: list[Any]) -> None:
        rows = sorted(rows, key=order_key)
        previous = self.live_rows()
        self._marks, self._vanished = {}, []
        if self._comparing:
            diff = import_engine("dicomtui.engine.worklist_diff").diff_rows(previous, rows)
            self._marks = {id(row): "added" for row in diff.appeared}
            self._marks.update({id(after): "changed" for _before, after in diff.changed})
            self._vanished = diff.vanished
            # Gone from the server, still shown in their place (struck through) until the next refresh: a step
            # that vanishes from a list nobody was watching would otherwise leave no trace but a count.
            self._marks.update({id(row): "vanished" for row in diff.vanished})
            rows = sorted(rows + diff.vanished, key=order_key)
            if diff.vanished:
                who = (lambda r: MASK) if self.app.phi_masked else (lambda r: text(r.patient_name) or "?")
                names = ", ".join(f"{who(r)} {text(r.start_time)[:4]}".strip() for r in diff.vanished[:3])
                more = f" and {len(diff.vanished) - 3} more" if len(diff.vanished) > 3 else ""
                self.notify(f"No longer scheduled: {names}{more}.", title="Worklist")
        self._rows = rows
        self._updated = now().strftime("%H:%M:%S")
        self._note, self._failed, self._last_error = "", False, None

    def live_rows(self) -> list[Any]:
        """The rows the last answer had: without the vanished ones shown beside them."""
        return [row for row in self._rows if self._marks.get(id(row)) != "vanished"]

    def _failed_with(self, error: str, result: Any) -> None:
        node = self._node
        receiver = self.app.receiver
        if (node is not None and node.name == LOCAL_NODE and result is not None and result.no_association
                and (receiver is None or not receiver.running)):
            error += "; this machine's receiver is not running (start it on the Receiver screen, 3)"
        if not self._comparing and result is not None and result.rows:
            self._rows = sorted(result.rows, key=order_key)  # what came before it failed, with the error
        self._note, self._failed = error, True
        if error != self._last_error:  # an auto-refresh failing again says so in the status line only
            self.notify(error, title="Worklist query failed", severity="error", timeout=10)
        self._last_error = error

    def _stop_run(self) -> None:
        if self._run is not None:
            self._run.cancel.set()
            self._run = None

    def action_stop(self) -> None:
        if self._run is not None:
            self._stop_run()
            self._note, self._failed = "stopped", False
            self._fill()

    # -- auto-refresh ----------------------------------------------------------------------------------
    def action_toggle_auto(self) -> None:
        self._auto = not self._auto
        if self._auto:
            if self._run is None:
                self.action_refresh()  # now, then every interval after each answer
        elif self._timer is not None:
            self._timer.stop()
            self._timer = None
        self._show_status()

    def _schedule_auto(self) -> None:
        """The next refresh an interval after this one ended: a slow server is never asked twice at once."""
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        if self._auto:
            self._timer = self.set_timer(self._config.worklist.refresh_seconds, self._refresh_on_timer)

    def _refresh_on_timer(self) -> None:
        self._timer = None
        if self._auto and self._run is None:
            self.action_refresh()

    # -- showing --------------------------------------------------------------------------------------
    def _arrange(self) -> None:
        rows = self._rows
        shown = list(range(len(rows)))
        if self._filter:
            needle = self._filter.casefold()
            shown = [i for i in shown if needle in haystack(rows[i], FILTER_FIELDS)]
        if self._sort is not None:
            shown.sort(key=lambda i: column_sort_key(rows[i], self._sort))
        self._shown = shown

    def _fill(self) -> None:
        """Show the rows from scratch: after an answer, a filter, a sort or a resize."""
        if not self.is_mounted:
            return
        self._arrange()
        rows, shown = self._rows, self._shown
        day = one_day(rows)
        width = self._table.scrollable_content_region.width or self.size.width
        columns, fit = columns_for(width, day is not None, id_width(rows))
        cursor = min(self._table.cursor_row, max(len(shown) - 1, 0))
        with self.app.batch_update():
            if (columns, fit) != (self._columns, self._fit):
                self._columns, self._fit = columns, fit
                self._table.set_columns([(c.heading, c.width) for c in columns], fit=fit)
            self._table.show_rows(len(shown),
                                  lambda i: cells(rows[shown[i]], columns, day is not None, self.app.phi_masked),
                                  cursor=cursor, marks=self.row_mark)
            self._show_status()
            self._show_detail()
        self.refresh_bindings()  # which keys apply changed with the rows (the footer shows those)

    def row_mark(self, index: int) -> str | None:
        """"added", "changed" or "vanished" for shown row `index` when the last refresh found it so, else
        None."""
        return self._marks.get(id(self._rows[self._shown[index]])) if 0 <= index < len(self._shown) else None

    def _selected(self) -> Any:
        index = self._table.cursor_row
        return self._rows[self._shown[index]] if 0 <= index < len(self._shown) else None

    @on(ResultTable.RowHighlighted, "#wl-table")
    def _show_detail(self) -> None:
        pane = self.query_one("#wl-detail-text", Static)
        row = self._selected()
        if row is None:
            hint = ("Choose the node and filters, then press enter to ask." if self._updated is None and
                    self._run is None else "No scheduled step matches." if self._updated else "")
            pane.update(Text(hint, style="dim"))
            return
        if self._marks.get(id(row)) == "vanished":
            gone = Text(f"No longer scheduled: the refresh at {self._updated} did not return it.\n", style="bold")
            pane.update(gone + detail(row, self.app.phi_masked))
        else:
            pane.update(detail(row, self.app.phi_masked))

    def _show_status(self) -> None:
        theme = self.app.current_theme
        out = Text()
        width = max(self.size.width - 2, 20)

        def add(segment: str, style: str = "") -> None:
            """A segment after two spaces, or on a new line where it would not fit whole: never cut in two."""
            line = out.plain.rsplit("\n", 1)[-1]
            out.append("\n" if line and cell_len(line) + 2 + cell_len(segment) > width else "  " if line else "")
            out.append(segment, style=style)

        out.append(self._node.name if self._node is not None else "no query yet", style="bold")
        if self._request is not None:
            asked = [f"as {self._request.station}" if self._request.station else "",
                     self._request.modality, {"week": "this week"}.get(self._request.date, self._request.date)]
            out.append("".join(f" · {a}" for a in asked if a), style="dim")
        if self._updated is not None:
            steps = len(self.live_rows())
            day = one_day(self._rows)
            add(f"{steps} step{'' if steps == 1 else 's'}" + (f" on {day_text(day)}" if day else ""))
            add(f"updated {self._updated}", "dim")
        if self._auto:
            add(f"auto {self._config.worklist.refresh_seconds} s", f"bold {colour(theme, 'accent')}".strip())
        added = sum(1 for m in self._marks.values() if m == "added")
        changed = sum(1 for m in self._marks.values() if m == "changed")
        changes = [f"+{added} new" if added else "", f"{changed} changed" if changed else "",
                   f"{len(self._vanished)} vanished" if self._vanished else ""]
        if any(changes):
            add(", ".join(c for c in changes if c), f"bold {state_colour(theme, 'ok')}")
        if self._filter:
            add(f"filter '{self._filter}': {len(self._shown)} shown", colour(theme, "warning"))
        if self._sort is not None:
            add(f"sorted by {next((c.heading for c in self._columns if c.key == self._sort), self._sort)}", "dim")
        if self._note:
            if self._updated is not None or self._failed:
                out.append("\n")
            add(self._note, f"bold {state_colour(theme, 'failed')}" if self._failed else "")
        self.query_one("#wl-status", Static).update(out)

    # -- keys ------------------------------------------------------------------------------------------
    @on(ResultTable.RowSelected, "#wl-table")
    def action_toggle_detail(self) -> None:
        self.toggle_class("-big-detail")
        self.call_after_refresh(self._fill)  # the table's width may have changed: columns to fit it

    @on(Input.Changed, "#wl-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        event.stop()
        if event.value != self._filter:
            self._filter = event.value
            self._table.move_cursor(0)
            self._fill()

    @on(Input.Submitted, "#wl-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._table.focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in {"export", "export_json", "toggle_detail", "sort"} and not self._shown:
            return None
        if action in {"refresh", "toggle_auto", "filter"} and self._request is None:
            return None
        if action == "stop" and self._run is None:
            return None
        return True
