"""C-FIND for the Query screen, in a daemon thread (retrieves are jobs: see screens/query_retrieve.py).

Daemons, like the echo pool: quitting never waits for an archive that does not answer. The thread
only collects; the screen drains rows on a timer (at most ten updates a second) and
gets one message when the run ends. Nothing here touches a widget.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from textual.message import Message

from ..engine.loading import import_engine


class Run:
    """One engine call in its own daemon thread; `done(run)` is called in that thread at the end."""

    def __init__(self, what: str, call: Callable[[Run], Any], done: Callable[[Run], None]) -> None:
        self.what = what
        self.cancel = threading.Event()
        self.started = time.monotonic()
        self.elapsed = 0.0
        self.result: Any = None
        self.crash: str | None = None
        self._rows: list[dict] = []
        self._lock = threading.Lock()
        self._call = call
        self._done = done
        self.thread = threading.Thread(target=self._run, name=f"query-screen-{what}", daemon=True)

    def start(self) -> Run:
        self.thread.start()
        return self

    def add_row(self, row: dict) -> None:
        with self._lock:
            self._rows.append(row)

    def take_rows(self) -> list[dict]:
        with self._lock:
            rows, self._rows = self._rows, []
        return rows

    @property
    def finished(self) -> bool:
        return not self.thread.is_alive()

    def _run(self) -> None:
        try:
            self.result = self._call(self)
        except Exception as exc:  # a bug, not the network: say so instead of spinning for ever
            self.crash = f"internal error: {exc!r}"
        self.elapsed = time.monotonic() - self.started
        self._done(self)


class RunFinished(Message):
    """Posted by a screen to itself from the run's thread (post_message is thread-safe) when its Run ended."""

    def __init__(self, run: Run) -> None:
        super().__init__()
        self.run = run


def find_call(node, calling_ae: str, request, journal=None) -> Callable[[Run], Any]:
    """`journal`: where the query's association is logged (app.journal(...))."""
    def call(run: Run):
        engine = import_engine("dicomtui.engine.query")
        return engine.find(node, calling_ae, request, cancel=run.cancel, on_row=run.add_row, journal=journal)

    return call

