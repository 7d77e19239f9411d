"""dicomtui jobs list|show|retry|cancel|pause|resume: the transfer queue from the command line.

Send jobs and retrieve (move, get) jobs share the queue; where they differ (a retrieve has
sub-operation counts instead of instance rows, and is retried as a whole request) the
retrieve_* helpers below take over.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import datetime

from ..store.jobs import (
    CANCELLED,
    DONE,
    FAILED,
    FINISHED,
    NOT_SENT,
    PAUSED,
    PENDING,
    QUEUED,
    RUNNING,
    Job,
    JobStoreError,
)
from ..units import size as format_size
from .common import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    JOB_GRACE_SECONDS,
    CliError,
    Context,
    log_journal,
    print_json,
    run_interruptible,
)
from .send_cmd import job_store, run_job, store_error

CANCEL_WAIT_SECONDS = 10.0  # how long `jobs cancel` waits for the running process to stop the job
JOB_NICENESS = 10  # how much lower than the app a job process of the app runs


def add_parser(subparsers, parent: argparse.ArgumentParser) -> None:
    jobs = subparsers.add_parser("jobs", parents=[parent], help="the transfer queue: list, show, retry, cancel, "
                                 "resume jobs", description="Transfer jobs (send, move, get) kept between runs.")
    sub = jobs.add_subparsers(dest="jobs_command", metavar="ACTION", required=True)

    listing = sub.add_parser("list", parents=[parent], help="every job with its state and counts")
    listing.add_argument("--json", action="store_true", help="print a JSON array")
    listing.set_defaults(run=run_list)

    show = sub.add_parser("show", parents=[parent], help="one job, with its failed instances and why")
    show.add_argument("id", metavar="ID")
    show.add_argument("--json", action="store_true", help="print one JSON object")
    show.set_defaults(run=run_show)

    retry = sub.add_parser("retry", parents=[parent], help="send again the instances of a job that were not sent "
                           "(a move or get runs its whole request again)")
    retry.add_argument("id", metavar="ID")
    retry.add_argument("--json", action="store_true", help="print one JSON object, as send (or move/get) --json")
    retry.set_defaults(run=run_retry)

    cancel = sub.add_parser("cancel", parents=[parent], help="cancel a job (a running one stops after its "
                            "current instances)")
    cancel.add_argument("id", metavar="ID")
    cancel.set_defaults(run=run_cancel)

    pause = sub.add_parser("pause", parents=[parent], help="pause a job (a running one stops after its current "
                           "instances; 'jobs retry ID' goes on with it)")
    pause.add_argument("id", metavar="ID")
    pause.set_defaults(run=run_pause)

    # The app runs each job as a process of its own with this (engine/jobs/child.py); not for people.
    child = sub.add_parser("run", parents=[parent])  # no help=: argparse then leaves it out of the list
    child.add_argument("id", metavar="ID")
    child.add_argument("--store", required=True, help="the job database")
    child.add_argument("--events", action="store_true", help="progress as JSON lines on stdout")
    child.set_defaults(run=run_child)

    resume = sub.add_parser("resume", parents=[parent], help="run the jobs a crash or an interruption left "
                            "unfinished")
    resume.set_defaults(run=run_resume)
    # An unknown ACTION is answered with the list of choices: the internal one stays out of it too.
    sub.choices = _Choices(sub.choices, hidden={"run"})


class _Choices(dict):
    """The subcommands, for argparse: every one is accepted, the hidden ones are never listed."""

    def __init__(self, choices: dict, hidden: set[str]):
        super().__init__(choices)
        self.hidden = hidden

    def __iter__(self):
        return (name for name in super().__iter__() if name not in self.hidden)


def _when(stamp: float | None) -> str | None:
    return datetime.fromtimestamp(stamp).astimezone().isoformat(timespec="seconds") if stamp else None


def job_json(job: Job) -> dict:
    c = job.counts
    return {"job": job.id, "kind": job.kind, "target": job.target, "state": job.state, "message": job.message,
            "created": _when(job.created), "started": _when(job.started), "finished": _when(job.finished),
            "total": c.total, "sent": c.sent, "failed": c.failed, "pending": c.pending + c.not_sent,
            "skipped": c.skipped, "bytes": c.bytes} | _retrieve_json(job)


def _retrieve_json(job: Job) -> dict:
    """A move or get job's own fields; nothing for a send."""
    r = job.retrieve
    if r is None:
        return {}
    return {"destination": r.destination or None, "completed": r.completed, "warning": r.warning,
            "remaining": r.remaining, "failed_uids": list(r.failed_uids),
            "status": None if r.status is None else f"0x{r.status:04X}"}


