"""Running jobs in the background for a long-lived face (the app): the CLI runs one job in its own
process with run_send_job; the app keeps working while several run, each in a child process of its own
(engine/jobs/child.py) watched by a thread here.

    runner = JobRunner(store, config_path, on_progress=feed, on_state=changed, on_finished=done)
    job = runner.send("pacs", node, "DICOMTUI", ["/data/study"], parallel=2)
    runner.pause(job.id); runner.resume(job.id); runner.cancel(job.id)

Every job runs as soon as it is started, and waits for a free association
slot (engine/jobs/slots.py): the global and per-node limits of [transfers] are what schedules them, the
same limits a `dicomtui send` in another process obeys.

Callbacks come from the threads watching the job processes, up to ten times a second per job: they must be
cheap and thread-safe; a face coalesces them. Cancel and pause go through the store's flags, as
`dicomtui jobs cancel` does, so a job stopped here ends "cancelled" or "paused" with its rows committed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from ...config.model import Node
from ...store.jobs import (
    CANCELLED,
    DONE,
    FAILED,
    NOT_SENT,
    PAUSED,
    PENDING,
    QUEUED,
    RUNNING,
    Job,
    JobStateError,
    JobStore,
)
from .child import run_in_child
from .lock import JobBusy, is_running_elsewhere
from .send_job import JobProgress, JobReport, paused_message, queue_send, resumable


class JobRunner:
    def __init__(self, store: JobStore, config_path: Path, *,
                 on_progress: Callable[[JobProgress], None] | None = None,
                 on_state: Callable[[str], None] | None = None,
                 on_finished: Callable[[JobReport | None, str, str | None], None] | None = None) -> None:
        """on_state(job_id): the job's state changed in the store (started, ended).
        on_finished(report, job_id, error): a run ended; error is a sentence when it could not run at all.
        config_path: the config the job processes read (their node, the [transfers] limits)."""
        self.store = store
        self.config_path = config_path
        self._on_progress = on_progress
        self._on_state = on_state
        self._on_finished = on_finished
        self._lock = threading.Lock()
        self._threads: dict[str, threading.Thread] = {}
        self._cancels: dict[str, threading.Event] = {}

    # -- what runs here ----------------------------------------------------------------------------------
    def running_here(self) -> set[str]:
        with self._lock:
            return {job_id for job_id, thread in self._threads.items() if thread.is_alive()}

    def is_running_here(self, job_id: str) -> bool:
        return job_id in self.running_here()

    # -- actions -------------------------------------------------------------------------------------------
    def send(self, target: str, node: Node, calling_ae: str, sources: Iterable[str], *, parallel: int = 1) -> Job:
        """Queue a send job and start it."""
        job = queue_send(self.store, target, node, calling_ae, sources, parallel=parallel)
        self.start(job.id)
        return job

    def start(self, job_id: str) -> bool:
        """Run a queued (or abandoned) job in a child process, watched by a thread here; False if it already
        runs here."""
        with self._lock:
            thread = self._threads.get(job_id)
            if thread is not None and thread.is_alive():
                return False
            cancel = threading.Event()
            thread = threading.Thread(target=self._run, args=(job_id, cancel), name=f"job-{job_id}",
                                      daemon=True)
            self._threads[job_id], self._cancels[job_id] = thread, cancel
        thread.start()
        return True

    def cancel(self, job_id: str) -> Job:
        """Cancel a job: a running one (here or in another process) stops after its current instances and
        ends "cancelled"; one that is not running becomes "cancelled" at once."""
        job = self.store.get(job_id)
        if job.state == RUNNING and (self.is_running_here(job_id) or is_running_elsewhere(self.store, job_id)):
            self.store.request_cancel(job_id)  # the run's watcher notices within CANCEL_POLL_SECONDS
            return job
        job = self.store.set_state(job_id, CANCELLED, "cancelled ('dicomtui jobs retry' sends what is left)")
        self._state(job_id)
        return job

    def pause(self, job_id: str) -> Job:
        """Pause a job: a running one (here or in another process) stops after its current instances (a move
        or get sends C-CANCEL) and ends "paused"; a queued one becomes "paused" at once. resume() goes on."""
        job = self.store.get(job_id)
        if job.state == RUNNING and (self.is_running_here(job_id) or is_running_elsewhere(self.store, job_id)):
            self.store.request_pause(job_id)
            return job
        if job.state not in (QUEUED, RUNNING):  # running with nobody behind it: a crash left it, pausable
            raise JobStateError(f"job {job_id} is {job.state}: only a queued or running job can be paused")
        job = self.store.set_state(job_id, PAUSED, paused_message(job_id))
        self._state(job_id)
        return job

    def resume(self, job_id: str) -> bool:
        """Go on with a paused job where it stopped (nothing confirmed is sent again); False if it is not
        paused."""
        if self.store.get(job_id).state != PAUSED:
            return False
        self.store.set_state(job_id, QUEUED, "")
        self._state(job_id)
        return self.start(job_id)

    def retry(self, job_id: str) -> bool:
        """Send again what a finished job did not send, or run a failed move or get again whole (as
        `dicomtui jobs retry`); False: nothing to retry."""
        job = self.store.get(job_id)
        if job.state == RUNNING and (self.is_running_here(job_id) or is_running_elsewhere(self.store, job_id)):
            raise JobBusy(f"job {job_id} is running; retry it once it has finished")
        if job.retrieve is not None:
            if job.state == DONE:
                return False
            if job.state != QUEUED:
                self.store.set_state(job_id, QUEUED, "")
            self._state(job_id)
            return self.start(job_id)
        if job.scanned and not self.store.instances(job_id, [FAILED, PENDING, NOT_SENT]):
            return False
        if job.state != QUEUED:
            self.store.set_state(job_id, QUEUED, "")
        self.store.reset_unsent(job_id)
        self._state(job_id)
        return self.start(job_id)

    def resumable(self) -> list[Job]:
        """Jobs a crash or an interruption left (queued, or running with no process behind them), not ours."""
        mine = self.running_here()
        return [job for job in resumable(self.store) if job.id not in mine]

    def shutdown(self, wait: float = 5.0) -> None:
        """Interrupt every run (they end "queued": resumable, nothing confirmed is sent again); wait up to
        `wait` seconds in all for them to record that."""
        with self._lock:
            threads = list(self._threads.values())
            for event in self._cancels.values():
                event.set()
        deadline = time.monotonic() + wait
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    # -- the thread watching a job's process -----------------------------------------------------------------
    def _run(self, job_id: str, cancel: threading.Event) -> None:
        """The job's process reads its node from the config, as `jobs retry` does (the configured node of that
        name, else the settings recorded with the job); a move or get's counts reach the screen through the
        store (re-read every few seconds)."""
        report, error = None, None
        try:
            self._state(job_id)
            # on_started: the child took the job, it is "running" in the store now.
            report, error = run_in_child(self.store, self.config_path, job_id, cancel, self._on_progress,
                                         on_started=lambda: self._state(job_id))
        except Exception as exc:  # JobStoreError, or a bug: said in words, never lost in a thread
            error = str(exc) if str(exc) else repr(exc)
        finally:
            self._state(job_id)
            if self._on_finished is not None:
                self._on_finished(report, job_id, error)

    def _state(self, job_id: str) -> None:
        if self._on_state is not None:
            self._on_state(job_id)

