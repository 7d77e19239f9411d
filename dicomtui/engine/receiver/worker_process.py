"""One worker of `dicomtui serve --workers N`, in the process the parent forked for it.

It runs a whole Receiver (fast path, Query/Retrieve, index writer) on the connections the parent
passes it, and sends back, one message each: "ready" or "failed" once started, every event,
"done" when a connection ends, and its counters when it has stopped. SIGTERM and SIGINT stop
it as they stop `serve` (Ctrl-C in a terminal reaches every process of the group); so does the
parent going away.
"""

from __future__ import annotations

import os
import pickle
import signal
import socket
import threading
import traceback
from typing import Any, NoReturn

from ..association_log import Journal
from .fed_server import Feed
from .service import Receiver, ReceiverStartError
from .settings import ReceiverSettings


class Outbox:
    """Messages to the parent: one SOCK_SEQPACKET record each, so whole, from any thread."""

    def __init__(self, channel: socket.socket):
        self._channel = channel

    def post(self, kind: str, payload: Any = None) -> None:
        try:
            self._channel.send(pickle.dumps((kind, payload)))
        except OSError:
            pass  # the parent is gone; the worker notices and stops


def run(number: int, settings: ReceiverSettings, conns: socket.socket, events: socket.socket,
        inherited: list[socket.socket], journal: Journal | None = None) -> NoReturn:
    """The forked child's whole life; it never returns into the parent's code."""
    code = 1
    outbox = Outbox(events)
    try:
        for sock in inherited:  # the parent's ends: held here, the parent would not see us end
            sock.close()
        code = _serve(settings, conns, outbox, journal)
    except BaseException:  # noqa: BLE001 - a bug: say so in the log, never leave the child running
        outbox.post("failed", f"worker {number} failed: {traceback.format_exc(limit=4)}")
    finally:
        os._exit(code)  # not the parent's atexit handlers or buffered output


def _serve(settings: ReceiverSettings, conns: socket.socket, outbox: Outbox, journal: Journal | None) -> int:
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    parent = os.getppid()
    receiver = Receiver(settings, journal)
    receiver.subscribe(lambda event: outbox.post("event", event))
    try:
        receiver.start(Feed(conns, done=lambda: outbox.post("done"), gone=stop.set))
    except ReceiverStartError as exc:
        outbox.post("failed", str(exc))
        return 1
    outbox.post("ready")
    while not stop.wait(0.5):
        if os.getppid() != parent:
            break
    receiver.stop()
    outbox.post("counters", receiver.counters)
    return 0