def _get(job_id: str) -> Job:
    try:
        return job_store().get(job_id)
    except JobStoreError as exc:
        raise store_error(exc) from None


def run_list(args: argparse.Namespace, ctx: Context) -> int:
    try:
        jobs = job_store().list()
    except JobStoreError as exc:
        raise store_error(exc) from None
    if args.json:
        print_json([job_json(job) for job in jobs])
        return EXIT_OK
    if not jobs:
        print("No jobs yet. 'dicomtui send TARGET PATH...' queues one.")
        return EXIT_OK
    print(f"{'ID':>4}  {'STATE':<9}  {'TARGET':<24}  {'SENT':>11}  {'FAILED':>6}  {'BYTES':>10}  CREATED")
    for job in jobs:
        c = job.counts
        # A retrieve's byte count is not known (the archive reports instances): its kind goes there instead.
        size = format_size(c.bytes) if job.retrieve is None else job.kind
        print(f"{job.id:>4}  {job.state:<9}  {job.target[:24]:<24}  {f'{c.sent}/{c.total}':>11}  {c.failed:>6}  "
              f"{size:>10}  {_when(job.created)}")
    return EXIT_OK


def run_show(args: argparse.Namespace, ctx: Context) -> int:
    job = _get(args.id)
    if job.retrieve is not None:
        return _show_retrieve(args, job)
    store = job_store()
    failed = store.instances(job.id, [FAILED])
    skipped = store.skipped(job.id)
    if args.json:
        print_json(job_json(job) | {
            "sources": job.sources, "options": job.options,
            "failed_instances": [{"path": r.path, "sop_instance_uid": r.sop_instance_uid, "status":
                                  None if r.status is None else f"0x{r.status:04X}", "kind": r.kind,
                                  "error": r.error, "attempts": r.attempts} for r in failed],
            "skipped_files": [{"path": s.path, "reason": s.reason} for s in skipped]})
        return EXIT_OK
    c = job.counts
    print(f"job {job.id}: {job.kind} to {job.target} ({job.node.get('ae_title')}@{job.node.get('host')}:"
          f"{job.node.get('port')}), {job.state}" + (f": {job.message}" if job.message else ""))
    print(f"  {c.sent} of {c.total} sent, {c.failed} failed, {c.pending + c.not_sent} not sent yet, "
          f"{c.skipped} skipped, {format_size(c.bytes)}")
    print(f"  created {_when(job.created)}" + (f", finished {_when(job.finished)}" if job.finished else ""))
    for source in job.sources:
        print(f"  from {source}")
    for row in failed:
        status = f" (status 0x{row.status:04X})" if row.status is not None else ""
        print(f"failed: {row.path}: {row.error}{status} [{row.attempts} attempt{'s' * (row.attempts != 1)}]")
    for entry in skipped:
        print(f"skipped: {entry.path}: {entry.reason}")
    return EXIT_OK


def _show_retrieve(args: argparse.Namespace, job: Job) -> int:
    r = job.retrieve
    assert r is not None
    if args.json:
        print_json(job_json(job) | {"request": r.request, "options": job.options, "failure": r.failure or None})
        return EXIT_OK
    where = f" to {r.destination}" if r.destination else " into the local archive"
    print(f"job {job.id}: {job.kind} from {job.target} ({job.node.get('ae_title')}@{job.node.get('host')}:"
          f"{job.node.get('port')}){where}, {job.state}" + (f": {job.message}" if job.message else ""))
    uids = ", ".join(f"{name} {r.request[key]}" for key, name in (("study_uid", "study"), ("series_uid", "series"),
                                                                   ("instance_uid", "instance")) if r.request.get(key))
    print(f"  {r.request.get('level', '').lower() or 'study'} level: {uids}")
    remaining = "" if r.remaining is None else f", {r.remaining} remaining"
    status = "" if r.status is None else f", final status 0x{r.status:04X}"
    print(f"  {r.completed} completed, {r.failed} failed, {r.warning} warning{remaining}{status}")
    print(f"  created {_when(job.created)}" + (f", finished {_when(job.finished)}" if job.finished else ""))
    for uid in r.failed_uids:
        print(f"failed: {uid}")
    return EXIT_OK


