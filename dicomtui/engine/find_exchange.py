"""One C-FIND exchange on our own association: the request out, each response handed on, C-CANCEL, the end.

query_fast.py (archives) and worklist.py (worklists) both run it; what a response's identifier means
is theirs to say, through `take`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from .fast_association import Context, FastAssociation, PeerAborted
from .find_outcome import PENDING, FindOutcome, finish
from .wire import commands


def exchange(
    assoc: FastAssociation,
    context: Context,
    message_id: int,
    identifier: bytes,
    result: FindOutcome,
    *,
    take: Callable[[bytes], bool],
    taken: Callable[[], int],
    limit: int | None,
    cancel: threading.Event | None,
    peer: str,
    what: str,
    while_searching: Callable[[], None] | None = None,
    log_keys: list[tuple[str, str]] | None = None,
) -> None:
    """Send the C-FIND and read its responses into `result` until the final one.

    `take(data)` decodes and keeps one pending response's identifier and returns True when it has
    stopped the query itself (with result.failure set); `taken()` counts what counts toward `limit`.
    A limit, a cancel or a stop sends C-CANCEL and drains what still comes, so the association ends
    cleanly. `peer` and `what` name the two sides in the messages ("the archive", "the query").
    `while_searching` runs once the request is out, before the first response is awaited.
    `log_keys`: the identifier's keys as the association log shows the request.
    """
    stopping = False  # C-CANCEL sent: discard and drain what still comes

    def stop() -> None:
        nonlocal stopping
        stopping = True
        assoc.send(context.context_id, commands.cancel_request(message_id))

    try:
        assoc.send(context.context_id, commands.find_request(message_id, context.abstract_syntax), identifier,
                   identifier=log_keys)
        if while_searching is not None:
            while_searching()
        while True:
            message = assoc.receive()
            code = message.command.status
            if code is None:
                result.failure, result.error = "aborted", f"{peer} answered without a status"
                assoc.abort()
                return
            if code in PENDING:
                if stopping:
                    continue
                if limit is not None and taken() >= limit:
                    result.truncated = True
                    stop()
                    continue
                if not message.data:
                    continue
                if take(message.data):
                    stop()
                elif cancel is not None and cancel.is_set():
                    result.failure, result.error = "cancelled", "cancelled"
                    stop()
                continue
            finish(result, code, message.command.error_comment, stopping, peer=peer, what=what)
            break
    except PeerAborted:
        result.failure, result.error = "aborted", f"{peer} aborted the association during {what}"
        return
    except TimeoutError:
        result.failure, result.error = "timeout", f"no C-FIND response within {assoc.timeouts.dimse:g} s"
        assoc.abort()
        return
    if cancel is not None and cancel.is_set() and result.failure is None:
        result.failure, result.error = "cancelled", "cancelled"
