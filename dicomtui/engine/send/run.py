"""send_files: scan, plan, and C-STORE every file over one or several associations at once.

Each group of files (plan.py) has a queue; `parallel` threads each open an association for
the group and take files from its queue until it is empty, so a fast association takes more
files than a slow one and an association that cannot be had (the peer's association limit,
say) leaves its share to the others. Only when the last association of a group gives up are
the files still queued reported, with its reason. No retries: the scheduler decides those.
"""

from __future__ import annotations

import math
import os
import threading
from collections import deque
from collections.abc import Callable, Iterable

from ...config.model import Node
from ..association_failure import AssociationError
from ..association_log import Journal
from ..fast_association import FastAssociation, open_fast_association
from ..wire import pdu
from ..wire.reader import PeerClosed
from .plan import Group, plan
from .result import FAILED, NOT_SENT, InstanceOutcome, SendProgress, SendResult, Tally
from .scan import DicomFile, Scan, scan
from .store import Contexts, store_file

# Another association pays off only with enough to carry: some files, or some megabytes.
FILES_PER_ASSOCIATION = 8
BYTES_PER_ASSOCIATION = 32 << 20


def send_files(node: Node, calling_ae: str, paths: Iterable[str | os.PathLike], *, parallel: int = 1,
               on_progress: Callable[[SendProgress], None] | None = None, cancel: threading.Event | None = None,
               timeout: float | None = None, journal: Journal | None = None) -> SendResult:
    """Send every DICOM file under `paths` to `node`; never raises for network trouble or bad files."""
    return send_scanned(node, calling_ae, scan(paths, cancel), parallel=parallel, on_progress=on_progress,
                        cancel=cancel, timeout=timeout, journal=journal)


def send_scanned(node: Node, calling_ae: str, scanned: Scan, *, parallel: int = 1,
                 on_progress: Callable[[SendProgress], None] | None = None, cancel: threading.Event | None = None,
                 timeout: float | None = None, journal: Journal | None = None) -> SendResult:
    """send_files for files already scanned (a face shows the scan before asking to send)."""
    cancel = cancel or threading.Event()
    parallel = max(1, parallel)
    tally = Tally(len(scanned.files), scanned.total_bytes, on_progress)
    tally.start()
    for f in scanned.files:  # cut off inside its data set: the peer would get half an instance
        if f.damage:
            tally.add(InstanceOutcome(f.path, f.sop_instance_uid, FAILED, error=f.damage, kind="truncated"))
    whole = [f for f in scanned.files if not f.damage]
    queues = [_Queue(group, _associations_for(group, parallel)) for group in plan(whole)]
    worker = _Worker(node, calling_ae, timeout, cancel, tally, journal)
    threads = [threading.Thread(target=worker.run, args=(n, queues), name=f"send-{n + 1}", daemon=True)
               for n in range(1, parallel)]
    for thread in threads:
        thread.start()
    worker.run(0, queues)  # the caller's thread is one of the senders
    for thread in threads:
        thread.join()
    order = {f.path: n for n, f in enumerate(scanned.files)}
    instances = sorted(tally.outcomes, key=lambda o: order.get(o.path, 0))
    return SendResult(instances, list(scanned.skipped), tally.seconds(), cancel.is_set())


def _associations_for(group: Group, parallel: int) -> int:
    size = sum(f.data_set_bytes for f in group.files)
    wanted = max(math.ceil(len(group.files) / FILES_PER_ASSOCIATION), math.ceil(size / BYTES_PER_ASSOCIATION))
    return max(1, min(parallel, wanted, len(group.files)))


class _Queue:
    """A group's files waiting for an association, and how many of its associations are still at work."""

    def __init__(self, group: Group, associations: int):
        self.group = group
        self.associations = associations
        self._files = deque(group.files)
        self._active = associations
        self._lock = threading.Lock()

    def take(self) -> DicomFile | None:
        with self._lock:
            return self._files.popleft() if self._files else None

    def empty(self) -> bool:
        with self._lock:
            return not self._files

    def leave(self, tally: Tally, state: str, kind: str, reason: str) -> None:
        """One association is done with this group; the last one reports what is still queued."""
        with self._lock:
            self._active -= 1
            left = list(self._files) if self._active == 0 else []
            if left:
                self._files.clear()
        for f in left:
            tally.add(InstanceOutcome(f.path, f.sop_instance_uid, state, error=reason, kind=kind))


class _Worker:
    def __init__(self, node: Node, calling_ae: str, timeout: float | None, cancel: threading.Event, tally: Tally,
                 journal: Journal | None = None):
        self.node, self.calling_ae, self.timeout = node, calling_ae, timeout
        self.cancel, self.tally, self.journal = cancel, tally, journal

    def run(self, number: int, queues: list[_Queue]) -> None:
        for queue in queues:
            if number < queue.associations:
                self._serve(queue)

    def _serve(self, queue: _Queue) -> None:
        if self.cancel.is_set():
            return queue.leave(self.tally, NOT_SENT, "cancelled", "cancelled before it was sent")
        if queue.empty():
            return queue.leave(self.tally, FAILED, "", "")
        try:
            assoc = open_fast_association(self.node, self.calling_ae, [], timeout=self.timeout,
                                          contexts=queue.group.proposal(), journal=self.journal, service="send")
        except AssociationError as exc:
            kind = "rejected-transient" if exc.transient else exc.kind  # a busy peer: the scheduler tries again
            return queue.leave(self.tally, FAILED, kind, exc.message)
        current: DicomFile | None = None
        try:
            contexts, message_id = Contexts(assoc), 0
            while assoc.is_established and not self.cancel.is_set():
                current = queue.take()
                if current is None:
                    break
                message_id = message_id % 0xFFFF + 1
                self.tally.add(store_file(assoc, contexts, current, message_id, self.cancel))
                current = None
        except Exception as exc:  # a bug of ours: every file still gets an outcome, with the error named
            reason = f"internal error in dicomtui ({type(exc).__name__}: {exc})"
            assoc.abort(reason)
            if current is not None:
                self.tally.add(InstanceOutcome(current.path, current.sop_instance_uid, FAILED, error=reason,
                                               kind="internal"))
            return queue.leave(self.tally, FAILED, "internal", reason)
        if self.cancel.is_set():
            _release(assoc)  # between instances: the peer has everything it was sent
            return queue.leave(self.tally, NOT_SENT, "cancelled", "cancelled before it was sent")
        if not assoc.is_established:  # aborted under the last instance: its outcome says why
            return queue.leave(self.tally, FAILED, "aborted",
                               "not sent: the association ended before this instance's turn")
        _release(assoc)
        queue.leave(self.tally, FAILED, "", "")


def _release(assoc: FastAssociation) -> None:
    """A-RELEASE, or A-ABORT when the peer does not answer it within the ACSE timeout."""
    if not assoc.is_established:
        return
    try:
        assoc.sock.settimeout(assoc.timeouts.acse)
        assoc.sock.sendall(pdu.release_rq())
        while True:
            kind, length = pdu.header(assoc.reader.read(6))
            assoc.reader.read(length)
            if kind in (pdu.A_RELEASE_RP, pdu.A_ABORT):
                break
    except TimeoutError:
        assoc.abort(f"the peer did not answer our A-RELEASE within {assoc.timeouts.acse:g} s")
        return
    except (OSError, PeerClosed):
        pass
    assoc.ended("released")
