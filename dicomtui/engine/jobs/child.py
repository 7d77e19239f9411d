"""Running a job in a child process for the app, and the child's side of it.

A job in a thread of the app shares the app's GIL: at a thousand instances a second (or while
pydicom converts a compressed instance) the screen would answer keys late. So the app runs each
job as `dicomtui jobs run ID --store DB --events`, a process of its own on another core, which
prints its progress as JSON lines (at most ten a second) that the app's runner turns back into
JobProgress. Cancel and pause already reach a job in another process through the store's flags;
the app stops its children with SIGINT when it quits (their jobs end "queued", resumable). The
child starts a session of its own, so a dropped SSH connection that kills the app does not kill
the transfer: the job runs to its end.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from ...store.jobs import JobStore
from .send_job import JobProgress, JobReport

EVENTS_PER_SECOND = 10
EXIT_INTERRUPTED = 130
_FIELDS = [f.name for f in dataclasses.fields(JobProgress) if f.name != "last"]


def child_argv(store: JobStore, config_path: Path, job_id: str) -> list[str]:
    return [sys.executable, "-m", "dicomtui", "--config", str(config_path), "jobs", "run", job_id,
            "--store", str(store.path), "--events"]


class EventWriter:
    """The child's side: JobProgress as JSON lines on `stream`, at most EVENTS_PER_SECOND, but always when
    the job's note changes and when nothing is left to send (so the last count shown is the final one)."""

    def __init__(self, stream) -> None:
        self._stream = stream
        self._last = 0.0
        self._note: str | None = None
        self._lock = threading.Lock()  # a send reports from several association threads

    def progress(self, p: JobProgress) -> None:
        now = time.monotonic()
        with self._lock:
            if now - self._last < 1 / EVENTS_PER_SECOND and p.note == self._note and p.pending:
                return
            self._last, self._note = now, p.note
            self._write({"progress": {name: getattr(p, name) for name in _FIELDS}})

    def started(self) -> None:
        with self._lock:
            self._write({"started": True})

    def _write(self, event: dict) -> None:
        try:
            self._stream.write(json.dumps(event) + "\n")
            self._stream.flush()
        except (BrokenPipeError, ValueError):  # the app is gone: the job goes on (its rows are the record)
            pass


def run_in_child(store: JobStore, config_path: Path, job_id: str, cancel: threading.Event,
                 on_progress: Callable[[JobProgress], None] | None,
                 on_started: Callable[[], None]) -> tuple[JobReport | None, str | None]:
    """Run the job in a child process until it ends: (report, None), or (None, why it could not run).
    Setting `cancel` interrupts it (SIGINT): the job ends "queued", as a Ctrl-C of `dicomtui send` does."""
    started = time.monotonic()
    try:
        child = subprocess.Popen(child_argv(store, config_path, job_id), stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8",
                                 start_new_session=True)
    except OSError as exc:
        return None, f"cannot start a process for the job: {exc.strerror or exc}"
    errors: list[str] = []
    reader = threading.Thread(target=lambda: errors.extend(child.stderr), daemon=True)  # never a full pipe
    reader.start()
    stopper = threading.Thread(target=_interrupt_on, args=(cancel, child), daemon=True)
    stopper.start()
    told = False
    for line in child.stdout:
        event = _parse(line)
        if event is None:
            continue
        if not told:
            told = True
            on_started()
        progress = event.get("progress")
        if progress is not None and on_progress is not None:
            on_progress(JobProgress(**{k: progress[k] for k in _FIELDS if k in progress}))
    code = child.wait()
    reader.join(2.0)
    seconds = time.monotonic() - started
    if code in (0, 1, EXIT_INTERRUPTED):
        return JobReport(store.get(job_id), seconds, interrupted=code == EXIT_INTERRUPTED), None
    said = [line.strip() for line in errors if line.strip()]
    why = said[-1].removeprefix("dicomtui: ") if said else f"the job's process ended with exit code {code}"
    return None, why


def _interrupt_on(cancel: threading.Event, child: subprocess.Popen) -> None:
    while child.poll() is None:
        if cancel.wait(0.2):
            if child.poll() is None:
                try:
                    os.kill(child.pid, signal.SIGINT)
                except ProcessLookupError:
                    pass
            return


def _parse(line: str) -> dict | None:
    try:
        event = json.loads(line)
    except ValueError:
        return None
    return event if isinstance(event, dict) else None
