"""Job progress gathered from the threads watching the job processes, for the Transfers screen to take in
batches.

A send reports up to ten times a second per job; the watching threads only overwrite the
newest progress of their job here (and mark jobs whose state changed), and the screen drains
the feed on a timer at most ten times a second: however fast instances go, the screen does
one update per job per tick.
"""

from __future__ import annotations

import threading


class JobFeed:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._progress: dict = {}
        self._changed: set[str] = set()

    def progress(self, progress) -> None:
        """A JobProgress from a thread watching a job: only the newest per job is kept."""
        with self._lock:
            self._progress[progress.job] = progress

    def state_changed(self, job_id: str) -> None:
        with self._lock:
            self._changed.add(job_id)

    def drain(self) -> tuple[dict, set[str]]:
        """(newest progress by job id, ids whose state changed) since the last drain."""
        with self._lock:
            progress, self._progress = self._progress, {}
            changed, self._changed = self._changed, set()
        return progress, changed