def _node(ctx: Context, job: Job):
    from ..engine.jobs import node_for_job

    config = ctx.config()
    return node_for_job(job, config)


def run_retry(args: argparse.Namespace, ctx: Context) -> int:
    from ..engine.jobs import is_running_elsewhere

    job = _get(args.id)
    store = job_store()
    if job.retrieve is not None:
        return _retry_retrieve(args, ctx, job)
    try:
        if job.state == RUNNING and is_running_elsewhere(store, job.id):
            raise CliError(f"job {job.id} is running in another process; retry it once it has finished",
                           EXIT_FAILED)
        if not store.instances(job.id, [FAILED, PENDING, NOT_SENT]) and job.scanned:
            print(f"job {job.id} has nothing to retry: every instance was sent")
            return EXIT_OK
        if job.state != QUEUED:
            store.set_state(job.id, QUEUED, "")
        store.reset_unsent(job.id)
    except JobStoreError as exc:
        raise store_error(exc) from None
    return run_job(args, ctx, job.id, _node(ctx, job))


def _retry_retrieve(args: argparse.Namespace, ctx: Context, job: Job) -> int:
    """A retrieve is retried whole: the archive chooses its instances, so there is no 'only what failed'."""
    from ..engine.jobs import is_running_elsewhere

    store = job_store()
    try:
        if job.state == RUNNING and is_running_elsewhere(store, job.id):
            raise CliError(f"job {job.id} is running in another process; retry it once it has finished",
                           EXIT_FAILED)
        if job.state == DONE:
            print(f"job {job.id} has nothing to retry: the {job.kind} completed")
            return EXIT_OK
        if job.state != QUEUED:
            store.set_state(job.id, QUEUED, "")
    except JobStoreError as exc:
        raise store_error(exc) from None
    return _run_retrieve(args, ctx, job)


def _run_retrieve(args: argparse.Namespace, ctx: Context, job: Job) -> int:
    from .retrieve_cmd import run_retrieve

    label = f"C-MOVE to {job.retrieve.destination}" if job.kind == "move" else "C-GET"
    return run_retrieve(args, ctx, job.id, _node(ctx, job), job.kind, label)


def run_cancel(args: argparse.Namespace, ctx: Context) -> int:
    from ..engine.jobs import is_running_elsewhere

    job = _get(args.id)
    store = job_store()
    if job.state in FINISHED:
        raise CliError(f"job {job.id} has already finished ({job.state}); there is nothing to cancel"
                       if job.state != CANCELLED else f"job {job.id} is already cancelled", EXIT_FAILED)
    try:
        if job.state == RUNNING and is_running_elsewhere(store, job.id):
            store.request_cancel(job.id)  # the process running it notices and stops cleanly
            job = _wait_until_stopped(store, job.id)
            if job.state == RUNNING:
                print(f"job {job.id}: cancel requested; the process running it stops after its current instances")
                return EXIT_OK
        else:
            again = "runs it again" if job.retrieve is not None else "sends what is left"
            job = store.set_state(job.id, CANCELLED, f"cancelled ('dicomtui jobs retry' {again})")
    except JobStoreError as exc:
        raise store_error(exc) from None
    if job.retrieve is not None:
        r = job.retrieve
        print(f"job {job.id} {job.state}: {r.completed} completed, {r.failed} failed before it stopped")
    else:
        print(f"job {job.id} {job.state}: {job.counts.sent} of {job.counts.total} sent")
    return EXIT_OK


