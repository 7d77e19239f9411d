"""Retrieving from the Query screen: m C-MOVE to us, M to another node, g C-GET into the local archive.

Each retrieve runs in a daemon thread (query_runs.Run); progress reaches the status line on the
screen's drain timer and the outcome as a notification.
"""

from __future__ import annotations

from ... import paths
from ..query_levels import crumb
from ..query_runs import Run, retrieve_call
from .query_modals import PickScreen


class RetrieveActions:
    """Mixed into QueryScreen, which provides `_config`, `_level`, `_node`, `_selected()`, `_retrieve`,
    `_finished` and `_show_status()`."""

    def action_move(self) -> None:
        self._start_retrieve("move")

    def action_move_to(self) -> None:
        if self._selected() is None or self._patient_level():
            return
        local = self._config.local.ae_title
        titles = [(local, f"{local}  (this machine)")]
        for node in self._config.nodes:
            if node.ae_title not in [t for t, _ in titles]:
                titles.append((node.ae_title, f"{node.ae_title}  ({node.name}, {node.host}:{node.port})"))
        hint = "The archive must know the AE title chosen here and where to find it."
        self.app.push_screen(PickScreen("C-MOVE the highlighted row to", titles, hint),
                             lambda ae: self._start_retrieve("move", ae) if ae else None)

    def action_get(self) -> None:
        self._start_retrieve("get")

    def _patient_level(self) -> bool:
        if self._level is None or self._level.retrievable:
            return False
        self.notify("Retrieves take a study, series or instance: press enter to list this patient's studies, "
                    "then retrieve one.", title="Retrieve", severity="warning")
        return True

    def _start_retrieve(self, kind: str, destination: str | None = None) -> None:
        level, row, node = self._level, self._selected(), self._node
        if level is None or row is None or node is None:
            return
        if self._patient_level():
            return
        if self._retrieve is not None:
            self.notify("A retrieve is running; press c to stop it first.", title="Retrieve", severity="warning")
            return
        local = self._config.local
        uids = level.uids(row)
        what = f"{level.level.lower()} {crumb(level.level, row) if level.level != 'IMAGE' else ''}".strip()
        if kind == "move":
            destination = destination or local.ae_title
            # Our receiver can only say whether the files arrived when they come to us.
            ours = destination == local.ae_title
            running = self.app.receiver is not None and self.app.receiver.running
            receiver = self.app.receiver if ours and running else None
            call = retrieve_call("move", node, local.ae_title, uids, destination=destination, receiver=receiver)
            self._retrieve_text = f"C-MOVE {what} to {destination}…"
        else:
            storage = local.storage or paths.default_storage_dir()
            call = retrieve_call("get", node, local.ae_title, uids, storage=storage)
            self._retrieve_text = f"C-GET {what} into the local archive…"
        self._retrieve_what = f"C-MOVE {what} to {destination}" if kind == "move" else f"C-GET {what}"
        self._retrieve = Run(kind, call, self._finished).start()
        self._show_status()

    def _show_retrieve_progress(self) -> None:
        p = self._retrieve.progress if self._retrieve is not None else None
        if p is None:
            return
        left = f", {p.remaining} left" if p.remaining is not None else ""
        failed = f", {p.failed} failed" if p.failed else ""
        self._retrieve_text = f"{self._retrieve_what}: {p.completed} done{failed}{left}"
        self._show_status()

    def _retrieve_finished(self, run: Run) -> None:
        self._retrieve = None
        result = run.result
        what = self._retrieve_what
        if run.crash or not result.ok:
            error = run.crash or result.error
            self._retrieve_text = f"{what} failed"
            self.notify(error, title=f"{what} failed", severity="error", timeout=15)
        else:
            self._retrieve_text = f"{what}: {result.completed} instance(s) in {run.elapsed:.1f} s"
            self.notify(f"{result.completed} instance(s) retrieved" + (
                f", {result.warning} with warnings" if result.warning else ""), title=what)
        self._show_status()
