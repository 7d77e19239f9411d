"""Receiver: is the Storage SCP listening, who is sending, and what arrived."""

from __future__ import annotations

import time
from collections import deque

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from ...dicom.phi import masked
from ...engine.loading import import_engine
from ...units import size
from ..themes import colour, state_colour
from ..widgets.result_table import ResultTable
from .section import SectionScreen

REFRESH_SECONDS = 0.25
RECENT_ROWS = 500




class ReceiverScreen(SectionScreen):
    SECTION_ID = "receiver"
    HELP = ("The receiver is this machine as a DICOM node: a Storage SCP that writes what it receives "
            "into the local archive, and a Query/Retrieve SCP that answers C-FIND, C-MOVE and C-GET on "
            "it. Archives send here when a C-MOVE names our AE title. 'dicomtui serve' runs the same "
            "receiver without a terminal.")
    BINDINGS = [
        Binding("s", "toggle", "Start/stop", id="receiver.toggle", tooltip="Start or stop listening"),
        Binding("l", "log", "Log", id="receiver.log",
                tooltip="The association log of the highlighted association or instance"),
    ]

    def __init__(self) -> None:
        super().__init__()
        # The shown cells, then the log id of the association that brought the instance.
        self._recent: deque[tuple[str, ...]] = deque(maxlen=RECENT_ROWS)
        self._problems: list[str] = []
        self._log_ids: dict[int, str] = {}  # receiver association id -> its association log id

    def compose_body(self) -> ComposeResult:
        yield Static(id="rx-status")
        associations: DataTable = DataTable(id="rx-associations", cursor_type="row")
        for key, label in [("id", "#"), ("calling", "Calling AE"), ("peer", "Peer"), ("instances", "Instances"),
                           ("bytes", "Received"), ("rate", "Rate")]:
            associations.add_column(label, key=key)
        yield associations
        # Drawn line by line from self._recent: a DataTable that took and dropped hundreds of rows a
        # second held the GIL long enough to slow the receiver itself (325 instances/s vs 495 on
        # another screen, 20 KB each). Fixed widths: names with three component groups
        # (Yamada^Tarou=山田^太郎=やまだ^たろう) would otherwise push every other column off 80 columns.
        recent = ResultTable(id="rx-recent")
        recent.set_columns([("Time", 8), ("Patient", 20), ("Study", 18), ("Mod", 3), ("Size", 8), ("From", 10),
                            ("SOP class", None)])
        recent.show_rows(0, self._recent_cells)
        yield recent

    def on_mount(self) -> None:
        self.set_interval(REFRESH_SECONDS, self._tick)
        self.watch(self.app, "phi_masked", lambda _masked: self.query_one("#rx-recent").refresh(), init=False)
        self._tick()

    def _recent_cells(self, index: int) -> tuple[str, ...]:
        row = self._recent[index][:7]
        if self.app.phi_masked and row[1] != "REFUSED":
            return (row[0], masked("PatientName", row[1]), *row[2:])
        return row

    def action_log(self) -> None:
        """Open the Log screen on the association of the focused table's highlighted row."""
        from .associations import LogFilter

        associations = self.query_one("#rx-associations", DataTable)
        if associations.has_focus and associations.row_count:
            key = associations.coordinate_to_cell_key(associations.cursor_coordinate).row_key.value
            active = {str(a.id): a for a in (self.app.receiver.active() if self.app.receiver else [])}
            log_id, what = (active[key].log_id if key in active else ""), f"receiver association {key}"
        else:
            recent = self.query_one("#rx-recent", ResultTable)
            if not self._recent:
                self.notify("Nothing received yet.", title="Log")
                return
            row = self._recent[recent.cursor_row]
            log_id, what = row[7] if len(row) > 7 else "", f"the association that brought {row[1] or 'it'}"
        if not log_id:
            self.notify("No association log entry for that row.", title="Log", severity="warning")
            return
        self.app.open_log(LogFilter(what, ids=(log_id,)))

    def action_toggle(self) -> None:
        if self.app.receiver is not None and self.app.receiver.running:
            self.app.stop_receiver()
        else:
            self.app.start_receiver()

    def _tick(self) -> None:
        events = self.app.receiver_feed.drain()
        with self.app.batch_update():
            self._show_status()
            self._show_associations()
            self._add_recent(events)

    def _show_status(self) -> None:
        app = self.app
        receiver = app.receiver
        status = self.query_one("#rx-status", Static)
        theme = app.current_theme
        if receiver is None or not receiver.running:
            reason = app.receiver_error or "stopped; press s to start"
            text = Text.assemble(("● not listening: ", f"bold {state_colour(theme, 'failed')}"), reason)
        else:
            s = receiver.settings
            counters = receiver.counters
            up = time.time() - counters.started_at
            text = Text.assemble(
                ("● listening ", f"bold {state_colour(theme, 'ok')}"),
                (f"{s.ae_title}@{s.bind}:{s.port}", "bold"), f"  → {s.storage}\n",
                f"since start ({up / 60:.0f} min): {counters.associations} association(s), "
                f"{counters.instances} instance(s), {size(counters.bytes)}, {counters.refused} refused",
            )
        if self._problems:
            text.append("\n" + self._problems[-1], style=colour(theme, "warning"))
        status.update(text)

    def _show_associations(self) -> None:
        table = self.query_one("#rx-associations", DataTable)
        receiver = self.app.receiver
        active = receiver.active() if receiver is not None else []
        wanted = {str(a.id): a for a in active}
        for key in [str(k.value) for k in table.rows]:
            if key not in wanted:
                table.remove_row(key)
        now = time.monotonic()
        for key, a in wanted.items():
            seconds = max(now - a.started, 1e-3)
            cells = {"id": key, "calling": a.calling_ae, "peer": a.peer, "instances": str(a.instances),
                     "bytes": size(a.bytes), "rate": f"{size(a.bytes / seconds)}/s"}
            if key in table.rows:
                for column, value in cells.items():
                    if str(table.get_cell(key, column)) != value:
                        table.update_cell(key, column, value)
            else:
                table.add_row(*cells.values(), key=key)

    def _add_recent(self, events: list) -> None:
        if not events:
            return
        kinds = import_engine("dicomtui.engine.receiver.events")  # loaded already: the receiver runs
        InstanceRefused, InstanceStored, ReceiverProblem, AssociationOpened = (  # noqa: N806
            kinds.InstanceRefused, kinds.InstanceStored, kinds.ReceiverProblem, kinds.AssociationOpened)
        table = self.query_one("#rx-recent", ResultTable)
        at_end = table.cursor_row >= table.row_count - 1
        added = 0
        for event in events:
            if isinstance(event, InstanceStored):
                self._recent.append((time.strftime("%H:%M:%S"), event.patient, event.study, event.modality,
                                     size(event.size), event.calling_ae, _sop_name(event.sop_class_uid),
                                     self._log_ids.get(event.association, "")))
                added += 1
            elif isinstance(event, InstanceRefused):
                self._recent.append((time.strftime("%H:%M:%S"), "REFUSED", f"0x{event.status:04X} {event.reason}",
                                     "", "", event.calling_ae, "", self._log_ids.get(event.association, "")))
                added += 1
            elif isinstance(event, AssociationOpened):
                self._log_ids[event.id] = event.log_id
                if len(self._log_ids) > 10 * RECENT_ROWS:
                    self._log_ids.pop(next(iter(self._log_ids)))
            elif isinstance(event, ReceiverProblem):
                self._problems.append(event.message)
        if added:
            table.rows_changed(len(self._recent))
            if at_end:
                table.move_cursor(len(self._recent) - 1)


def _sop_name(uid: str) -> str:
    from pydicom.uid import UID

    name = UID(uid).name
    return name.removesuffix(" Storage") if name != uid else uid