def run_pause(args: argparse.Namespace, ctx: Context) -> int:
    from ..engine.jobs import is_running_elsewhere
    from ..engine.jobs.send_job import paused_message

    job = _get(args.id)
    store = job_store()
    if job.state == PAUSED:
        print(f"job {job.id} is paused already ('dicomtui jobs retry {job.id}' goes on with it)")
        return EXIT_OK
    if job.state in FINISHED:
        raise CliError(f"job {job.id} has already finished ({job.state}); there is nothing to pause", EXIT_FAILED)
    try:
        if job.state == RUNNING and is_running_elsewhere(store, job.id):
            store.request_pause(job.id)
            job = _wait_until_stopped(store, job.id)
            if job.state == RUNNING:
                print(f"job {job.id}: pause requested; the process running it stops after its current instances")
                return EXIT_OK
        else:
            job = store.set_state(job.id, PAUSED, paused_message(job.id))
    except JobStoreError as exc:
        raise store_error(exc) from None
    if job.state != PAUSED:
        print(f"job {job.id} ended before it could be paused: {job.state}")
        return EXIT_OK
    print(f"job {job.id} paused: {job.counts.sent} of {job.counts.total} done; "
          f"'dicomtui jobs retry {job.id}' goes on with it")
    return EXIT_OK


def _wait_until_stopped(store, job_id: str) -> Job:
    """The job once the process running it has stopped it, or as it is after CANCEL_WAIT_SECONDS."""
    deadline = time.monotonic() + CANCEL_WAIT_SECONDS
    while time.monotonic() < deadline:
        if store.get(job_id).state != RUNNING:
            break
        time.sleep(0.1)
    return store.get(job_id)


def run_child(args: argparse.Namespace, ctx: Context) -> int:
    """Run one job for the app: progress as JSON lines on stdout; exit 0 when it is done, 1 when it ended
    otherwise (failed, cancelled, paused), 130 when interrupted (the app quit: it is queued again)."""
    from pathlib import Path

    from ..engine.jobs import JobBusy, run_send_job
    from ..engine.jobs.child import EventWriter
    from ..engine.jobs.retrieve_job import run_retrieve_job
    from ..engine.jobs.slots import slots_for
    from ..store.jobs import JobStore

    if args.events:
        # The app's own job: on a busy machine the screen that shows it comes first (a key answered at once
        # matters more than a few percent of throughput, and on an idle core the job loses nothing).
        os.nice(JOB_NICENESS)
    store = JobStore(Path(args.store))
    events = EventWriter(sys.stdout)
    try:
        job = store.get(args.id)
        node, slots = _node(ctx, job), slots_for(store, ctx.config().transfers)
        journal = log_journal(f"job {job.id}")
        events.started()
        if job.retrieve is not None:
            report = run_interruptible(lambda cancel: run_retrieve_job(store, job.id, node, cancel=cancel,
                                                                       slots=slots, journal=journal),
                                       grace=JOB_GRACE_SECONDS)
        else:
            report = run_interruptible(lambda cancel: run_send_job(store, job.id, node, cancel=cancel, slots=slots,
                                                                   journal=journal, on_progress=events.progress),
                                       grace=JOB_GRACE_SECONDS)
    except JobBusy as exc:  # not "ended otherwise" (1): the app says it did not run, and why
        raise CliError(str(exc), EXIT_USAGE) from None
    except JobStoreError as exc:
        raise store_error(exc) from None
    if report.interrupted:
        return EXIT_INTERRUPTED
    return EXIT_OK if report.job.state == DONE else EXIT_FAILED


def run_resume(args: argparse.Namespace, ctx: Context) -> int:
    from ..engine.jobs import resumable

    try:
        jobs = resumable(job_store())
    except JobStoreError as exc:
        raise store_error(exc) from None
    if not jobs:
        print("nothing to resume: no job is queued or was left unfinished")
        return EXIT_OK
    code = EXIT_OK
    for job in jobs:
        if job.retrieve is not None:
            print(f"resuming job {job.id}: {job.kind} from {job.target}, the whole request again", flush=True)
            result = _run_retrieve(args, ctx, job)
        else:
            print(f"resuming job {job.id}: {job.kind} to {job.target}, {job.counts.sent} of {job.counts.total} "
                  "already sent", flush=True)
            result = run_job(args, ctx, job.id, _node(ctx, job))
        if result != EXIT_OK:
            code = result if code == EXIT_OK else code
        if result not in (EXIT_OK, EXIT_FAILED):  # interrupted: stop here
            return result
    return code
