"""Move and get jobs: a C-MOVE or C-GET recorded in the transfer queue while it runs.

    job = queue_retrieve(store, "move", "pacs", node, "DICOMTUI", request, destination="WS1")
    report = run_retrieve_job(store, job.id, node, on_progress=print, cancel=event)

Unlike a send, a retrieve is one request whose instances the archive picks: there is no
instance row to skip on a second run, so a retry or resume runs the whole request again (a
destination that keeps the newest copy, as our receiver does, ends up with each instance once).
Each pending response's counts are committed before `on_progress` hears of them. `jobs cancel`
from another process sets the store's cancel flag; the run notices and the engine sends C-CANCEL.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ...config.model import Node, TransferOptions
from ...store.jobs import CANCELLED, DONE, FAILED, PAUSED, QUEUED, Job, JobStore
from ..association_log import Journal
from ..retrieve import RetrieveProgress, RetrieveRequest, RetrieveResult
from .lock import owning, watch_cancel
from .send_job import node_to_dict, paused_message
from .slots import AssociationSlots, node_key, slots_for

RETRIEVE_KINDS = ("move", "get")


@dataclass(frozen=True)
class RetrieveJobReport:
    job: Job
    result: RetrieveResult
    seconds: float
    interrupted: bool = False  # stopped by the caller's cancel (Ctrl-C), not by `jobs cancel`: resumable


def queue_retrieve(store: JobStore, kind: str, target: str, node: Node, calling_ae: str, request: RetrieveRequest,
                   *, destination: str = "", storage: Path | None = None, duplicates: str = "keep-newest",
                   fsync: bool = True, local_port: int | None = None) -> Job:
    """Record a move (`destination` needed) or get (`storage` needed) job, queued."""
    if kind not in RETRIEVE_KINDS:
        raise ValueError(kind)
    # What a retry in another process needs to run the same request the same way.
    options = {"storage": None if storage is None else str(storage), "duplicates": duplicates, "fsync": fsync,
               "local_port": local_port}
    return store.create_retrieve(kind, target, node_to_dict(node), calling_ae, destination,
                                 dataclasses.asdict(request), options)


def request_of(job: Job) -> RetrieveRequest:
    assert job.retrieve is not None
    return RetrieveRequest(**job.retrieve.request)


def run_retrieve_job(store: JobStore, job_id: str, node: Node, *,
                     on_progress: Callable[[RetrieveProgress], None] | None = None,
                     cancel: threading.Event | None = None, receiver=None,
                     slots: AssociationSlots | None = None,
                     on_note: Callable[[str], None] | None = None,
                     journal: Journal | None = None) -> RetrieveJobReport:
    """Run a queued (or abandoned) move or get job to its end; raises JobBusy if another process runs it.
    `receiver`: our running receiver when the move's destination is this machine (see engine.retrieve.move)."""
    with owning(store, job_id):
        run = _Run(store, job_id, node, on_progress, cancel or threading.Event(), receiver,
                   slots or slots_for(store, TransferOptions()), on_note)
        run.journal = journal
        return run.run()


class _Run:
    def __init__(self, store: JobStore, job_id: str, node: Node, on_progress, cancel: threading.Event, receiver,
                 slots: AssociationSlots, on_note=None):
        self.store, self.job_id, self.node, self.slots = store, job_id, node, slots
        self.on_note = on_note
        self.on_progress, self.cancel, self.receiver = on_progress, cancel, receiver
        self.cancelled_by_user = threading.Event()
        self.paused = threading.Event()
        self._stop_watching = threading.Event()
        self.started = time.monotonic()
        self.journal: Journal | None = None  # where its associations are logged
        self._waited = False

    def run(self) -> RetrieveJobReport:
        job = self.store.get(self.job_id)
        if job.retrieve is None:
            raise ValueError(f"job {self.job_id} is a {job.kind} job, not a move or get")
        if not self.store.begin_run(self.job_id):  # paused or finished (cancelled) before it could start
            job = self.store.get(self.job_id)
            return RetrieveJobReport(job, _result_of(job), 0.0)
        self.store.reset_retrieve(self.job_id)  # a resumed or retried retrieve runs the whole request again
        # The engine's own canceller turns `cancel` into a C-CANCEL on the association.
        watch_cancel(self.store, self.job_id, self.cancel, self.cancelled_by_user, self._stop_watching, self.paused)
        lease = None
        try:
            lease = self.slots.acquire(node_key(self.node.host, self.node.port), 1, self.cancel,
                                       on_wait=self._waiting_for_slot)
            if lease is None:
                result = RetrieveResult()
                result.fail("cancelled", "cancelled while it waited for a free association")
                return self._finish(result)
            if self._waited:  # it runs now: the faces must stop showing it as waiting
                self.store.set_message(self.job_id, "")
            with self.store.retrieve_writer(self.job_id) as writer:
                def progress(p: RetrieveProgress) -> None:
                    writer.progress(p.remaining, p.completed, p.failed, p.warning)  # on disk before it is shown
                    if self.on_progress is not None:
                        self.on_progress(p)

                result = self._retrieve(job, progress)
                writer.result(status=result.status, completed=result.completed, failed=result.failed,
                              warning=result.warning, failed_uids=list(result.failed_uids),
                              failure=result.failure or "")
        finally:
            self._stop_watching.set()
            if lease is not None:
                lease.release()
        return self._finish(result)

    def _waiting_for_slot(self, reason: str) -> None:
        self._waited = True
        self.store.set_message(self.job_id, reason)  # the faces show the job's message
        if self.on_note is not None:
            self.on_note(reason)

    def _retrieve(self, job: Job, progress) -> RetrieveResult:
        from ..retrieve import move
        from ..retrieve_get import get

        request = request_of(job)
        options = job.options
        if job.kind == "move":
            return move(self.node, job.calling_ae, request, job.retrieve.destination, cancel=self.cancel,
                        on_progress=progress, receiver=self.receiver, local_port=options.get("local_port"),
                        journal=self.journal)
        if not options.get("storage"):
            raise ValueError(f"get job {self.job_id} has no storage folder recorded")
        return get(self.node, job.calling_ae, request, Path(options["storage"]), cancel=self.cancel,
                   on_progress=progress, duplicates=options.get("duplicates", "keep-newest"),
                   fsync=bool(options.get("fsync", True)), journal=self.journal)


    def _finish(self, result: RetrieveResult) -> RetrieveJobReport:
        seconds = time.monotonic() - self.started
        interrupted = False
        if result.ok:
            state, message = DONE, ""
        elif result.failure == "cancelled" and self.cancelled_by_user.is_set():
            state, message = CANCELLED, f"{result.error} ('dicomtui jobs retry' runs it again)"
        elif result.failure == "cancelled" and self.paused.is_set():
            state, message = PAUSED, paused_message(self.job_id)
        elif result.failure == "cancelled" and self.cancel.is_set():
            state, message = QUEUED, "interrupted ('dicomtui jobs resume' runs it again)"
            interrupted = True
        else:
            state, message = FAILED, result.error or "failed"
        job = self.store.set_state(self.job_id, state, message)
        return RetrieveJobReport(job, result, seconds, interrupted)


def _result_of(job: Job) -> RetrieveResult:
    """A finished job's outcome as the engine would have returned it (for faces that show it again)."""
    r = job.retrieve
    assert r is not None
    result = RetrieveResult(r.status, r.completed, r.failed, r.warning, list(r.failed_uids))
    if job.state != DONE:
        result.fail(r.failure or job.state, job.message)
    return result
