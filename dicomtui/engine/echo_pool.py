"""C-ECHOs in the background, a few at a time, for faces that check many nodes.

The threads are daemons: quitting the app must never wait for a node that does not
answer (a thread cannot be interrupted while pynetdicom waits for the connection).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..config.model import Node
from .loading import import_engine

if TYPE_CHECKING:
    from .association_log import Journal
    from .echo import EchoResult

# Enough that dead nodes do not hold up the living, few enough for 2 cores
# (PYNETDICOM.md: more than 4 associations at once hurts).
DEFAULT_PARALLEL = 4


class EchoPool:
    """Runs `echo(node, calling_ae)` for submitted nodes; `on_done(node, result)` is called
    in the pool's thread when each one ends."""

    def __init__(self, on_done: Callable[[Node, EchoResult], None], parallel: int = DEFAULT_PARALLEL):
        self._on_done = on_done
        self._parallel = parallel
        self._queue: queue.Queue[tuple[Node, str, Journal | None]] = queue.Queue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def submit(self, node: Node, calling_ae: str, journal: Journal | None = None) -> None:
        """Echo `node`; `journal`: where its association is logged."""
        self._queue.put((node, calling_ae, journal))
        with self._lock:
            if len(self._threads) < self._parallel and self._queue.qsize() > self._idle():
                thread = threading.Thread(target=self._work, name=f"echo-pool-{len(self._threads)}", daemon=True)
                self._threads.append(thread)
                thread.start()

    @property
    def thread_count(self) -> int:
        return len(self._threads)

    def _idle(self) -> int:
        return sum(1 for t in self._threads if getattr(t, "idle", False))

    def _work(self) -> None:
        me = threading.current_thread()
        while True:
            me.idle = True  # type: ignore[attr-defined]
            node, calling_ae, journal = self._queue.get()
            me.idle = False  # type: ignore[attr-defined]
            self._on_done(node, _echo_safely(node, calling_ae, journal))


def _echo_safely(node: Node, calling_ae: str, journal: Journal | None = None) -> EchoResult:
    """An echo whose failure, whatever it is, comes back as a result: a pool thread that died
    would leave its node 'echoing' for ever."""
    # pynetdicom is slow to import: only when the first echo runs, and never two threads at once.
    echo_module = import_engine("dicomtui.engine.echo")
    try:
        return echo_module.echo(node, calling_ae, journal=journal)
    except Exception as exc:  # a bug, not the network: say so instead of hanging
        return echo_module.EchoResult(target=node.name, ok=False, error=f"internal error: {exc!r}",
                                      failure="status")
