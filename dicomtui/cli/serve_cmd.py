"""dicomtui serve [--port N] [--ae AE] [--storage DIR] [--bind ADDR] [--workers N]: the receiver without a
terminal, in one process or in several (engine/receiver/workers.py)."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from pathlib import Path

from ..dicom.validation import InvalidValue, check_ae_title, check_host, check_port
from .common import EXIT_FAILED, EXIT_OK, CliError, Context, log_journal


def add_parser(subparsers, parent: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "serve", parents=[parent], help="run the receiver (Storage and Query/Retrieve SCP) headless",
        description="Receive DICOM instances into the local archive and answer C-FIND, C-MOVE and C-GET "
                    "on it, without a terminal. Stops cleanly on SIGTERM or Ctrl-C.",
    )
    parser.add_argument("--port", help="port to listen on (default: [local] port, 11112)")
    parser.add_argument("--ae", help="our AE title (default: [local] ae_title, DICOMTUI)")
    parser.add_argument("--storage", help="archive folder (default: [local] storage)")
    parser.add_argument("--bind", help="address to listen on (default: [local] bind, 0.0.0.0)")
    parser.add_argument("--workers", metavar="N",
                        help="processes that receive in parallel (default: [receiver] workers, or one per CPU "
                             "up to 4; never more than max_associations)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, ctx: Context) -> int:
    from ..engine.receiver import settings_from_config
    from ..engine.receiver.workers import worker_count

    try:
        overrides = dict(
            port=check_port(args.port) if args.port is not None else None,
            ae_title=check_ae_title(args.ae) if args.ae is not None else None,
            bind=check_host(args.bind) if args.bind is not None else None,
            storage=Path(args.storage).expanduser().resolve() if args.storage else None,
        )
        requested = check_workers(args.workers) if args.workers is not None else None
    except InvalidValue as exc:
        raise CliError(str(exc)) from None
    config = ctx.config()
    settings = settings_from_config(config).with_overrides(**overrides)
    workers = worker_count(requested if requested is not None else config.receiver.workers,
                           settings.max_associations)
    log = LogLines()
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    if workers == 1:
        serve_in_process(settings, log, stop)
    else:
        serve_in_workers(settings, workers, log, stop)
    return EXIT_OK


def check_workers(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 64:
        raise InvalidValue(f"--workers must be a whole number from 1 to 64, not {text!r}")
    return value


def serve_in_process(settings, log: LogLines, stop: threading.Event) -> None:
    """One process, the same receiver as the app's."""
    from ..engine.receiver import Receiver, ReceiverStartError

    receiver = Receiver(settings, log_journal("receiver"))
    receiver.subscribe(log.event)
    try:
        receiver.start()
    except ReceiverStartError as exc:
        raise CliError(str(exc), EXIT_FAILED) from None
    log.line(f"listening as {settings.ae_title} on {settings.bind}:{settings.port}, storing into "
             f"{settings.storage} (Ctrl-C or SIGTERM stops)")
    while not stop.wait(0.5):
        pass
    log.line("stopping: no new associations; finishing the instances in flight")
    receiver.stop()
    log.stopped(receiver.counters)


def serve_in_workers(settings, workers: int, log: LogLines, stop: threading.Event) -> None:
    """`workers` processes, each a whole receiver; this one listens and hands connections over."""
    from ..engine.receiver import ReceiverStartError
    from ..engine.receiver.workers import WorkerPool

    pool = WorkerPool(settings, workers, log.event, log_journal("receiver"))
    try:
        pool.start()
    except ReceiverStartError as exc:
        raise CliError(str(exc), EXIT_FAILED) from None
    log.line(f"listening as {settings.ae_title} on {settings.bind}:{settings.port} with {workers} worker "
             f"processes, storing into {settings.storage} (Ctrl-C or SIGTERM stops)")
    pool.serve(stop)
    if pool.serving:
        log.line("stopping: no new associations; finishing the instances in flight")
    log.stopped(pool.stop())
    if not stop.is_set():
        raise CliError("every worker process of the receiver has ended, so nothing answers on port "
                       f"{settings.port} any more; the log above says why", EXIT_FAILED)


class LogLines:
    """One line per association and per instance, safe from pynetdicom's threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def line(self, text: str) -> None:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        with self._lock:
            sys.stdout.write(f"{stamp} {text}\n")
            sys.stdout.flush()

    def stopped(self, counters) -> None:
        self.line(f"stopped: {counters.instances} instance(s), {counters.bytes / 1e6:.1f} MB received, "
                  f"{counters.refused} refused, {counters.associations} association(s)")

    def event(self, event, worker: int = 0) -> None:
        """`worker`: which process of `serve --workers` it comes from (0: this one)."""
        line = self.line if not worker else lambda text: self.line(f"[w{worker}] {text}")
        from ..engine.receiver import (
            AssociationClosed,
            AssociationOpened,
            InstanceRefused,
            InstanceStored,
            ReceiverProblem,
        )

        if isinstance(event, AssociationOpened):
            line(f"association {event.id} from {event.calling_ae} at {event.peer} to {event.called_ae}")
        elif isinstance(event, AssociationClosed):
            if event.how == "rejected":
                line(f"association rejected: {event.detail}")
            else:
                line(f"association {event.id} {event.how}: {event.instances} instance(s), "
                     f"{event.bytes / 1e6:.1f} MB in {event.seconds:.1f} s")
        elif isinstance(event, InstanceStored):
            note = f" ({event.duplicate} duplicate)" if event.duplicate else ""
            # The path ends with the SOP Instance UID, and says where to find the file.
            line(f"stored {event.modality or '?'} {event.size} bytes from {event.calling_ae}: {event.path}{note}")
        elif isinstance(event, InstanceRefused):
            line(f"refused {event.sop_instance_uid} from {event.calling_ae}: 0x{event.status:04X} "
                 f"{event.reason}")
        elif isinstance(event, ReceiverProblem):
            line(f"warning: {event.message}")
