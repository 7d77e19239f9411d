"""dicomtui send TARGET PATH... [--parallel N] [--json]

The send is a job in the queue (dicomtui/store/jobs.py) run to its end here: if this process
dies, `dicomtui jobs resume` sends what is left and nothing that was confirmed.
"""

from __future__ import annotations

import argparse
import os
import sys
from types import SimpleNamespace

from .. import paths
from ..engine.send_limits import DEFAULT_PARALLEL, MAX_PARALLEL
from ..store.jobs import DONE, FAILED, Job, JobStore, JobStoreError, NoSuchJob
from ..units import size
from .common import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    JOB_GRACE_SECONDS,
    CliError,
    Context,
    hard_exit,
    log_journal,
    print_json,
    run_interruptible,
)
from .retrieve_cmd import _Bar

LISTED = 20  # failed or skipped files printed after a send; `jobs show` lists them all


def add_parser(subparsers, parent: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "send", parents=[parent], help="send DICOM files and folders to a node (C-STORE), as a resumable job",
        description="Send DICOM files and folders (recursively) to a node with C-STORE. The send is a job: "
                    "transient failures are retried with back-off, and if this command is killed, "
                    "'dicomtui jobs resume' sends what is left without sending anything twice.")
    parser.add_argument("target", metavar="TARGET", help="a node name, 'this machine' or AE@HOST:PORT")
    parser.add_argument("paths", metavar="PATH", nargs="+", help="files or folders; files that are not DICOM are "
                        "skipped and listed")
    parser.add_argument("--parallel", type=int, default=DEFAULT_PARALLEL, metavar="N",
                        help=f"associations at once for large batches (1-{MAX_PARALLEL}, default {DEFAULT_PARALLEL})")
    parser.add_argument("--json", action="store_true", help="print one JSON object with the outcome")
    parser.set_defaults(run=run)


def job_store() -> JobStore:
    return JobStore(paths.jobs_db())


def store_error(exc: JobStoreError) -> CliError:
    return CliError(str(exc), EXIT_USAGE if isinstance(exc, NoSuchJob) else EXIT_FAILED)


def run(args: argparse.Namespace, ctx: Context) -> int:
    from ..engine.jobs import queue_send

    if not 1 <= args.parallel <= MAX_PARALLEL:
        raise CliError(f"--parallel must be between 1 and {MAX_PARALLEL}, not {args.parallel}")
    missing = [p for p in args.paths if not os.path.exists(p)]
    if missing:
        raise CliError(f"no such file or folder: {', '.join(missing)}")
    config, node = ctx.target(args.target)
    # Absolute paths: `jobs resume` may run from another folder.
    sources = [os.path.abspath(p) for p in args.paths]
    try:
        job = queue_send(job_store(), args.target, node, config.local.ae_title, sources, parallel=args.parallel)
    except JobStoreError as exc:
        raise store_error(exc) from None
    return run_job(args, ctx, job.id, node)


def run_job(args: argparse.Namespace, ctx: Context, job_id: str, node) -> int:
    """Run a queued job in this process with a progress bar, and report it (send, jobs retry, jobs resume)."""
    from ..engine.jobs import JobBusy, run_send_job
    from ..engine.jobs.slots import slots_for

    json_out = getattr(args, "json", False)
    bar = _Bar(f"job {job_id}: C-STORE", sys.stderr.isatty() and not json_out)

    said = ""

    def progress(p) -> None:
        nonlocal said
        if p.note != said:  # waiting for a free association: said once, not redrawn as a bar
            said = p.note
            if said:
                bar.say(f"job {job_id}: {said}")
        bar(SimpleNamespace(completed=p.sent, failed=p.failed, warning=0, remaining=p.pending))

    try:
        store = job_store()
        slots, journal = slots_for(store, ctx.config().transfers), log_journal(f"job {job_id}")
        report = run_interruptible(lambda cancel: run_send_job(store, job_id, node, on_progress=progress,
                                                               cancel=cancel, slots=slots, journal=journal),
                                   grace=JOB_GRACE_SECONDS)
    except KeyboardInterrupt:
        bar.end()
        print(f"dicomtui: job {job_id} interrupted; 'dicomtui jobs resume' sends what is left", file=sys.stderr)
        hard_exit(EXIT_INTERRUPTED)
    except JobBusy as exc:
        raise CliError(str(exc), EXIT_FAILED) from None
    except JobStoreError as exc:
        raise store_error(exc) from None
    finally:  # also on Ctrl-C, before "interrupted" is printed
        bar.end()
    return report_job(report.job, report.seconds, json_out, interrupted=report.interrupted)


def report_job(job: Job, seconds: float, json_out: bool, interrupted: bool = False) -> int:
    counts = job.counts
    if json_out:
        print_json({"job": job.id, "sent": counts.sent, "failed": counts.failed, "skipped": counts.skipped,
                    "bytes": counts.bytes, "seconds": round(seconds, 3)})
    else:
        print(f"job {job.id}: {counts.sent} sent, {counts.failed} failed, {counts.skipped} skipped, "
              f"{size(counts.bytes)} in {seconds:.1f} s ({job.state})")
        store = job_store()
        failed = store.instances(job.id, [FAILED]) if counts.failed else []
        for row in failed[:LISTED]:
            print(f"failed: {row.path}: {row.error}")
        skipped = store.skipped(job.id) if counts.skipped else []
        for entry in skipped[:LISTED]:
            print(f"skipped: {entry.path}: {entry.reason}")
        if len(failed) > LISTED or len(skipped) > LISTED:
            print(f"... 'dicomtui jobs show {job.id}' lists them all")
    if interrupted:
        print(f"dicomtui: job {job.id} interrupted; 'dicomtui jobs resume' sends what is left", file=sys.stderr)
        return EXIT_INTERRUPTED
    if job.state == DONE:
        return EXIT_OK
    if job.state == FAILED:
        print(f"dicomtui: job {job.id}: {job.message}", file=sys.stderr)
    else:
        print(f"dicomtui: job {job.id} {job.state}: {job.message}", file=sys.stderr)
    return EXIT_FAILED


