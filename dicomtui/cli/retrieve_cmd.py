"""dicomtui move TARGET --dest AE [--study UID] [--series UID] [--instance UID] [--json]
dicomtui get TARGET [--study UID] [--series UID] [--instance UID] [--json]

Each is a job in the transfer queue (dicomtui/store/jobs.py), updated as the archive reports
progress: `dicomtui jobs list/show` show it, `jobs cancel` stops it (C-CANCEL) from another
terminal, `jobs retry` runs a failed one again. The output and exit codes are those of the
retrieve itself, whatever the job store says.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from .. import paths
from ..dicom.validation import InvalidValue, check_ae_title
from .common import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_NO_ASSOCIATION,
    EXIT_OK,
    JOB_GRACE_SECONDS,
    CliError,
    Context,
    log_journal,
    print_json,
    run_interruptible,
)


def add_parser(subparsers, parent: argparse.ArgumentParser) -> None:
    move = subparsers.add_parser(
        "move", parents=[parent], help="ask a node to send a study, series or instance somewhere (C-MOVE)",
        description="Ask an archive to send a study, series or instance to a destination AE (C-MOVE). "
                    "The level follows from the most specific UID given.")
    move.add_argument("target", metavar="TARGET", help="a node name, 'this machine' or AE@HOST:PORT")
    move.add_argument("--dest", required=True, metavar="AE", help="the AE title to send to (known to the archive)")
    _selection(move)
    move.set_defaults(run=run_move)

    get = subparsers.add_parser(
        "get", parents=[parent], help="fetch a study, series or instance into the local archive (C-GET)",
        description="Fetch a study, series or instance with C-GET straight into the local archive "
                    "(the [local] storage folder); the receiver need not be running.")
    get.add_argument("target", metavar="TARGET", help="a node name, 'this machine' or AE@HOST:PORT")
    _selection(get)
    get.set_defaults(run=run_get)


def _selection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--study", metavar="UID", help="Study Instance UID")
    parser.add_argument("--series", metavar="UID", help="Series Instance UID (with --study)")
    parser.add_argument("--instance", metavar="UID", help="SOP Instance UID (with --series and --study)")
    parser.add_argument("--json", action="store_true", help="print one JSON object with the outcome")


def _request(args: argparse.Namespace):
    from ..engine.retrieve import InvalidRequest, RetrieveRequest

    if not (args.study or args.series or args.instance):
        raise CliError("say what to retrieve: give --study (and --series, --instance for less)")
    try:
        return RetrieveRequest(study_uid=args.study, series_uid=args.series, instance_uid=args.instance)
    except InvalidRequest as exc:
        raise CliError(str(exc)) from None


class _Bar:
    """One line on stderr, redrawn at most 10 times a second, when stderr is a terminal."""

    WIDTH = 30

    def __init__(self, label: str, enabled: bool):
        self.label = label
        self.enabled = enabled
        self._last = 0.0
        self._drawn = False

    def __call__(self, progress) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last < 0.1 and progress.remaining != 0:  # the last one is always drawn
            return
        self._last = now
        sys.stderr.write("\r" + self.line(progress, _columns()) + "\x1b[K")
        sys.stderr.flush()
        self._drawn = True

    def line(self, progress, columns: int) -> str:
        """The bar in fewer than `columns` cells: a line that wraps could not be redrawn in place."""
        done = progress.completed + progress.failed + progress.warning
        if progress.remaining is None:  # the archive does not say how many are left: no bar to fill
            counts, total = f" {done} done", None
        else:
            total = done + progress.remaining
            counts = f" {done}/{total}"
        if progress.failed:
            counts += f" ({progress.failed} failed)"
        width = min(self.WIDTH, columns - 1 - len(self.label) - len(counts) - 3)
        if total is None or width < 5:
            return (self.label + counts)[:columns - 1]
        filled = width * done // total if total else 0
        return f"{self.label} [{'#' * filled}{'.' * (width - filled)}]{counts}"

    def say(self, text: str) -> None:
        """A line of its own on stderr (between bars on a terminal): waiting for a free association, say."""
        self.end()
        print(text, file=sys.stderr, flush=True)

    def end(self) -> None:
        """Leave the bar's line, so that what follows starts on a line of its own."""
        if self._drawn:
            sys.stderr.write("\n")
            sys.stderr.flush()
            self._drawn = False


