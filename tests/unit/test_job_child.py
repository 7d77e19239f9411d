"""The app's job processes: a job another process runs is not started twice, and the app hears why."""

from __future__ import annotations

import threading

from dicomtui import paths
from dicomtui.config.model import Node
from dicomtui.engine.jobs import queue_send
from dicomtui.engine.jobs.lock import JobLock, locks_folder
from dicomtui.engine.jobs.runner import JobRunner
from dicomtui.store.jobs import JobStore


def test_a_job_held_by_another_process_is_reported_not_run(tmp_path):
    store = JobStore(paths.jobs_db())
    job = queue_send(store, "x", Node("x", "X", "127.0.0.1", 1), "DICOMTUI", [str(tmp_path)])
    held = JobLock(locks_folder(store), job.id)
    assert held.acquire()  # as a `dicomtui send` running it would
    ended = threading.Event()
    said: list = []
    runner = JobRunner(store, tmp_path / "config.toml",
                       on_finished=lambda report, job_id, error: (said.append((report, job_id, error)), ended.set()))
    try:
        assert runner.start(job.id)
        assert ended.wait(30)
    finally:
        held.release()
    [(report, job_id, error)] = said
    assert report is None and job_id == job.id
    assert error == f"job {job.id} is running in another process"
    assert store.get(job.id).state == "queued"  # untouched
