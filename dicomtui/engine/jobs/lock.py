"""Which process runs a job: an flock on a file per job.

The kernel drops the lock when its process dies, kill -9 included, so a job left "running"
whose lock can be taken was abandoned by a crash and may be resumed; one whose lock is held
is running elsewhere and must not be started twice.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CANCEL_POLL_SECONDS = 0.3  # how soon a `jobs cancel` from another process is noticed


class JobBusy(Exception):
    """Another process runs this job right now."""


class JobLock:
    def __init__(self, folder: Path, job_id: str):
        self.path = folder / f"job-{job_id}.lock"
        self._fd: int | None = None

    def acquire(self) -> bool:
        """Take the lock without waiting; False when another process holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the flock
            self._fd = None

    def held_elsewhere(self) -> bool:
        """Whether some other process runs the job right now (tries the lock and gives it back)."""
        if not self.acquire():
            return True
        self.release()
        return False


def locks_folder(store) -> Path:
    return store.path.parent / "job-locks"


def is_running_elsewhere(store, job_id: str) -> bool:
    return JobLock(locks_folder(store), job_id).held_elsewhere()


@contextmanager
def owning(store, job_id: str) -> Iterator[None]:
    """Run the block as the one process running the job; JobBusy if another process runs it."""
    lock = JobLock(locks_folder(store), job_id)
    if not lock.acquire():
        raise JobBusy(f"job {job_id} is running in another process")
    try:
        yield
    finally:
        lock.release()


def watch_cancel(store, job_id: str, cancel: threading.Event, by_user: threading.Event,
                 stop: threading.Event, paused: threading.Event) -> threading.Thread:
    """A thread that turns the store's cancel or pause flag (`dicomtui jobs cancel`, the Transfers screen,
    maybe in another process) into `cancel`, marking `by_user` or `paused`, until `stop` or `cancel` is set."""
    def watch() -> None:
        while not cancel.is_set():
            asked = store.stop_requested(job_id)
            if asked:
                (by_user if asked == "cancel" else paused).set()
                cancel.set()
                return
            if stop.wait(CANCEL_POLL_SECONDS):
                return

    thread = threading.Thread(target=watch, name=f"job-{job_id}-cancel", daemon=True)
    thread.start()
    return thread
