"""The transfer queue: jobs and one row per instance, kept in SQLite so a job outlives its process.

Every change is committed before the method returns, so whatever a face reports (a job
started, an instance sent) is already on disk; after a kill -9 the rows say exactly which
instances were confirmed stored by the peer and which still have to go.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .jobs_db import JobStoreError, connect, open_connection

QUEUED, RUNNING, PAUSED, DONE, FAILED, CANCELLED = "queued", "running", "paused", "done", "failed", "cancelled"
JOB_STATES = (QUEUED, RUNNING, PAUSED, DONE, FAILED, CANCELLED)
FINISHED = (DONE, FAILED, CANCELLED)
# Which state may follow which. running -> running is a resume after a crash (a new process owns it);
# finished -> queued is `jobs retry`; paused -> queued is a resume.
TRANSITIONS = {
    QUEUED: {RUNNING, PAUSED, CANCELLED},
    RUNNING: {RUNNING, QUEUED, PAUSED, DONE, FAILED, CANCELLED},
    PAUSED: {QUEUED, RUNNING, CANCELLED},
    DONE: {QUEUED},
    FAILED: {QUEUED, CANCELLED},
    CANCELLED: {QUEUED},
}

WAITING = "waiting for a free association"  # how a running job's message starts while it waits (faces look)

PENDING, SENT, NOT_SENT = "pending", "sent", "not-sent"  # and FAILED, shared with the job states
INSTANCE_STATES = (PENDING, SENT, FAILED, NOT_SENT)


class NoSuchJob(JobStoreError):
    pass


class JobStateError(JobStoreError):
    """A transition the job's state does not allow (cancelling a finished job, say)."""


@dataclass(frozen=True)
class JobCounts:
    total: int = 0
    pending: int = 0
    sent: int = 0
    failed: int = 0
    not_sent: int = 0
    skipped: int = 0
    bytes: int = 0

    @property
    def unsent(self) -> int:
        return self.total - self.sent


@dataclass(frozen=True)
class Job:
    id: str
    kind: str
    target: str
    node: dict
    calling_ae: str
    sources: list[str]
    options: dict
    state: str
    scanned: bool
    cancel_requested: bool
    message: str
    created: float
    started: float | None
    finished: float | None
    counts: JobCounts = field(default_factory=JobCounts)
    retrieve: RetrieveState | None = None  # move and get jobs only
    pause_requested: bool = False


@dataclass(frozen=True)
class RetrieveState:
    """A move or get job's request and the sub-operation counts the archive reported so far."""

    destination: str  # the C-MOVE destination AE title; "" for a C-GET
    request: dict  # RetrieveRequest's fields
    remaining: int | None = None
    completed: int = 0
    failed: int = 0
    warning: int = 0
    failed_uids: list[str] = field(default_factory=list)
    status: int | None = None  # the final status, once one came
    failure: str = ""  # RetrieveResult.failure, "" when none


@dataclass(frozen=True)
class JobInstance:
    path: str
    sop_instance_uid: str
    state: str
    bytes: int = 0
    status: int | None = None
    error: str = ""
    kind: str = ""
    transient: bool = False
    attempts: int = 0


@dataclass(frozen=True)
class SkippedFile:
    path: str
    reason: str


_JOB_COLUMNS = ("id, kind, target, node, calling_ae, sources, options, state, scanned, cancel_requested, message, "
                "created, started, finished, pause_requested")
_RETRIEVE_COLUMNS = "destination, request, remaining, completed, failed, warning, failed_uids, status, failure"
_INSTANCE_COLUMNS = "path, sop_instance_uid, state, bytes, status, error, kind, transient, attempts"


