"""`dicomtui serve --workers N`: N receivers in N processes, so that senders do not share one GIL.

The parent does what must happen exactly once, before any worker runs: it sweeps '.incoming' (a
worker sweeping would delete another worker's instances in flight), creates the archive index,
and binds the port, so that a port in use or a missing permission is reported as it always was.
Then it forks the workers (single-threaded still, so forking is safe), accepts every connection
itself and passes it to the worker with the most free association slots. [receiver]
max_associations is split among the workers, so it stays the limit of the whole serve: a caller
is refused only when every worker is full. The workers share the storage folder and the index
(SQLite in WAL mode); their events come back here and go to one listener, one at a time. Only
the first worker runs the TLS listener, if there is one.
"""

from __future__ import annotations

import errno
import os
import pickle
import selectors
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from pynetdicom.transport import AddressInformation

from ...store.archive_index import ArchiveIndex
from ..association_log import Journal
from . import worker_process
from .events import ReceiverEvent, ReceiverProblem
from .service import Counters, ReceiverStartError, _explain_bind_error
from .settings import ReceiverSettings
from .spool import INCOMING
from .storing import recover_incoming, recovery_report

DEFAULT_MAX = 4  # more than 4 busy processes on a small server mostly trade memory for little
BACKLOG = 64
START_SECONDS = 60.0
STOP_SECONDS = 45.0  # each worker gives instances in flight 30 s (Receiver.stop), then closes

# (event, worker number); number 0 is the parent itself.
Listener = Callable[[ReceiverEvent, int], None]


def worker_count(requested: int | None, max_associations: int) -> int:
    """How many worker processes: `requested`, or one per CPU up to DEFAULT_MAX; never more than
    max_associations (each worker needs one slot of it); 1 where processes cannot pass sockets."""
    if not (hasattr(os, "fork") and hasattr(socket, "send_fds")):
        return 1
    if requested is None:
        try:
            cpus = len(os.sched_getaffinity(0))
        except AttributeError:
            cpus = os.cpu_count() or 1
        requested = min(cpus, DEFAULT_MAX)
    return max(1, min(requested, max_associations))


@dataclass
class _Worker:
    number: int  # from 1, as the log shows it
    pid: int
    conns: socket.socket  # our end: connections go to the worker
    events: socket.socket  # our end: the worker's messages
    share: int  # of max_associations
    load: int = 0  # connections handed over that have not ended
    given: int = 0  # when it last got one: ties go to the one that waited longest
    ready: bool = False
    counters: Counters | None = None


