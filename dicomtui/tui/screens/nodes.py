"""Nodes: the DICOM nodes the user manages, their last C-ECHO, and the actions on them."""

from __future__ import annotations

import sqlite3
import time
from functools import partial
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from ...command_lines import echo_lines
from ...config import ConfigError, Node
from ...dicom.validation import InvalidValue
from ...engine.echo_pool import EchoPool
from ...engine.loading import import_engine
from ...store.echo_log import EchoRecord

if TYPE_CHECKING:
    from ...engine.echo import EchoResult
from ..commands import NodeCommands
from ..messages import EchoFinished
from ..themes import state_colour
from .command_lines import CommandLinesScreen
from .confirm import ConfirmScreen
from .node_form import NodeFormScreen
from .section import SectionScreen

COLUMNS = [("name", "Name"), ("ae_title", "AE title"), ("host", "Host"), ("port", "Port"),
           ("echo", "Last echo"), ("description", "Description")]

FAILURE_LABELS = {
    "refused": "refused", "timeout": "no answer", "rejected": "rejected", "aborted": "aborted",
    "unresolved": "unknown host", "unreachable": "unreachable", "status": "failed", "unsupported": "no echo",
    "cancelled": "cancelled",
}


class NodesScreen(SectionScreen):
    SECTION_ID = "nodes"
    HELP = ("The DICOM nodes you manage and the result of their last C-ECHO. Echo results are "
            "kept between runs; 'dicomtui echo NODE' from a shell updates them too. Nodes live in "
            "the config file; 'dicomtui config path' prints where.")
    COMMANDS = SectionScreen.COMMANDS | {NodeCommands}
    BINDINGS = [
        Binding("e", "echo_selected", "Echo", id="nodes.echo", tooltip="C-ECHO the selected node"),
        Binding("R", "echo_all", "Echo all", id="nodes.echo_all", tooltip="C-ECHO every node at once"),
        Binding("a", "add_node", "Add", id="nodes.add", tooltip="Add a node"),
        # priority: the table would otherwise take enter for its own (silent) row selection.
        Binding("enter", "edit_node", "Edit", id="nodes.edit", tooltip="Edit the selected node",
                priority=True),
        Binding("d,delete", "delete_node", "Delete", id="nodes.delete", tooltip="Delete the selected node"),
        Binding("y", "copy_command", "Copy cmd", id="nodes.copy", tooltip="Copy the echo as a command line"),
        Binding("l", "log", "Log", id="nodes.log", show=False,
                tooltip="The association log of the selected node's echoes (from the app or the command line)"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._records: dict[str, EchoRecord] = {}
        self._pending: set[str] = set()
        self._batch: set[str] | None = None
        self._batch_results: list[EchoResult] = []
        self._pool = EchoPool(self._echo_done)

    # -- layout -----------------------------------------------------------------
    def compose_body(self) -> ComposeResult:
        table: DataTable = DataTable(id="nodes-table", cursor_type="row", zebra_stripes=True)
        for key, label in COLUMNS:
            table.add_column(label, key=key)
        yield table
        yield Static(id="node-detail")

    def on_mount(self) -> None:
        self._sync_table()
        self.query_one(DataTable).focus()
        self._load_records()
        # After the first frames, so the import does not compete with them for the GIL.
        self.set_timer(0.5, self._warm_up_engine)

    @work(thread=True, group="nodes-warm-up", exit_on_error=False, description="load the DICOM engine")
    def _warm_up_engine(self) -> None:
        """Import pynetdicom (and pydicom, numpy) after the first frame instead of before it:
        it is most of the start-up time, and the first echo would pay for it otherwise."""
        import_engine("dicomtui.engine.echo")

    @property
    def _config(self):
        return self.app.config_file.config

    @work(thread=True, group="nodes-load", exclusive=True, exit_on_error=False,
          description="read the last echo results")
    def _load_records(self) -> None:
        records = self.app.echo_log.latest()
        self.app.call_from_thread(self._records_loaded, records)

    def _records_loaded(self, records: dict[str, EchoRecord]) -> None:
        self._records.update({k: v for k, v in records.items() if k not in self._records})
        self._sync_table()

    # -- table --------------------------------------------------------------------
    def palette_context(self) -> str:
        node = self.selected_node()
        return node.name if node is not None else ""

    def selected_node(self) -> Node | None:
        table = self.query_one(DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        return self._config.node(str(key.value))

    def _echo_cell(self, name: str) -> Text:
        theme = self.app.current_theme
        if name in self._pending:
            return Text("… echoing", style=state_colour(theme, "pending"))
        record = self._records.get(name)
        if record is None:
            return Text("—", style="dim")
        if record.ok:
            rtt = f" {record.rtt_ms:.1f} ms" if record.rtt_ms is not None else ""
            return Text(f"✔ ok{rtt}", style=state_colour(theme, "ok"))
        label = FAILURE_LABELS.get(record.failure or "", "failed")
        return Text(f"✘ {label}", style=f"bold {state_colour(theme, 'failed')}")

    def _row(self, node: Node) -> list:
        return [node.name, node.ae_title, node.host, str(node.port), self._echo_cell(node.name),
                node.description]

    def _sync_table(self) -> None:
        """Bring the table in line with the config by row key: no rebuild, cursor kept."""
        table = self.query_one(DataTable)
        selected = self.selected_node()
        wanted = {node.name: node for node in self._config.nodes}
        existing = [str(key.value) for key in table.rows]
        for name in existing:
            if name not in wanted:
                table.remove_row(name)
        for node in self._config.nodes:
            cells = self._row(node)
            if node.name in table.rows:
                for (column, _), value in zip(COLUMNS, cells, strict=True):
                    if str(table.get_cell(node.name, column)) != str(value):
                        table.update_cell(node.name, column, value, update_width=True)
            else:
                table.add_row(*cells, key=node.name)
        if selected is not None and selected.name in table.rows:
            table.move_cursor(row=table.get_row_index(selected.name))
        self._show_detail()

    def _update_row(self, name: str) -> None:
        table = self.query_one(DataTable)
        if name in table.rows:
            table.update_cell(name, "echo", self._echo_cell(name), update_width=True)
        node = self.selected_node()
        if node is not None and node.name == name:
            self._show_detail()

    @on(DataTable.RowHighlighted)
    def _show_detail(self) -> None:
        detail = self.query_one("#node-detail", Static)
        if self.app.config_file.problems:
            detail.update(Text("The config file has problems, so nodes cannot be changed. "
                               "Press ctrl+r to see them and reload.", style="bold"))
            return
        node = self.selected_node()
        if node is None:
            detail.update(f"No nodes yet. Press a to add one.\nConfig: {self.app.config_file.path}")
            return
        settings = [f"timeout {node.timeout:g} s" if node.timeout else "",
                    f"DIMSE timeout {node.dimse_timeout:g} s" if node.dimse_timeout else "",
                    f"max PDU {node.max_pdu}" if node.max_pdu is not None else ""]
        text = Text.assemble((node.name, "bold"), "  ", node.address)
        extra = "  ".join(s for s in settings if s)
        if extra:
            text.append(f"  ({extra})", style="dim")
        if node.description:
            text.append(f"\n{node.description}")
        text.append("\n")
        text.append_text(self._echo_detail(node.name))
        detail.update(text)

    def _echo_detail(self, name: str) -> Text:
        if name in self._pending:
            return Text("C-ECHO in progress…")
        record = self._records.get(name)
        if record is None:
            return Text("Never echoed. Press e to C-ECHO it.", style="dim")
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(record.at))
        if record.ok:
            rtt = f", {record.rtt_ms:.1f} ms" if record.rtt_ms is not None else ""
            return Text(f"Last echo {when}: ok{rtt}")
        return Text(f"Last echo {when}: {record.error}", style=state_colour(self.app.current_theme, "failed"))

    @on(DataTable.RowSelected)
    def _row_selected(self) -> None:
        self.action_edit_node()

    # -- echo -----------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        editing = action in {"add_node", "edit_node", "delete_node"}
        if editing and self.app.config_file.problems:
            return None
        if action in {"edit_node", "delete_node", "echo_selected", "copy_command"} and self.selected_node() is None:
            return None
        if action == "echo_all" and not self._config.nodes:
            return None
        return True

    def action_echo_selected(self) -> None:
        node = self.selected_node()
        if node is not None:
            self.start_echo(node)

    def action_echo_all(self) -> None:
        nodes = [n for n in self._config.nodes if n.name not in self._pending]
        if not nodes:
            return
        self._batch = {n.name for n in nodes}
        self._batch_results = []
        for node in nodes:
            self.start_echo(node)

    def start_echo(self, node: Node) -> None:
        if node.name in self._pending:
            return
        self._pending.add(node.name)
        self._update_row(node.name)
        self._pool.submit(node, self._config.local.ae_title, self.app.journal(f"echo {node.name}"))

    def _echo_done(self, node: Node, result: EchoResult) -> None:
        """Runs in the pool's thread: the SQLite write stays off the UI loop too."""
        try:
            record = self.app.echo_log.record_result(node.name, result)
        except (sqlite3.Error, OSError):
            # The echo itself is the answer the user asked for; a state file that cannot be
            # written must not hide it.
            record = EchoRecord(node.name, time.time(), result.ok, result.mean_rtt_ms,
                                result.error, result.failure)
        self.post_message(EchoFinished(node.name, result, record))

    @on(EchoFinished)
    def _echo_finished(self, message: EchoFinished) -> None:
        self._pending.discard(message.node)
        self._records[message.node] = message.record
        self._update_row(message.node)
        if self._batch is not None and message.node in self._batch:
            self._batch.discard(message.node)
            self._batch_results.append(message.result)
            if not self._batch:
                self._batch = None
                self._notify_batch()
            return
        result = message.result
        if result.ok:
            self.notify(f"{message.node}: C-ECHO ok, {result.mean_rtt_ms:.1f} ms", title="Echo")
        else:
            self.notify(f"{message.node}: {result.error}", title="Echo failed", severity="error",
                        timeout=10)

    def _notify_batch(self) -> None:
        results = self._batch_results
        failed = [r for r in results if not r.ok]
        if failed:
            names = ", ".join(r.target for r in failed)
            self.notify(f"{len(results) - len(failed)} of {len(results)} nodes answered. "
                        f"Failed: {names}", title="Echo all", severity="warning", timeout=10)
        else:
            self.notify(f"All {len(results)} nodes answered.", title="Echo all")

    # -- copy as command ---------------------------------------------------------------
    def action_copy_command(self) -> None:
        node = self.selected_node()
        if node is not None:
            self.copy_command(node)

    def action_log(self) -> None:
        node = self.selected_node()
        if node is not None:
            self.show_log(node)

    def show_log(self, node: Node) -> None:
        from .associations import LogFilter

        self.app.open_log(LogFilter(f"the echoes of {node.name}", origin=f"echo {node.name}"))

    def copy_command(self, node: Node) -> None:
        """The node's echo as a `dicomtui echo` line and an `echoscu` line, one of them to copy."""
        self.app.push_screen(CommandLinesScreen([echo_lines(node, self._config.local.ae_title)]))

    # -- add, edit, delete ------------------------------------------------------------
    def action_add_node(self) -> None:
        self.app.push_screen(NodeFormScreen(None, self._config.node_names(), self._save_new),
                             self._after_form)

    def action_edit_node(self) -> None:
        node = self.selected_node()
        if node is None or self.app.config_file.problems:
            return
        others = [n for n in self._config.node_names() if n != node.name]
        self.app.push_screen(NodeFormScreen(node, others, partial(self._save_edit, node.name)),
                             self._after_form)

    def _save_new(self, node: Node) -> str | None:
        return self._write(lambda: self.app.config_file.add_node(node))

    def _save_edit(self, old_name: str, node: Node) -> str | None:
        error = self._write(lambda: self.app.config_file.update_node(old_name, node))
        if error is None and old_name != node.name:
            self._records.pop(old_name, None)
            self._store_in_background(self.app.echo_log.rename, old_name, node.name)
        return error

    def _store_in_background(self, change, *args) -> None:
        def run() -> None:
            change(*args)
            self.app.call_from_thread(self._load_records)

        self.run_worker(run, thread=True, group="nodes-store", exit_on_error=False,
                        description="update the echo history")

    def _write(self, change) -> str | None:
        """Run a config change; an error sentence for the form instead of an exception.

        This runs on the UI thread on purpose: the write is a few hundred bytes, and the form
        must know the outcome before it closes so that nothing typed is lost.
        """
        try:
            change()
        except InvalidValue as exc:
            return str(exc)
        except ConfigError as exc:
            return "the config file changed on disk and now has problems: " + "; ".join(
                p.format(exc.path) for p in exc.problems)
        except OSError as exc:
            return f"cannot write {self.app.config_file.path}: {exc.strerror}"
        return None

    def _after_form(self, node: Node | None) -> None:
        if node is None:
            return
        self._sync_table()
        table = self.query_one(DataTable)
        if node.name in table.rows:
            table.move_cursor(row=table.get_row_index(node.name))
        self.notify(f"Saved node {node.name} ({node.address}).", title="Nodes")

    def action_delete_node(self) -> None:
        node = self.selected_node()
        if node is None:
            return

        def answered(yes: bool | None) -> None:
            if not yes:
                return
            error = self._write(lambda: self.app.config_file.remove_node(node.name))
            if error:
                self.notify(error, title="Not deleted", severity="error", timeout=10)
                return
            self._records.pop(node.name, None)
            self._store_in_background(self.app.echo_log.forget, node.name)
            self._sync_table()
            self.notify(f"Deleted node {node.name}.", title="Nodes")

        self.app.push_screen(
            ConfirmScreen(f"Delete node {node.name} ({node.address})?\n"
                          "It is removed from the config file; its echo history goes too.", yes="Delete"),
            answered,
        )

    def config_reloaded(self) -> None:
        self._sync_table()
        self.refresh_bindings()