def _columns() -> int:
    try:
        return os.get_terminal_size(sys.stderr.fileno()).columns
    except (OSError, ValueError):
        return 80


def _finish(args: argparse.Namespace, verb: str, result) -> int:
    if getattr(args, "json", False):  # `jobs resume` has no --json
        print_json(result.as_json())
    elif result.status is not None or result.completed:
        print(f"{verb}: {result.completed} completed, {result.failed} failed, {result.warning} warning"
              + (f" (final status 0x{result.status:04X})" if result.status is not None else ""))
        for uid in result.failed_uids:
            print(f"failed: {uid}")
    if result.ok:
        return EXIT_OK
    print(f"dicomtui: {verb} {args.target}: {result.error}", file=sys.stderr)
    if result.failure == "cancelled":
        return EXIT_INTERRUPTED
    return EXIT_NO_ASSOCIATION if result.no_association else EXIT_FAILED


def run_move(args: argparse.Namespace, ctx: Context) -> int:
    from ..engine.jobs.retrieve_job import queue_retrieve

    try:
        destination = check_ae_title(args.dest)
    except InvalidValue as exc:
        raise CliError(f"--dest: {exc}") from None
    request = _request(args)
    config, node = ctx.target(args.target)
    job = _queue(lambda store: queue_retrieve(store, "move", args.target, node, config.local.ae_title, request,
                                              destination=destination, local_port=config.local.port))
    return run_retrieve(args, ctx, job.id, node, "move", f"C-MOVE to {destination}")


def run_get(args: argparse.Namespace, ctx: Context) -> int:
    from ..engine.jobs.retrieve_job import queue_retrieve

    request = _request(args)
    config, node = ctx.target(args.target)
    storage = config.local.storage or paths.default_storage_dir()
    try:
        storage.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CliError(f"cannot use the storage folder {storage}: {exc.strerror}") from None
    job = _queue(lambda store: queue_retrieve(store, "get", args.target, node, config.local.ae_title, request,
                                              storage=storage, duplicates=config.receiver.duplicates,
                                              fsync=config.receiver.fsync))
    return run_retrieve(args, ctx, job.id, node, "get", "C-GET")


def _queue(create):
    from ..store.jobs import JobStore, JobStoreError

    try:
        return create(JobStore(paths.jobs_db()))
    except JobStoreError as exc:
        raise CliError(str(exc), EXIT_FAILED) from None


def run_retrieve(args: argparse.Namespace, ctx: Context, job_id: str, node, verb: str, label: str) -> int:
    """Run a queued move or get job here with a progress bar and report it as `move`/`get` do
    (also for `jobs retry` and `jobs resume`)."""
    from ..engine.jobs import JobBusy
    from ..engine.jobs.retrieve_job import run_retrieve_job
    from ..engine.jobs.slots import slots_for
    from ..store.jobs import JobStore, JobStoreError

    # The bar reads as before jobs existed (scripts and tests watch it); `jobs list` shows the job's id.
    bar = _Bar(label, sys.stderr.isatty() and not getattr(args, "json", False))
    try:
        store = JobStore(paths.jobs_db())
        slots = slots_for(store, ctx.config().transfers)
        report = run_interruptible(lambda cancel: run_retrieve_job(
            store, job_id, node, on_progress=bar, cancel=cancel, slots=slots, journal=log_journal(f"job {job_id}"),
            on_note=lambda text: bar.say(f"job {job_id}: {text}")), grace=JOB_GRACE_SECONDS)
    except JobBusy as exc:
        raise CliError(str(exc), EXIT_FAILED) from None
    except JobStoreError as exc:
        raise CliError(str(exc), EXIT_FAILED) from None
    finally:  # also on Ctrl-C, before "interrupted" is printed
        bar.end()
    return _finish(args, verb, report.result)
