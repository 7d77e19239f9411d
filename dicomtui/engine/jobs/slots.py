"""How many associations the job queue opens at once: a global limit and one per peer, shared by every
process that runs jobs (the app, `dicomtui send` in another terminal, `dicomtui jobs resume` from cron).

Each limit is a pool of lock files; a slot is in use while some process holds an flock on one of
them. The kernel drops the flock when its process dies, kill -9 included, so a crash never
leaks a slot, and no process has to be told that another one started or stopped.

    slots = AssociationSlots(folder, total=8, per_node=4)
    lease = slots.acquire("10.0.0.5:104", want=4, cancel=event, on_wait=say)   # None: cancelled
    try: send with lease.count associations
    finally: lease.release()
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ...store.jobs import WAITING
from .lock import locks_folder

POLL_SECONDS = 0.2  # how soon a freed slot is noticed (flock has no wait-for-any-of-these)


@dataclass
class Lease:
    """Slots held by one run: `count` associations it may open now. Release it when they are closed."""

    count: int
    _fds: list[int] = field(default_factory=list, repr=False)

    def release(self) -> None:
        while self._fds:
            os.close(self._fds.pop())  # closing drops the flock


class AssociationSlots:
    def __init__(self, folder: Path, total: int, per_node: int):
        self.folder = folder
        self.total = max(1, total)
        self.per_node = max(1, per_node)
        self._lock = threading.Lock()  # flock is per open file, so threads of one process compete fairly too

    def acquire(self, node_key: str, want: int, cancel: threading.Event,
                on_wait: Callable[[str], None] | None = None) -> Lease | None:
        """Up to `want` slots (at least one) for associations to the peer `node_key` (host:port), waiting
        while none is free; None if `cancel` is set first. `on_wait(reason)` is called once if it waits."""
        told = False
        while not cancel.is_set():
            lease = self.try_acquire(node_key, want)
            if lease is not None:
                return lease
            if not told and on_wait is not None:
                told = True
                on_wait(self._why_waiting(node_key))
            cancel.wait(POLL_SECONDS)
        return None

    def try_acquire(self, node_key: str, want: int) -> Lease | None:
        """As many slots as are free up to `want`, without waiting; None when not even one is."""
        lease = Lease(0)
        with self._lock:
            while lease.count < max(1, want):
                node_fd = self._take(self._node_files(node_key))
                if node_fd is None:
                    break
                all_fd = self._take(self._global_files())
                if all_fd is None:
                    os.close(node_fd)
                    break
                lease._fds += [node_fd, all_fd]
                lease.count += 1
        return lease if lease.count else None

    def in_use(self, node_key: str | None = None) -> int:
        """Slots held right now, by anyone (of the peer's pool, or of the global one)."""
        files = self._global_files() if node_key is None else self._node_files(node_key)
        used = 0
        with self._lock:
            for path in files:
                fd = self._take([path])
                if fd is None:
                    used += 1
                else:
                    os.close(fd)
        return used

    def _why_waiting(self, node_key: str) -> str:
        if self.in_use(node_key) >= self.per_node:
            return f"{WAITING}: {self.per_node} of {self.per_node} to {node_key} in use (per-node limit)"
        return f"{WAITING}: {self.total} of {self.total} in use (limit for all transfers)"

    def _global_files(self) -> list[Path]:
        return [self.folder / f"all-{i}.lock" for i in range(self.total)]

    def _node_files(self, node_key: str) -> list[Path]:
        # A hash, not the address itself: a host name or an IPv6 address has characters a file name must not.
        digest = hashlib.sha1(node_key.casefold().encode()).hexdigest()[:16]
        return [self.folder / f"node-{digest}-{i}.lock" for i in range(self.per_node)]

    def _take(self, paths: list[Path]) -> int | None:
        self.folder.mkdir(parents=True, exist_ok=True)
        for path in paths:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            return fd
        return None


def slots_for(store, options) -> AssociationSlots:
    """The slots of the job queue in `store` with the limits of a [transfers] table (TransferOptions)."""
    return AssociationSlots(locks_folder(store) / "slots", options.max_associations,
                            options.max_associations_per_node)


def node_key(host: str, port: int) -> str:
    """One peer, however many node names point at it."""
    return f"{host.strip().casefold()}:{port}"
