"""Retrieving from the Query screen: m C-MOVE to us, M to another node, g C-GET into the local archive.

Each retrieve is a job in the transfer queue, as `dicomtui move` and `get` make: the app runs it in a
process of its own within the [transfers] limits, the Transfers screen (4) shows and cancels it, and
the app says when it ends. This screen follows the newest one on its status line, reading the job
from the store in a thread a few times a second.
"""

from __future__ import annotations

import time

from textual import work
from textual.worker import get_current_worker

from ...store.jobs import DONE, FINISHED, RUNNING, WAITING, Job, JobStoreError
from ..query_levels import crumb
from .query_modals import PickScreen

WATCH_SECONDS = 0.3


class RetrieveActions:
    """Mixed into QueryScreen, which provides `_config`, `_level`, `_node`, `_selected()`, `_retrieve_job`,
    `_retrieve_ended`, `_retrieve_text`, `_retrieve_what` and `_show_status()`."""

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
        uids = level.uids(row)
        named = crumb(level.level, self.app.shown_row(row)) if level.level != "IMAGE" else ""
        what = f"{level.level.lower()} {named}".strip()
        if kind == "move":
            destination = destination or self._config.local.ae_title
            self._retrieve_what = f"C-MOVE {what} to {destination}"
        else:
            destination = ""
            self._retrieve_what = f"C-GET {what}"
        self._retrieve_job, self._retrieve_ended = None, False
        self._retrieve_text = f"{self._retrieve_what}: queued…"
        self.app.start_retrieve(kind, node.name, uids, self._retrieve_what, destination,
                                on_queued=self._retrieve_queued)
        self._show_status()

    def _retrieve_queued(self, job_id: str) -> None:
        self._retrieve_job = job_id
        self._watch_retrieve(job_id, self._retrieve_what)

    @work(thread=True, exclusive=True, group="query-retrieve", exit_on_error=False, description="follow a job")
    def _watch_retrieve(self, job_id: str, what: str) -> None:
        """Until the job ends (or a newer retrieve replaces it): its counts onto the status line."""
        worker = get_current_worker()
        while not worker.is_cancelled:
            try:
                job = self.app.job_store.get(job_id)
            except JobStoreError:
                return
            self.app.call_from_thread(self._show_retrieve_job, job, what)
            if job.state in FINISHED:
                return
            time.sleep(WATCH_SECONDS)

    def _show_retrieve_job(self, job: Job, what: str) -> None:
        if job.id != self._retrieve_job:
            return
        self._retrieve_ended = job.state in FINISHED
        r = job.retrieve
        assert r is not None
        if job.state == DONE:
            seconds = (job.finished or 0) - (job.started or 0)
            text = f"{what}: {r.completed + r.warning} instance(s) in {seconds:.1f} s"
        elif job.state in FINISHED:
            text = f"{what}: {job.state}" + (f" ({job.message})" if job.message else "")
        elif job.state == RUNNING and job.message.startswith(WAITING):
            text = f"{what}: {job.message}"
        elif job.state == RUNNING:
            left = f", {r.remaining} left" if r.remaining is not None else ""
            failed = f", {r.failed} failed" if r.failed else ""
            text = f"{what}: {r.completed + r.warning} done{failed}{left}"
        else:
            text = f"{what}: {job.state}"
        self._retrieve_text = f"{text} (job {job.id}; Transfers, 4)"
        self._show_status()

    def _stop_retrieve(self) -> None:
        """c: cancel the retrieve shown (C-CANCEL), through the queue as the Transfers screen does."""
        if self._retrieve_job is not None and not self._retrieve_ended:
            self.app.job_action("cancel", self._retrieve_job)
            self._retrieve_text = f"{self._retrieve_what}: stopping (C-CANCEL)…"
            self._show_status()
