"""Which process runs a job: an flock on a file per job.

The kernel drops the lock when its process dies, kill -9 included, so a job left "running"
whose lock can be taken was abandoned by a crash and may be resumed; one whose lock is held
is running elsewhere and must not be started twice.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


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
