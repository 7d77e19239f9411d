"""The job store (dicomtui/store/jobs.py): state transitions, instance rows, persistence, errors in words."""

from __future__ import annotations

import pytest

from dicomtui.engine.jobs import RetryPolicy, is_transient
from dicomtui.store.jobs import (
    CANCELLED,
    DONE,
    FAILED,
    NOT_SENT,
    PAUSED,
    PENDING,
    QUEUED,
    RUNNING,
    SENT,
    JobStateError,
    JobStore,
    JobStoreError,
    NoSuchJob,
)
from tests.cli_runner import run

NODE = {"name": "pacs", "ae_title": "PACS", "host": "10.0.0.5", "port": 104}


def new_job(store: JobStore):
    return store.create("send", "pacs", NODE, "DICOMTUI", ["/data/a", "/data/b"], {"parallel": 2})


def test_a_new_job_is_queued_and_keeps_what_it_was_given(tmp_path):
    store = JobStore(tmp_path / "jobs.sqlite3")
    job = new_job(store)
    assert (job.id, job.kind, job.target, job.state) == ("1", "send", "pacs", QUEUED)
    assert job.node == NODE and job.sources == ["/data/a", "/data/b"] and job.options == {"parallel": 2}
    assert not job.scanned and job.started is None and job.finished is None
    assert new_job(store).id == "2"


def test_transitions_allowed_and_refused(tmp_path):
    store = JobStore(tmp_path / "jobs.sqlite3")
    job = new_job(store)
    running = store.set_state(job.id, RUNNING)
    assert running.started is not None and running.finished is None
    done = store.set_state(job.id, DONE)
    assert done.finished is not None
    with pytest.raises(JobStateError, match="job 1 is done: it cannot become cancelled"):
        store.set_state(job.id, CANCELLED)
    assert store.set_state(job.id, QUEUED).finished is None  # jobs retry
    assert store.set_state(job.id, CANCELLED, "by hand").message == "by hand"
    other = new_job(store)
    with pytest.raises(JobStateError):
        store.set_state(other.id, DONE)  # a queued job never ran: it cannot be done
    with pytest.raises(NoSuchJob, match="there is no job 99"):
        store.set_state("99", RUNNING)
    with pytest.raises(NoSuchJob, match="job ids are numbers"):
        store.get("abc")


def test_a_stop_asked_for_before_a_run_begins_is_kept(tmp_path):
    """A cancel or pause asked for while a job's process is starting wins over that process's start."""
    store = JobStore(tmp_path / "jobs.sqlite3")
    job = new_job(store)
    store.set_state(job.id, RUNNING)  # a run a crash left, which a process is about to resume
    store.request_cancel(job.id)
    assert store.begin_run(job.id) and store.stop_requested(job.id) == "cancel"  # its watcher will see it
    assert store.set_state(job.id, CANCELLED).cancel_requested is False  # honoured: cleared
    assert store.set_state(job.id, QUEUED).state == QUEUED  # jobs retry
    store.set_state(job.id, PAUSED)  # paused (or cancelled) while queued, before the process began
    assert not store.begin_run(job.id) and store.get(job.id).state == PAUSED
    store.set_state(job.id, CANCELLED)
    assert not store.begin_run(job.id) and store.get(job.id).state == CANCELLED
    other = new_job(store)
    assert store.begin_run(other.id) and store.get(other.id).state == RUNNING


def test_instances_outcomes_and_what_is_left_to_send(tmp_path):
    store = JobStore(tmp_path / "jobs.sqlite3")
    job = new_job(store)
    store.record_scan(job.id, [(f"/data/a/{n}.dcm", f"1.2.{n}") for n in range(5)], [("/data/b/x.txt", "not DICOM")])
    assert store.get(job.id).scanned
    with store.outcome_writer(job.id) as writer:
        writer.record("/data/a/0.dcm", SENT, bytes=100, status=0)
        writer.record("/data/a/1.dcm", FAILED, error="refused", kind="refused", transient=True)
        writer.record("/data/a/2.dcm", FAILED, error="SOP class not supported", kind="unsupported")
        writer.record("/data/a/3.dcm", NOT_SENT, kind="cancelled", counts_as_attempt=False)
    counts = store.counts(job.id)
    assert (counts.total, counts.sent, counts.failed, counts.not_sent, counts.pending) == (5, 1, 2, 1, 1)
    assert (counts.skipped, counts.bytes) == (1, 100)
    # Transient failures with attempts left, cancelled and pending ones; never the sent or permanent ones.
    assert [r.path for r in store.to_send(job.id, max_attempts=4)] == ["/data/a/1.dcm", "/data/a/3.dcm",
                                                                        "/data/a/4.dcm"]
    assert [r.path for r in store.to_send(job.id, max_attempts=1)] == ["/data/a/3.dcm", "/data/a/4.dcm"]
    assert store.skipped(job.id)[0].reason == "not DICOM"
    # jobs retry: everything not sent goes back to pending with fresh attempts.
    assert store.reset_unsent(job.id) == 4
    rows = store.instances(job.id)
    assert [r.state for r in rows] == [SENT, PENDING, PENDING, PENDING, PENDING]
    assert all(r.attempts == 0 for r in rows[1:])


def test_everything_survives_reopening(tmp_path):
    path = tmp_path / "jobs.sqlite3"
    first = JobStore(path)
    job = new_job(first)
    first.set_state(job.id, RUNNING)
    first.record_scan(job.id, [("/a.dcm", "1.2.3")], [])
    writer = first.outcome_writer(job.id)
    writer.record("/a.dcm", SENT, bytes=7, status=0)
    # No close: a process killed here leaves the committed rows behind.
    again = JobStore(path).get(job.id)
    assert again.state == RUNNING and again.counts.sent == 1 and again.counts.bytes == 7
    writer.close()


def test_an_unreadable_database_is_an_error_in_words(tmp_path):
    path = tmp_path / "jobs.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(JobStoreError, match="cannot read the job database .*Move the file away"):
        JobStore(path).list()


def test_cli_says_so_without_a_traceback(home):
    db = home.root / "data" / "dicomtui" / "jobs.sqlite3"
    db.parent.mkdir(parents=True)
    db.write_bytes(b"garbage" * 1000)
    result = run(home, "jobs", "list")
    assert result.code == 1, result
    assert "cannot read the job database" in result.err and "Traceback" not in result.err
    missing = run(home, "jobs", "show", "12")
    assert missing.code in (1, 2) and "Traceback" not in missing.err


def test_no_such_job_exits_2(home):
    result = run(home, "jobs", "show", "12")
    assert result.code == 2 and "there is no job 12" in result.err, result
    assert run(home, "jobs", "list", "--json").out.strip() == "[]"


def test_retry_policy():
    assert is_transient("refused", None) and is_transient("aborted", None) and is_transient("timeout", None)
    assert is_transient("status", 0xA700) and is_transient("status", 0xA7FF)
    assert not is_transient("status", 0xA900) and not is_transient("unsupported", None)
    assert not is_transient("conversion", None) and not is_transient("rejected", None)
    assert is_transient("rejected-transient", None) and not is_transient("truncated", None)
    policy = RetryPolicy(attempts=4, first_delay=1.0, max_delay=5.0)
    assert [policy.delay(n) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 5.0]
