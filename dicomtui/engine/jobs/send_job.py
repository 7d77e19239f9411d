"""Send jobs: queue one, run it to the end with retries, resume what a crash left.

    job = queue_send(store, node, "DICOMTUI", ["/data/study"], parallel=2)
    report = run_send_job(store, job.id, node, on_progress=print, cancel=event)

A run scans once (the rows it records are the job's instances), then sends in rounds: each
round sends every instance not yet confirmed sent that may still be tried, and records each
outcome in the store before passing it on. Transient failures are tried again after an
exponential back-off, up to the policy's attempts; permanent ones are not.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ...config.model import Config, Node, TransferOptions
from ...store.jobs import (
    CANCELLED,
    DONE,
    FAILED,
    PAUSED,
    PENDING,
    QUEUED,
    RUNNING,
    SENT,
    Job,
    JobStore,
)
from ..association_log import Journal
from ..send import NOT_SENT, InstanceOutcome, Scan, SendProgress, scan, send_scanned
from .lock import is_running_elsewhere, owning, watch_cancel
from .policy import RetryPolicy, is_transient
from .slots import AssociationSlots, node_key, slots_for


@dataclass(frozen=True)
class JobProgress:
    """The job as a whole after each instance (all rounds and earlier runs counted)."""

    job: str
    total: int
    sent: int
    failed: int
    pending: int
    bytes: int
    seconds: float
    round: int  # 1 for the first attempt of this run, 2... for retries
    waiting: float = 0.0  # seconds of back-off before the next round, when waiting
    last: InstanceOutcome | None = None
    note: str = ""  # why it is not sending right now (no free association), in words; "" while it sends


@dataclass(frozen=True)
class JobReport:
    job: Job
    seconds: float
    interrupted: bool = False  # stopped by the caller's cancel (Ctrl-C), not by `jobs cancel`: resumable


def paused_message(job_id: str) -> str:
    return f"resume it on the Transfers screen (p) or with 'dicomtui jobs retry {job_id}'"


def node_to_dict(node: Node) -> dict:
    return dataclasses.asdict(node)


def node_for_job(job: Job, config: Config | None) -> Node:
    """The job's node: the configured one of that name if there still is one (its settings may have been
    corrected since), else the settings recorded when the job was queued."""
    if config is not None:
        configured = config.node(job.target)
        if configured is not None:
            return configured
    return Node(**job.node)


def queue_send(store: JobStore, target: str, node: Node, calling_ae: str, sources: Iterable[str], *,
               parallel: int = 1, policy: RetryPolicy | None = None) -> Job:
    policy = policy or RetryPolicy()
    options = {"parallel": max(1, parallel), "attempts": policy.attempts, "first_delay": policy.first_delay,
               "max_delay": policy.max_delay}
    return store.create("send", target, node_to_dict(node), calling_ae, list(sources), options)


def resumable(store: JobStore) -> list[Job]:
    """Jobs to run on `jobs resume`: queued ones, and running ones whose process is gone."""
    found = []
    for job in store.list():
        if job.state == QUEUED:
            found.append(job)
        elif job.state == RUNNING and not is_running_elsewhere(store, job.id):
            found.append(job)
    return found


def run_send_job(store: JobStore, job_id: str, node: Node, *,
                 on_progress: Callable[[JobProgress], None] | None = None,
                 cancel: threading.Event | None = None,
                 sleep: Callable[[threading.Event, float], bool] | None = None,
                 slots: AssociationSlots | None = None, journal: Journal | None = None) -> JobReport:
    """Run a queued (or abandoned) send job to its end; raises JobBusy if another process runs it.
    `slots`: the association limits it shares with other jobs (default: [transfers]' defaults).
    `journal`: where its associations are logged."""
    with owning(store, job_id):
        run = _Run(store, job_id, node, on_progress, cancel or threading.Event(), sleep,
                   slots or slots_for(store, TransferOptions()))
        run.journal = journal
        return run.run()


class _Run:
    def __init__(self, store: JobStore, job_id: str, node: Node, on_progress, cancel: threading.Event, sleep,
                 slots: AssociationSlots):
        self.store, self.job_id, self.node, self.slots = store, job_id, node, slots
        self.on_progress, self.cancel = on_progress, cancel
        self.sleep = sleep or (lambda event, seconds: event.wait(seconds))
        self.cancelled_by_user = threading.Event()
        self.paused = threading.Event()
        self._stop_watching = threading.Event()
        self.started = time.monotonic()
        self.round = 0
        self._states: dict[str, str] = {}
        self._counts: dict[str, int] = {}
        self._note = ""
        self.journal: Journal | None = None
        self._fresh: Scan | None = None

    def run(self) -> JobReport:
        if not self.store.begin_run(self.job_id):  # paused or finished (cancelled) before it could start
            return JobReport(self.store.get(self.job_id), 0.0)
        job = self.store.get(self.job_id)
        options = job.options
        policy = RetryPolicy(options.get("attempts", 4), options.get("first_delay", 1.0),
                             options.get("max_delay", 60.0))
        watch_cancel(self.store, self.job_id, self.cancel, self.cancelled_by_user, self._stop_watching, self.paused)
        try:
            if not job.scanned:
                found = scan(job.sources, self.cancel)
                if not self.cancel.is_set():  # a scan cut short would record only part of the job
                    self.store.record_scan(self.job_id, [(str(f.path), f.sop_instance_uid) for f in found.files],
                                           [(str(s.path), s.reason) for s in found.skipped])
                    self._fresh = Scan(found.files)  # the first round needs no second look at the files
            if not self.cancel.is_set():
                self._rounds(policy, int(options.get("parallel", 1)))
        finally:
            self._stop_watching.set()
        return self._finish()


    def _rounds(self, policy: RetryPolicy, parallel: int) -> None:
        with self.store.outcome_writer(self.job_id) as writer:
            while not self.cancel.is_set():
                todo = self.store.to_send(self.job_id, policy.attempts)
                if not todo:
                    return
                tried = max(row.attempts for row in todo)
                if tried:  # a retry round: back off, longer after each attempt
                    delay = policy.delay(tried)
                    self._report(None, waiting=delay)
                    if self.sleep(self.cancel, delay):
                        return
                lease = self.slots.acquire(node_key(self.node.host, self.node.port), parallel, self.cancel,
                                           on_wait=self._waiting_for_slot)
                if lease is None:
                    return
                try:
                    if self._note:
                        self._note = ""
                        self.store.set_message(self.job_id, "")
                    self.round += 1
                    self._send(todo, lease.count, writer)
                finally:
                    lease.release()

    def _waiting_for_slot(self, reason: str) -> None:
        self._note = reason
        self.store.set_message(self.job_id, reason)  # `jobs list` and other processes see it too
        self._report(None)

    def _send(self, todo, parallel: int, writer) -> None:
        counts = self.store.counts(self.job_id)
        self._counts = {"total": counts.total, "sent": counts.sent, "failed": counts.failed, "bytes": counts.bytes}
        self._states = {row.path: row.state for row in todo}
        fresh, self._fresh = self._fresh, None
        if fresh is not None and [str(f.path) for f in fresh.files] == list(self._states):
            found = fresh
        else:  # a later round, or a resumed job: the files may have changed since they were scanned
            found = scan([row.path for row in todo], self.cancel)
        for gone in found.skipped:  # moved, deleted or changed since the job was queued: not worth retrying
            self._record(writer, InstanceOutcome(gone.path, "", "failed", error=gone.reason, kind="unreadable"))

        def record(progress: SendProgress) -> None:
            if progress.last is not None:
                self._record(writer, progress.last)

        send_scanned(self.node, self.store.get(self.job_id).calling_ae, found, parallel=parallel, journal=self.journal,
                     on_progress=record, cancel=self.cancel)

    def _record(self, writer, outcome: InstanceOutcome) -> None:
        path = str(outcome.path)
        cancelled = outcome.state == NOT_SENT
        state = outcome.state if outcome.state in (SENT, NOT_SENT) else FAILED
        # Committed first: what the face is told next is already on disk.
        writer.record(path, state, bytes=outcome.bytes, status=outcome.status, error=outcome.error,
                      kind=outcome.kind, transient=is_transient(outcome.kind, outcome.status),
                      counts_as_attempt=not cancelled)
        before = self._states.pop(path, PENDING)
        for name, was, now in (("sent", before == SENT, state == SENT), ("failed", before == FAILED,
                                                                          state == FAILED)):
            self._counts[name] += int(now) - int(was)
        if state == SENT:
            self._counts["bytes"] += outcome.bytes
        self._report(outcome)

    def _report(self, last: InstanceOutcome | None, waiting: float = 0.0) -> None:
        if self.on_progress is None:
            return
        if not self._counts:
            counts = self.store.counts(self.job_id)
            self._counts = {"total": counts.total, "sent": counts.sent, "failed": counts.failed,
                            "bytes": counts.bytes}
        c = self._counts
        self.on_progress(JobProgress(self.job_id, c["total"], c["sent"], c["failed"],
                                     c["total"] - c["sent"] - c["failed"], c["bytes"],
                                     time.monotonic() - self.started, max(1, self.round), waiting, last,
                                     self._note))

    def _finish(self) -> JobReport:
        seconds = time.monotonic() - self.started
        counts = self.store.counts(self.job_id)
        interrupted = False
        if self.cancelled_by_user.is_set():
            state, message = CANCELLED, "cancelled ('dicomtui jobs retry' sends what is left)"
        elif self.paused.is_set():
            state, message = PAUSED, paused_message(self.job_id)
        elif self.cancel.is_set():
            state, message = QUEUED, "interrupted ('dicomtui jobs resume' sends what is left)"
            interrupted = True
        elif counts.failed or counts.pending or counts.not_sent:
            state = FAILED
            message = f"{counts.failed + counts.pending + counts.not_sent} of {counts.total} instances not sent"
        else:
            state, message = DONE, ""
        job = self.store.set_state(self.job_id, state, message)
        return JobReport(job, seconds, interrupted)
