"""Query: C-FIND an archive, drill from studies to series to instances, retrieve what is highlighted."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Input, Static

from ...command_lines import find_lines, get_lines, move_lines
from ...config import Node
from ...dicom.phi import masked_row
from ..exports import export_rows
from ..query_export import export
from ..query_levels import COLUMNS, NEXT, Level, cells, count, crumb, request_for, text
from ..query_runs import Run, RunFinished, find_call
from ..themes import colour, state_colour
from ..widgets.query_form import QueryForm
from ..widgets.result_table import ResultTable, printable
from .command_lines import CommandLinesScreen
from .query_retrieve import RetrieveActions
from .query_saved import SavedQueries
from .section import SectionScreen

DRAIN_SECONDS = 0.1


class QueryScreen(SavedQueries, RetrieveActions, SectionScreen):
    SECTION_ID = "query"
    HELP = ("Query an archive with C-FIND: fill in what you know (wildcards * and ?, dates as YYYYMMDD or "
            "a range 20240101-20240131) and press enter. The list next to the node asks for studies or for "
            "patients. Enter on a patient opens their studies, on a study its series, on a series its "
            "instances; esc or backspace goes back. m asks the archive to C-MOVE the highlighted row to our "
            "own AE title (the archive must know it), M to another node's AE title; g fetches it with C-GET into "
            "the local archive; each retrieve is a job on the Transfers screen (4). / filters the rows, s sorts "
            "by the next column, i enlarges the attribute pane, "
            "x saves the shown rows as CSV in the data folder and X as JSON, y copies the same query as a "
            "'dicomtui find' command line plus the 'dicomtui move' line for the highlighted row. S keeps the form "
            "under a name in the config file, o opens a saved query and runs it (d in that list deletes one). "
            "c stops a running query or retrieve, f goes back to the form.")
    BINDINGS = [
        Binding("ctrl+r", "run_query", "Query", id="query.run", tooltip="Run the query with the form's keys"),
        Binding("R", "refresh", "Refresh", id="query.refresh", show=False,
                tooltip="Ask the archive again for the level shown (new studies, changed counts)"),
        Binding("enter", "drill", "Open", id="query.open", tooltip="Open the highlighted patient, study or series"),
        Binding("escape,backspace", "back", "Back", id="query.back", tooltip="Back up one level"),
        Binding("m", "move", "Move", id="query.move", tooltip="C-MOVE the highlighted row to our own AE title"),
        Binding("M", "move_to", "Move to…", id="query.move_to", show=False,
                tooltip="C-MOVE the highlighted row to another node's AE title"),
        Binding("g", "get", "Get", id="query.get", tooltip="C-GET the highlighted row into the local archive"),
        Binding("slash", "filter", "Filter", id="query.filter", tooltip="Show only rows containing a text"),
        Binding("s", "sort", "Sort", id="query.sort", tooltip="Sort by the next column"),
        Binding("x", "export", "Export", id="query.export", tooltip="Save the shown rows as CSV"),
        Binding("X", "export_json", "JSON", id="query.export_json", show=False,
                tooltip="Save the shown rows as JSON, like 'dicomtui find --json'"),
        Binding("y", "copy_command", "Copy cmd", id="query.copy",
                tooltip="Copy the query, or a retrieve of the highlighted row, as a dicomtui or a dcmtk command line"),
        Binding("l", "log", "Log", id="query.log", show=False,
                tooltip="The association log of this node's queries, what went over the wire"),
        Binding("S", "save_query", "Save query", id="query.save", show=False,
                tooltip="Keep the form under a name in the config file"),
        Binding("o", "open_saved", "Saved", id="query.saved", show=False,
                tooltip="Open a saved query and run it"),
        Binding("i", "toggle_detail", "Details", id="query.details", show=False,
                tooltip="Give the attribute pane most of the screen, or the table back"),
        Binding("f", "edit_form", "Form", id="query.form", show=False, tooltip="Back to the query form"),
        Binding("c", "stop", "Stop", id="query.stop", show=False, tooltip="Stop the running query or retrieve"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._levels: list[Level] = []
        self._node: Node | None = None
        self._run: Run | None = None
        self._run_level: Level | None = None
        self._retrieve_job: str | None = None  # the newest move or get job started here
        self._retrieve_ended = True
        self._retrieve_text = ""
        self._retrieve_what = ""

    # -- layout ---------------------------------------------------------------------------------------
    def compose_body(self) -> ComposeResult:
        yield QueryForm(self._config.node_names(), id="q-form")
        yield Static(id="q-status")
        yield Input(placeholder="filter the rows; esc clears", id="q-filter", compact=True)
        yield ResultTable(id="q-table")
        yield Static(id="q-detail")

    def on_mount(self) -> None:
        self._set_columns("STUDY")
        self.query_one("#q-filter").display = False
        self.set_interval(DRAIN_SECONDS, self._drain)
        self.watch(self.app, "phi_masked", self._phi_changed, init=False)
        self._show_status()
        self._show_detail()
        self.query_one("#q-patient", Input).focus()

    def _phi_changed(self, _masked: bool) -> None:
        self._table.refresh()
        self._show_status()
        self._show_detail()

    @property
    def _table(self) -> ResultTable:
        return self.query_one("#q-table", ResultTable)

    @property
    def _level(self) -> Level | None:
        return self._levels[-1] if self._levels else None

    def config_reloaded(self) -> None:
        self.query_one(QueryForm).set_nodes(self._config.node_names())

    # -- the table --------------------------------------------------------------------------------------
    def _set_columns(self, level: str) -> None:
        self._table.set_columns([(heading, width) for _key, heading, width in COLUMNS[level]])

    def _fill_table(self, level: Level) -> None:
        """Show a level from scratch: after drilling, going back, filtering or sorting."""
        filter_input = self.query_one("#q-filter", Input)
        if filter_input.value != level.filter:  # each level keeps its own filter
            with filter_input.prevent(Input.Changed):
                filter_input.value = level.filter
            filter_input.display = bool(level.filter)
        with self.app.batch_update():
            self._set_columns(level.level)
            level.arrange()
            self._table.show_rows(len(level.shown),
                                  lambda i: cells(level.level, self.app.shown_row(level.rows[level.shown[i]])),
                                  cursor=level.cursor)
        self._show_status()
        self._show_detail()

    def _selected(self) -> dict | None:
        level = self._level
        if level is None or not level.shown:
            return None
        return level.row_at(self._table.cursor_row)

    @on(ResultTable.RowHighlighted)
    def _show_detail(self) -> None:
        detail = self.query_one("#q-detail", Static)
        row = self._selected()
        if row is None:
            nodes = self._config.node_names()
            hint = ("Fill in the form and press enter to query." if nodes else
                    "No nodes yet: add the archive on the Nodes screen (1) first.")
            detail.update(Text(hint, style="dim"))
            return
        out = Text()
        for key, value in self.app.shown_row(row).items():
            if out:
                out.append("  ")
            out.append(f"{key} ", style="dim")
            out.append(printable(text(value)) or "—")
        detail.update(out)

    def _show_status(self) -> None:
        status = self.query_one("#q-status", Static)
        theme = self.app.current_theme
        out = Text()
        node = self._node.name if self._node is not None else (self.query_one(QueryForm).node_name or "no node")
        out.append(node, style="bold")
        for level in self._levels[1:]:
            out.append(" › ")
            out.append(level.masked_crumb if self.app.phi_masked else level.crumb, style="bold")
        level = self._level
        if level is not None:
            out.append("  ")
            out.append(level.status, style=f"bold {state_colour(theme, 'failed')}" if level.failed else "")
            if level.filter:
                out.append(f"  filter '{level.filter}': {len(level.shown)} shown", style=colour(theme, "warning"))
            if level.sort is not None:
                out.append(f"  sorted by {COLUMNS[level.level][level.sort][1]}", style="dim")
        else:
            out.append("  no query yet", style="dim")
        if self._retrieve_text:
            out.append("\n" + self._retrieve_text)
        status.update(out)

    # -- querying -------------------------------------------------------------------------------------
    @on(QueryForm.Submitted)
    def action_run_query(self) -> None:
        form = self.query_one(QueryForm)
        if not form.validate_all():
            self.notify("Correct the highlighted field first.", title="Query", severity="warning")
            return
        self._query(form.node_name or "", form.level.upper(), form.keys())

    def action_refresh(self) -> None:
        if self._level is None or self._node is None:
            self.action_run_query()
        else:  # the same level asked again, from scratch (its filter and sort kept)
            old = self._level
            fresh = Level(old.level, old.keys, old.crumb, old.masked_crumb, sort=old.sort, filter=old.filter)
            self._levels[-1] = fresh
            self._start_find(fresh)

    def _query(self, node_name: str, level: str, keys: dict[str, str]) -> None:
        node = self._config.node(node_name)
        if node is None:
            self.notify(f"There is no node named {node_name!r}; choose one (or add it on the Nodes screen)."
                        if node_name else "Choose a node to query (add one on the Nodes screen).",
                        title="Query", severity="warning")
            return
        self._node = node
        self._levels = [Level(level, keys, node.name)]
        self._start_find(self._levels[0])

    def _start_find(self, level: Level) -> None:
        self._stop_query()
        node = self._node
        assert node is not None
        level.status = f"querying {node.ae_title}@{node.host}:{node.port}…"
        self._run_level = level
        self._run = Run("find", self._find(node, level), self._finished).start()
        self._fill_table(level)

    def _find(self, node: Node, level: Level):
        calling = self._config.local.ae_title
        journal = self.app.journal(f"find {node.name}")

        def call(run: Run):
            return find_call(node, calling, request_for(level), journal)(run)

        return call

    def _finished(self, run: Run) -> None:
        """In the run's thread."""
        self.post_message(RunFinished(run))

    def _drain(self) -> None:
        run, level = self._run, self._run_level
        if run is not None and level is not None:
            new = run.take_rows()
            if new:
                self._add_rows(level, new)

    def _add_rows(self, level: Level, new: list[dict]) -> None:
        first = not level.shown
        shown = level.add(new)
        if level is self._level:
            if shown:
                self._table.rows_changed(len(level.shown))
                self._show_detail()  # sorted, another row may now be under the cursor
            level.status = f"{count(level.level, len(level.rows))} so far…"
            self._show_status()
            if first and shown and self.focused is not None and self.focused.id != "q-filter":
                self._table.focus()

    @on(RunFinished)
    def _run_finished(self, message: RunFinished) -> None:
        run = message.run
        if run is not self._run or self._run_level is None:
            return
        level = self._run_level
        self._add_rows(level, run.take_rows())
        self._run, self._run_level = None, None
        result = run.result
        n = count(level.level, len(level.rows))
        if run.crash or not result.ok:
            error = run.crash or result.error
            level.failed = result is None or result.failure != "cancelled"
            level.status = f"stopped after {n}" if not level.failed else (
                f"{n}, then: {error}" if level.rows else error)
            if level.failed:
                self.notify(error, title="Query failed", severity="error", timeout=10)
        else:
            level.status = f"{n} in {run.elapsed:.1f} s" + (" (truncated)" if result.truncated else "")
        self._show_status()
        self._show_detail()

    def _stop_query(self) -> None:
        if self._run is not None:
            self._run.cancel.set()
            if self._run_level is not None:
                self._run_level.status = f"stopped after {count(self._run_level.level, len(self._run_level.rows))}"
        self._run, self._run_level = None, None

    def action_stop(self) -> None:
        if self._run is not None:
            self._stop_query()
            self._show_status()
        self._stop_retrieve()

    # -- drill down and back --------------------------------------------------------------------------
    @on(ResultTable.RowSelected)
    def action_drill(self) -> None:
        level, row = self._level, self._selected()
        if level is None or row is None or level.level not in NEXT:
            return
        level.cursor = self._table.cursor_row
        child = Level(NEXT[level.level], level.child_keys(row), crumb(level.level, row),
                      crumb(level.level, masked_row(row)))
        self._levels.append(child)
        self._start_find(child)

    def action_back(self) -> None:
        filter_input = self.query_one("#q-filter", Input)
        if filter_input.display and (self.focused is filter_input or len(self._levels) <= 1):
            self._close_filter()
            return
        if len(self._levels) > 1:
            if self._run_level is self._level:
                self._stop_query()
            self._levels.pop()
            self._fill_table(self._levels[-1])
            self._table.focus()
        elif isinstance(self.focused, Input):
            self._table.focus()  # out of the form, so that letters and number keys act again

    def action_toggle_detail(self) -> None:
        self.toggle_class("-big-detail")

    def action_edit_form(self) -> None:
        self.query_one("#q-patient", Input).focus()

    # -- filter and sort ------------------------------------------------------------------------------
    def action_filter(self) -> None:
        filter_input = self.query_one("#q-filter", Input)
        filter_input.display = True
        filter_input.focus()

    @on(Input.Changed, "#q-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        level = self._level
        if level is not None and level.filter != event.value:
            level.filter = event.value
            level.cursor = 0
            self._fill_table(level)

    @on(Input.Submitted, "#q-filter")
    def _filter_submitted(self) -> None:
        self._table.focus()

    def _close_filter(self) -> None:
        filter_input = self.query_one("#q-filter", Input)
        filter_input.value = ""
        filter_input.display = False
        self._table.focus()

    def action_sort(self) -> None:
        level = self._level
        if level is None:
            return
        columns = len(COLUMNS[level.level])
        level.sort = 0 if level.sort is None else (level.sort + 1 if level.sort + 1 < columns else None)
        level.arrange()
        self._table.rows_changed(len(level.shown))
        self._table.move_cursor(0)
        self._show_status()
        self._show_detail()

    # -- export and copy ------------------------------------------------------------------------------
    def action_export(self) -> None:
        self._export("csv")

    def action_export_json(self) -> None:
        self._export("json")

    def _export(self, kind: str) -> None:
        level = self._level
        if level is None or not level.shown:
            return
        rows = [level.rows[i] for i in level.shown]
        export_rows(self, lambda folder: export(rows, level.level, folder, kind), count(level.level, len(rows)))

    def action_copy_command(self) -> None:
        level, node = self._level, self._node
        if level is None or node is None:
            return
        local = self._config.local.ae_title
        configured = self._config.node(node.name) is not None
        entries = [find_lines(node, local, request_for(level), configured=configured)]
        row = self._selected()
        if row is not None and level.retrievable:
            uids = level.uids(row)
            where = (uids.get("study_uid"), uids.get("series_uid"), uids.get("instance_uid"))
            entries += [move_lines(node, local, local, *where, configured=configured),
                        get_lines(node, local, *where, configured=configured)]
        self.app.push_screen(CommandLinesScreen(entries))

    def action_log(self) -> None:
        from .associations import LogFilter

        node = self._node or self._config.node(self.query_one(QueryForm).node_name or "")
        if node is None:
            self.notify("Choose a node first: the log shows its queries.", title="Log")
            return
        self.app.open_log(LogFilter(f"the queries of {node.name}", origin=f"find {node.name}"))

    def palette_context(self) -> str:
        row = self._selected()
        if row is None or self._level is None:
            return ""
        return crumb(self._level.level, self.app.shown_row(row))

    # -- which keys apply -----------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        level = self._level
        has_row = level is not None and bool(level.shown)
        if action in {"move", "move_to", "get", "export", "export_json"} and not has_row:
            return None
        if action == "drill" and not (has_row and level.level in NEXT):
            return None
        if action in {"copy_command", "sort", "filter"} and level is None:
            return None
        return True

