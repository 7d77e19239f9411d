"""The association around one C-FIND: closing it, and telling "refuses our AE title" from a refusal.

find() in query.py and query_worklist() in worklist.py open an association the same way and read
the same two signs that a node refuses C-FIND from our AE title while echo still works.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from ..config.model import Node
from .find_outcome import FindOutcome


def echo_works(node: Node, calling_ae: str, timeout: float | None) -> bool:
    from .echo import echo  # pynetdicom: only for this rare check

    return echo(node, calling_ae, timeout=timeout).ok


@contextmanager
def closing(assoc, cancel: threading.Event | None) -> Iterator[None]:
    """Release the association at the end; abort it on a cancel (the peer may still be sending) or an error."""
    try:
        yield
    except BaseException:
        assoc.abort()
        raise
    finally:
        if assoc.is_established:
            if cancel is not None and cancel.is_set():
                assoc.abort()
            else:
                assoc.release()


def name_rejection(result: FindOutcome, node: Node, calling_ae: str, timeout: float | None, refused: str) -> None:
    """A rejected association where echo is accepted: C-FIND is refused for our AE title (`refused` says so)."""
    if result.failure == "rejected" and echo_works(node, calling_ae, timeout):
        result.failure, result.error = "refused-find", refused


def name_abort(result: FindOutcome, rows: list, node: Node, calling_ae: str, timeout: float | None,
               refused: str) -> None:
    """Orthanc answers a C-FIND from an AE title it does not know with A-ABORT, and echo still works."""
    if result.failure == "aborted" and not rows and echo_works(node, calling_ae, timeout):
        result.failure, result.error = "refused-find", refused + (
            " (it aborted the association instead of answering the query)")