class WorkerPool:
    def __init__(self, settings: ReceiverSettings, workers: int, listener: Listener, journal: Journal | None = None):
        """`journal`: where each worker logs the associations it serves."""
        self.settings = settings
        self.journal = journal
        self.count = max(1, min(workers, settings.max_associations))  # each worker needs a slot
        self._listener = listener
        self._socket: socket.socket | None = None
        self._workers: list[_Worker] = []
        self._finished: list[_Worker] = []
        self._selector: selectors.BaseSelector | None = None
        self._buffer = bytearray(1 << 18)  # larger than any message a Unix socket can carry here
        self._handed = 0
        self._stop: threading.Event | None = None
        self._stopping = False

    @property
    def serving(self) -> bool:
        """False once every worker has ended."""
        return bool(self._workers)

    # -- start -------------------------------------------------------------------------------
    def start(self) -> None:
        """Sweep, create the index, listen, fork the workers and wait until each has started.
        ReceiverStartError says in words why not."""
        self._prepare_storage()
        self._socket = self._listen()
        try:
            self._fork_all()
            self._selector = selectors.DefaultSelector()
            for worker in self._workers:
                self._selector.register(worker.events, selectors.EVENT_READ, worker)
            self._wait_until_ready()
        except OSError as exc:  # fork or socketpair: out of processes or file descriptors
            self._kill_all()
            raise ReceiverStartError(f"cannot start the receiver's worker processes: {exc.strerror}") from None
        except BaseException:
            self._kill_all()
            raise
        self._selector.register(self._socket, selectors.EVENT_READ, None)

    def _prepare_storage(self) -> None:
        storage = self.settings.storage
        try:
            storage.mkdir(parents=True, exist_ok=True)
            index = ArchiveIndex(storage)
            with index.connection():  # creates or migrates the index once, before anyone writes
                pass
            recovery = recover_incoming(storage, storage / INCOMING, index, self.settings.duplicates)
            index.close()  # no SQLite connection may cross a fork
        except OSError as exc:
            raise ReceiverStartError(f"cannot use the storage folder {storage}: {exc.strerror}") from None
        for problem in recovery_report(recovery, storage / INCOMING):
            self._listener(ReceiverProblem(problem), 0)

    def _listen(self) -> socket.socket:
        bind, port = self.settings.bind, self.settings.port
        sock = None
        try:
            address = AddressInformation.from_tuple((bind, port))  # resolved as pynetdicom would
            sock = socket.socket(address.address_family, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address.as_tuple)
            sock.listen(BACKLOG)
        except OSError as exc:
            if sock is not None:
                sock.close()
            raise ReceiverStartError(_explain_bind_error(exc, bind, port)) from None
        sock.setblocking(False)
        return sock

    def _fork_all(self) -> None:
        total = self.settings.max_associations
        sys.stdout.flush()
        sys.stderr.flush()
        for number in range(1, self.count + 1):
            share = total // self.count + (1 if number <= total % self.count else 0)
            settings = replace(self.settings, max_associations=share,
                               tls_port=self.settings.tls_port if number == 1 else None)
            conns, their_conns = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            events, their_events = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            inherited = [self._socket, conns, events] + [s for w in self._workers for s in (w.conns, w.events)]
            pid = os.fork()
            if pid == 0:
                worker_process.run(number, settings, their_conns, their_events, inherited, self.journal)
            their_conns.close()
            their_events.close()
            conns.setblocking(False)
            events.setblocking(False)
            self._workers.append(_Worker(number, pid, conns, events, share))

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + START_SECONDS
        while not all(w.ready for w in self._workers):
            if time.monotonic() > deadline:
                raise ReceiverStartError(f"the receiver's worker processes did not start within "
                                         f"{START_SECONDS:.0f} s")
            for key, _ in self._selector.select(timeout=0.5):
                failure = self._read(key.data)
                if failure:
                    raise ReceiverStartError(failure)

    # -- serving -------------------------------------------------------------------------------
    def serve(self, stop: threading.Event) -> None:
        """Hand connections to the workers and pass their events on, until `stop` is set or no
        worker is left."""
        self._stop = stop
        while not stop.is_set() and self._workers:
            for key, _ in self._selector.select(timeout=0.2):
                if key.data is None:
                    self._accept()
                else:
                    self._read(key.data)

    def _accept(self) -> None:
        while True:
            try:
                conn, peer = self._socket.accept()
            except BlockingIOError:
                return
            except OSError as exc:  # out of file descriptors, say: the caller sees a closed connection
                if exc.errno not in (errno.ECONNABORTED, errno.EPROTO):
                    self._listener(ReceiverProblem(f"could not accept a connection: {exc.strerror}"), 0)
                    time.sleep(0.1)  # the connection is still pending: do not spin on it
                return
            with conn:  # our copy only: the worker holds its own
                if not self._hand_over(conn):
                    self._listener(ReceiverProblem(f"no worker could take the connection from {peer[0]}; "
                                                   "it was closed"), 0)

    def _hand_over(self, conn: socket.socket) -> bool:
        for worker in sorted(self._workers, key=lambda w: (w.load - w.share, w.given)):
            try:
                socket.send_fds(worker.conns, [b"c"], [conn.fileno()], socket.MSG_DONTWAIT)
            except OSError:  # its queue is full, or it is ending: try the next
                continue
            self._handed += 1
            worker.load += 1
            worker.given = self._handed
            return True
        return False

    def _read(self, worker: _Worker) -> str | None:
        """Everything `worker` has sent so far; a start-up failure, if it reported one."""
        while True:
            try:
                size = worker.events.recv_into(self._buffer, 0, socket.MSG_DONTWAIT)
            except BlockingIOError:
                return None
            except OSError:
                size = 0
            if not size:
                self._ended(worker)
                return None if worker.ready else f"worker {worker.number} ended before it started"
            kind, payload = pickle.loads(memoryview(self._buffer)[:size])
            if kind == "event":
                self._listener(payload, worker.number)
            elif kind == "done":
                worker.load = max(0, worker.load - 1)
            elif kind == "ready":
                worker.ready = True
            elif kind == "counters":
                worker.counters = payload
            elif kind == "failed":
                if not worker.ready:
                    return payload
                self._listener(ReceiverProblem(payload), worker.number)

    def _ended(self, worker: _Worker) -> None:
        self._selector.unregister(worker.events)
        worker.events.close()
        worker.conns.close()
        self._workers.remove(worker)
        self._finished.append(worker)
        status = _reap(worker.pid, 5.0)
        stopping = self._stopping or (self._stop is not None and self._stop.is_set())
        if worker.ready and not stopping:
            self._listener(ReceiverProblem(
                f"worker {worker.number} (pid {worker.pid}) ended ({_how(status)}); "
                f"{len(self._workers)} worker(s) go on serving"), 0)

    # -- stop ----------------------------------------------------------------------------------
    def stop(self) -> Counters:
        """Stop accepting, let every worker finish its instances in flight and end; the totals."""
        self._stopping = True
        if self._socket is not None:
            self._selector.unregister(self._socket)
            self._socket.close()
            self._socket = None
        for worker in self._workers:
            _signal(worker.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        while self._workers and time.monotonic() < deadline:
            for key, _ in self._selector.select(timeout=0.2):
                self._read(key.data)
        for worker in list(self._workers):
            self._listener(ReceiverProblem(f"worker {worker.number} (pid {worker.pid}) did not stop within "
                                           f"{STOP_SECONDS:.0f} s and was killed"), 0)
            _signal(worker.pid, signal.SIGKILL)
            self._ended(worker)
        self._selector.close()
        totals = Counters(started_at=min((w.counters.started_at for w in self._finished if w.counters),
                                         default=0.0))
        for worker in self._finished:
            if worker.counters is not None:
                for name in ("associations", "instances", "bytes", "refused"):
                    setattr(totals, name, getattr(totals, name) + getattr(worker.counters, name))
        return totals

    def _kill_all(self) -> None:
        """After a failed start: no worker may outlive it."""
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        for worker in self._workers:
            _signal(worker.pid, signal.SIGKILL)
            _reap(worker.pid, 5.0)
            worker.conns.close()
            worker.events.close()
        self._workers = []
        if self._selector is not None:
            self._selector.close()


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def _reap(pid: int, seconds: float) -> int | None:
    """The wait status of our child `pid`, once it has ended (killed after `seconds`)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return None
        if done:
            return status
        if time.monotonic() > deadline:
            _signal(pid, signal.SIGKILL)
            deadline = float("inf")
        time.sleep(0.01)


def _how(status: int | None) -> str:
    if status is None:
        return "exit status unknown"
    if os.WIFSIGNALED(status):
        return f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exit code {os.WEXITSTATUS(status)}"