class JobStore:
    def __init__(self, path: Path):
        self.path = path

    # -- jobs ---------------------------------------------------------------------------------------------

    def create(self, kind: str, target: str, node: dict, calling_ae: str, sources: Iterable[str],
               options: dict) -> Job:
        with connect(self.path) as conn:
            cursor = conn.execute(
                "INSERT INTO jobs (kind, target, node, calling_ae, sources, options, state, created) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (kind, target, json.dumps(node), calling_ae, json.dumps(list(sources)), json.dumps(options),
                 QUEUED, time.time()))
            job_id = cursor.lastrowid
        return self.get(str(job_id))

    def create_retrieve(self, kind: str, target: str, node: dict, calling_ae: str, destination: str,
                        request: dict, options: dict) -> Job:
        """A move or get job and its counts row, in one transaction: never a job without its request."""
        uids = [request[key] for key in ("study_uid", "series_uid", "instance_uid") if request.get(key)]
        with connect(self.path) as conn:
            cursor = conn.execute(
                "INSERT INTO jobs (kind, target, node, calling_ae, sources, options, state, created) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (kind, target, json.dumps(node), calling_ae, json.dumps(uids), json.dumps(options), QUEUED,
                 time.time()))
            job_id = cursor.lastrowid
            conn.execute("INSERT INTO job_retrieves (job_id, destination, request) VALUES (?, ?, ?)",
                         (job_id, destination, json.dumps(request)))
        return self.get(str(job_id))

    def reset_retrieve(self, job_id: str) -> None:
        """`jobs retry` of a move or get: the whole request runs again, so its counts start from zero."""
        with connect(self.path) as conn:
            conn.execute("UPDATE job_retrieves SET remaining = NULL, completed = 0, failed = 0, warning = 0, "
                         "failed_uids = '[]', status = NULL, failure = '', updated = ? WHERE job_id = ?",
                         (time.time(), _number(job_id)))

    def retrieve_writer(self, job_id: str) -> RetrieveWriter:
        return RetrieveWriter(self.path, _number(job_id))

    def get(self, job_id: str) -> Job:
        with connect(self.path) as conn:
            row = conn.execute(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE id = ?", (_number(job_id),)).fetchone()
            if row is None:
                raise NoSuchJob(f"there is no job {job_id} ('dicomtui jobs list' shows them)")
            return _job(row, _counts(conn, row[0]), _retrieve(conn, row[0]))

    def list(self) -> list[Job]:
        with connect(self.path) as conn:
            rows = conn.execute(f"SELECT {_JOB_COLUMNS} FROM jobs ORDER BY id").fetchall()
            return [_job(row, _counts(conn, row[0]), _retrieve(conn, row[0])) for row in rows]

    def set_state(self, job_id: str, state: str, message: str | None = None) -> Job:
        """Move the job to `state` (checked against TRANSITIONS), stamping started/finished."""
        if state not in JOB_STATES:
            raise ValueError(state)
        now = time.time()
        with connect(self.path) as conn:
            conn.execute("BEGIN IMMEDIATE")  # read and write under one lock: two processes may race
            row = conn.execute("SELECT state FROM jobs WHERE id = ?", (_number(job_id),)).fetchone()
            if row is None:
                raise NoSuchJob(f"there is no job {job_id} ('dicomtui jobs list' shows them)")
            if state not in TRANSITIONS[row[0]]:
                raise JobStateError(f"job {job_id} is {row[0]}: it cannot become {state}")
            sets = ["state = ?"]
            values: list = [state]
            if message is not None:
                sets.append("message = ?")
                values.append(message)
            # A cancel or pause asked for is kept until a run has ended (or the user queues the job again):
            # never cleared when a run starts, or one asked for while its process was starting would be lost.
            if state == RUNNING:
                sets += ["started = COALESCE(started, ?)", "finished = NULL"]
                values.append(now)
            elif state == PAUSED:
                sets += ["cancel_requested = 0", "pause_requested = 0"]
            elif state in FINISHED:
                sets += ["finished = ?", "cancel_requested = 0", "pause_requested = 0"]
                values.append(now)
            elif state == QUEUED:
                sets += ["finished = NULL", "cancel_requested = 0", "pause_requested = 0"]
            conn.execute(f"UPDATE jobs SET {', '.join(sets)} WHERE id = ?", (*values, _number(job_id)))
        return self.get(job_id)

    def begin_run(self, job_id: str) -> bool:
        """The owning process starts a run: "running", unless the job was paused or finished (cancelled, say)
        since that process was asked to run it, which then wins: False, nothing changed. One transaction, so
        no pause or cancel slips between the look and the change."""
        with connect(self.path) as conn:
            conn.execute("BEGIN IMMEDIATE")
            row = conn.execute("SELECT state FROM jobs WHERE id = ?", (_number(job_id),)).fetchone()
            if row is None:
                raise NoSuchJob(f"there is no job {job_id} ('dicomtui jobs list' shows them)")
            if row[0] == PAUSED or row[0] in FINISHED:
                return False
            conn.execute("UPDATE jobs SET state = ?, message = '', started = COALESCE(started, ?), finished = NULL "
                         "WHERE id = ?", (RUNNING, time.time(), _number(job_id)))
        return True

    def request_cancel(self, job_id: str) -> None:
        """Ask the process running the job to stop it (it polls this flag)."""
        with connect(self.path) as conn:
            conn.execute("UPDATE jobs SET cancel_requested = 1 WHERE id = ?", (_number(job_id),))

    def request_pause(self, job_id: str) -> None:
        """Ask the process running the job to stop it for now, resumable: it ends "paused"."""
        with connect(self.path) as conn:
            conn.execute("UPDATE jobs SET pause_requested = 1 WHERE id = ?", (_number(job_id),))

    def cancel_requested(self, job_id: str) -> bool:
        return self.stop_requested(job_id) == "cancel"

    def stop_requested(self, job_id: str) -> str:
        """What the user asked the run of this job to stop for: "cancel", "pause" or "" (cancel wins)."""
        with connect(self.path) as conn:
            row = conn.execute("SELECT cancel_requested, pause_requested FROM jobs WHERE id = ?",
                               (_number(job_id),)).fetchone()
        if row and row[0]:
            return "cancel"
        return "pause" if row and row[1] else ""

    def set_message(self, job_id: str, message: str) -> None:
        """Say what a running job is doing (waiting for a free association, say) without changing its state."""
        with connect(self.path) as conn:
            conn.execute("UPDATE jobs SET message = ? WHERE id = ?", (message, _number(job_id)))

    # -- instances ----------------------------------------------------------------------------------------

    def record_scan(self, job_id: str, instances: Iterable[tuple[str, str]],
                    skipped: Iterable[tuple[str, str]]) -> None:
        """The scan's findings, in one transaction with the `scanned` flag: a crash leaves all or nothing."""
        number = _number(job_id)
        with connect(self.path) as conn:
            conn.executemany(
                "INSERT OR IGNORE INTO job_instances (job_id, seq, path, sop_instance_uid, state) "
                "VALUES (?, ?, ?, ?, ?)",
                ((number, seq, path, uid, PENDING) for seq, (path, uid) in enumerate(instances)))
            conn.executemany("INSERT INTO job_skipped (job_id, path, reason) VALUES (?, ?, ?)",
                             ((number, path, reason) for path, reason in skipped))
            conn.execute("UPDATE jobs SET scanned = 1 WHERE id = ?", (number,))

    def instances(self, job_id: str, states: Iterable[str] | None = None) -> list[JobInstance]:
        query = f"SELECT {_INSTANCE_COLUMNS} FROM job_instances WHERE job_id = ?"
        values: list = [_number(job_id)]
        if states is not None:
            states = list(states)
            query += f" AND state IN ({', '.join('?' * len(states))})"
            values += states
        with connect(self.path) as conn:
            return [_instance(row) for row in conn.execute(query + " ORDER BY seq", values)]

    def to_send(self, job_id: str, max_attempts: int) -> list[JobInstance]:
        """What a run still has to send: never sent, or failed for a transient reason with attempts left."""
        with connect(self.path) as conn:
            rows = conn.execute(
                f"SELECT {_INSTANCE_COLUMNS} FROM job_instances WHERE job_id = ? AND "
                "(state IN (?, ?) OR (state = ? AND transient = 1 AND attempts < ?)) ORDER BY seq",
                (_number(job_id), PENDING, NOT_SENT, FAILED, max_attempts)).fetchall()
        return [_instance(row) for row in rows]

    def skipped(self, job_id: str) -> list[SkippedFile]:
        with connect(self.path) as conn:
            rows = conn.execute("SELECT path, reason FROM job_skipped WHERE job_id = ? ORDER BY rowid",
                                (_number(job_id),)).fetchall()
        return [SkippedFile(*row) for row in rows]

    def reset_unsent(self, job_id: str) -> int:
        """`jobs retry`: every instance not confirmed sent goes back to pending with fresh attempts."""
        with connect(self.path) as conn:
            cursor = conn.execute(
                "UPDATE job_instances SET state = ?, attempts = 0, transient = 0 WHERE job_id = ? AND state != ?",
                (PENDING, _number(job_id), SENT))
            return cursor.rowcount

    def counts(self, job_id: str) -> JobCounts:
        with connect(self.path) as conn:
            return _counts(conn, _number(job_id))

    def outcome_writer(self, job_id: str) -> OutcomeWriter:
        return OutcomeWriter(self.path, _number(job_id))


class OutcomeWriter:
    """One connection kept open for a run's outcomes: an instance a millisecond must not pay for opening
    and migrating the database each time. Each outcome is its own committed transaction."""

    def __init__(self, path: Path, job_number: int):
        self._conn = open_connection(path)
        self._job = job_number
        self._lock = threading.Lock()

    def record(self, path: str, state: str, *, bytes: int = 0, status: int | None = None, error: str = "",
               kind: str = "", transient: bool = False, counts_as_attempt: bool = True) -> None:
        with self._lock:
            try:
                with self._conn:
                    self._conn.execute(
                        "UPDATE job_instances SET state = ?, bytes = ?, status = ?, error = ?, kind = ?, "
                        "transient = ?, attempts = attempts + ?, updated = ? WHERE job_id = ? AND path = ?",
                        (state, bytes, status, error, kind, int(transient), int(counts_as_attempt), time.time(),
                         self._job, path))
            except sqlite3.Error as exc:
                raise JobStoreError(f"cannot record an outcome in the job database: {exc}") from None

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> OutcomeWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class RetrieveWriter:
    """One connection kept open while a move or get runs: each pending response's counts are committed
    before the face hears of them, without opening the database per response."""

    def __init__(self, path: Path, job_number: int):
        self._conn = open_connection(path)
        self._job = job_number
        self._lock = threading.Lock()  # progress may come from the retrieve thread and the result from ours

    def progress(self, remaining: int | None, completed: int, failed: int, warning: int) -> None:
        self._write("remaining = ?, completed = ?, failed = ?, warning = ?", (remaining, completed, failed, warning))

    def result(self, *, status: int | None, completed: int, failed: int, warning: int, failed_uids: list[str],
               failure: str) -> None:
        remaining = 0 if failure == "" else None  # a retrieve that ended well has nothing left
        self._write("remaining = COALESCE(?, remaining), completed = ?, failed = ?, warning = ?, failed_uids = ?, "
                    "status = ?, failure = ?",
                    (remaining, completed, failed, warning, json.dumps(failed_uids), status, failure))

    def _write(self, sets: str, values: tuple) -> None:
        with self._lock:
            try:
                with self._conn:
                    self._conn.execute(f"UPDATE job_retrieves SET {sets}, updated = ? WHERE job_id = ?",
                                       (*values, time.time(), self._job))
            except sqlite3.Error as exc:
                raise JobStoreError(f"cannot record a retrieve's progress in the job database: {exc}") from None

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> RetrieveWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _number(job_id: str | int) -> int:
    try:
        return int(str(job_id).strip())
    except ValueError:
        raise NoSuchJob(f"{job_id!r} is not a job id: job ids are numbers ('dicomtui jobs list' shows them)") from None


def _counts(conn: sqlite3.Connection, number: int) -> JobCounts:
    by_state = dict.fromkeys(INSTANCE_STATES, 0)
    total_bytes = 0
    for state, count, size in conn.execute(
            "SELECT state, COUNT(*), SUM(bytes) FROM job_instances WHERE job_id = ? GROUP BY state", (number,)):
        by_state[state] = count
        if state == SENT:
            total_bytes = size or 0
    skipped = conn.execute("SELECT COUNT(*) FROM job_skipped WHERE job_id = ?", (number,)).fetchone()[0]
    return JobCounts(sum(by_state.values()), by_state[PENDING], by_state[SENT], by_state[FAILED],
                     by_state[NOT_SENT], skipped, total_bytes)


def _retrieve(conn: sqlite3.Connection, number: int) -> RetrieveState | None:
    row = conn.execute(f"SELECT {_RETRIEVE_COLUMNS} FROM job_retrieves WHERE job_id = ?", (number,)).fetchone()
    if row is None:
        return None
    destination, request, remaining, completed, failed, warning, failed_uids, status, failure = row
    return RetrieveState(destination, json.loads(request), remaining, completed, failed, warning,
                         json.loads(failed_uids), status, failure)


def _job(row, counts: JobCounts, retrieve: RetrieveState | None = None) -> Job:
    (number, kind, target, node, calling_ae, sources, options, state, scanned, cancel_requested, message,
     created, started, finished, pause_requested) = row
    if retrieve is not None:
        # A retrieve has no instance rows: its counts are the archive's sub-operation counts, so that a
        # face showing every job alike (sent/failed/total) shows a move or get sensibly too.
        moved = retrieve.completed + retrieve.warning
        remaining = retrieve.remaining or 0
        counts = JobCounts(moved + retrieve.failed + remaining, remaining, moved, retrieve.failed)
    return Job(str(number), kind, target, json.loads(node), calling_ae, json.loads(sources), json.loads(options),
               state, bool(scanned), bool(cancel_requested), message, created, started, finished, counts, retrieve,
               bool(pause_requested))


def _instance(row) -> JobInstance:
    path, uid, state, size, status, error, kind, transient, attempts = row
    return JobInstance(path, uid, state, size, status, error, kind, bool(transient), attempts)
