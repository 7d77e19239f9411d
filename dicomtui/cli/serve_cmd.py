"""dicomtui serve [--port N] [--ae AE] [--storage DIR] [--bind ADDR]: the receiver without a terminal."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from pathlib import Path

from ..dicom.validation import InvalidValue, check_ae_title, check_host, check_port
from .common import EXIT_FAILED, EXIT_OK, CliError, Context


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
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, ctx: Context) -> int:
    from ..engine.receiver import Receiver, ReceiverStartError, settings_from_config

    try:
        overrides = dict(
            port=check_port(args.port) if args.port is not None else None,
            ae_title=check_ae_title(args.ae) if args.ae is not None else None,
            bind=check_host(args.bind) if args.bind is not None else None,
            storage=Path(args.storage).expanduser().resolve() if args.storage else None,
        )
    except InvalidValue as exc:
        raise CliError(str(exc)) from None
    settings = settings_from_config(ctx.config()).with_overrides(**overrides)
    receiver = Receiver(settings)
    log = LogLines()
    receiver.subscribe(log.event)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
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
    counters = receiver.counters
    log.line(f"stopped: {counters.instances} instance(s), {counters.bytes / 1e6:.1f} MB received, "
             f"{counters.refused} refused, {counters.associations} association(s)")
    return EXIT_OK


class LogLines:
    """One line per association and per instance, safe from pynetdicom's threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def line(self, text: str) -> None:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        with self._lock:
            sys.stdout.write(f"{stamp} {text}\n")
            sys.stdout.flush()

    def event(self, event) -> None:
        from ..engine.receiver import (
            AssociationClosed,
            AssociationOpened,
            InstanceRefused,
            InstanceStored,
            ReceiverProblem,
        )

        if isinstance(event, AssociationOpened):
            self.line(f"association {event.id} from {event.calling_ae} at {event.peer} to {event.called_ae}")
        elif isinstance(event, AssociationClosed):
            if event.how == "rejected":
                self.line(f"association rejected: {event.detail}")
            else:
                self.line(f"association {event.id} {event.how}: {event.instances} instance(s), "
                          f"{event.bytes / 1e6:.1f} MB in {event.seconds:.1f} s")
        elif isinstance(event, InstanceStored):
            note = f" ({event.duplicate} duplicate)" if event.duplicate else ""
            # The path ends with the SOP Instance UID, and says where to find the file.
            self.line(f"stored {event.modality or '?'} {event.size} bytes from {event.calling_ae}: {event.path}{note}")
        elif isinstance(event, InstanceRefused):
            self.line(f"refused {event.sop_instance_uid} from {event.calling_ae}: 0x{event.status:04X} "
                      f"{event.reason}")
        elif isinstance(event, ReceiverProblem):
            self.line(f"warning: {event.message}")
