"""Opening associations the same way for every service, and failing in words.

Every SCU in the engine goes through `open_association`: it sets TCP_NODELAY (neither
pynetdicom nor dcmtk does, and Nagle costs 10-50x on small messages), applies the node's
timeouts, and turns pynetdicom's silent `is_established == False` into `AssociationError`
with a reason a PACS administrator can act on.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from pynetdicom import AE, evt
from pynetdicom.association import Association
from pynetdicom.pdu_primitives import A_ASSOCIATE

from ..config.model import Node
from ..dicom.association_errors import explain_rejection
from . import pynetdicom_setup  # noqa: F401 - settings on import
from .association_failure import (  # noqa: F401 - re-exported: the engine imports them from here
    DEFAULT_MAX_PDU,
    AssociationError,
    Timeouts,
    failure,
    resolve,
    services_refused,
    unsupported,
)
from .association_log import Journal
from .association_log_pynetdicom import outgoing


def tune_socket(assoc_socket) -> None:
    """TCP options for every association, ours or a peer's, on pynetdicom's AssociationSocket.

    TCP_NODELAY: neither pynetdicom nor dcmtk sets it, and Nagle costs 10-50x on small messages.
    TCP_QUICKACK before each receive: a peer without TCP_NODELAY (Orthanc, a default dcmtk)
    holds the second part of every reply until we acknowledge the first, which Linux delays
    by up to 40 ms. Measured: C-ECHO to Orthanc 44 ms without, 2.7 ms with. Linux resets the
    option by itself, hence before every receive.
    """
    raw = assoc_socket.socket if assoc_socket is not None else None
    if raw is None:
        return
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    quickack = getattr(socket, "TCP_QUICKACK", None)
    if quickack is None:  # not Linux
        return
    receive = assoc_socket.recv

    def recv(bufsize: int) -> bytearray:
        try:
            raw.setsockopt(socket.IPPROTO_TCP, quickack, 1)
        except OSError:  # the connection is going away; recv will say so
            pass
        return receive(bufsize)

    assoc_socket.recv = recv


def _tune(event: evt.Event) -> None:
    tune_socket(event.assoc.dul.socket)


NODELAY_HANDLER = (evt.EVT_CONN_OPEN, _tune)


def _wake_on_abort(event: evt.Event) -> None:
    """Hand a waiting DIMSE call an empty message at once when the peer aborts.

    pynetdicom only notices an abort when its DIMSE wait times out (30 s or more): Orthanc
    answers a C-FIND or C-MOVE it refuses with A-ABORT, and the user would wait for nothing.
    (None, None) is what that wait returns on a timeout; callers treat an empty status as fatal.
    """
    event.assoc.dimse.msg_queue.put((None, None))


WAKE_ON_ABORT = (evt.EVT_ABORTED, _wake_on_abort)


class _Capture(logging.Handler):
    """Collects pynetdicom's log records: the only place it says why a connection failed."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def messages(self, threads: list[threading.Thread]) -> list[str]:
        # Idents are reused as soon as a thread ends (a finished association's DUL thread may
        # log its last words while ours starts); names are unique, so match both.
        wanted = {(t.ident, t.name) for t in threads if t.ident is not None}
        return [r.getMessage() for r in self.records if (r.thread, r.threadName) in wanted]


def _unread_rejection(assoc: Association) -> A_ASSOCIATE | None:
    """An A-ASSOCIATE-RJ that pynetdicom received but did not look at.

    pynetdicom 3.0.4 races itself: when a peer rejects and closes at once (storescp --refuse
    on loopback), the DUL thread may close the socket before the ACSE checks that it is
    connected; the ACSE then reports a failed connection and aborts, with the rejection
    still waiting in the DUL's queue. Measured: 2 of 40 rejections came back as aborts
    without this look into the queue, 0 of 200 with it.
    """
    for item in list(assoc.dul.to_user_queue.queue):
        if isinstance(item, A_ASSOCIATE) and item.result in (0x01, 0x02):
            return item
    return None


def _connection_failure(node: Node, messages: list[str], timeouts: Timeouts, elapsed: float) -> AssociationError:
    text = " ".join(messages)
    if "ACSE timeout" in text:
        return failure("acse-timeout", node, timeouts)
    if "Connection refused" in text or "Errno 111" in text:
        return failure("refused", node, timeouts)
    if "timed out" in text or elapsed >= timeouts.connect * 0.95:
        return failure("timeout", node, timeouts)
    if "unreachable" in text.lower() or "No route" in text:
        return failure("unreachable", node, timeouts)
    if "Unknown PDU type" in text or "Invalid PDU" in text:
        return failure("not-dicom", node, timeouts)
    detail = next((m.split(": ", 1)[1] for m in messages if "TCP Initialisation Error" in m), "")
    if detail:
        return failure("cannot-connect", node, timeouts, detail)
    return failure("ended", node, timeouts)


def open_association(
    node: Node,
    calling_ae: str,
    contexts: Sequence,
    *,
    timeout: float | None = None,
    ext_neg: list | None = None,
    evt_handlers: list | None = None,
    journal: Journal | None = None,
    service: str = "",
) -> Association:
    """An established association to `node`, or AssociationError saying why not.

    `contexts` are pynetdicom PresentationContext objects (or abstract syntax UIDs).
    The caller owns the association: use `association()` to be sure it is closed.
    With a `journal`, the association goes into the association log as `service`; its entry's
    id is the association's (or the AssociationError's) `log_id`.
    """
    timeouts = Timeouts.for_node(node, timeout)
    address = resolve(node.host, node.port)
    ae = AE(ae_title=calling_ae)
    ae.connection_timeout = timeouts.connect
    ae.acse_timeout = timeouts.acse
    ae.dimse_timeout = timeouts.dimse
    ae.network_timeout = max(timeouts.dimse, 60.0)
    for context in contexts:
        if hasattr(context, "abstract_syntax"):
            ae.add_requested_context(context.abstract_syntax, context.transfer_syntax)
        else:
            ae.add_requested_context(context)
    recorder, log_handlers = outgoing(journal, service, calling_ae, node.ae_title, f"{address}:{node.port}")
    try:
        assoc = _associate(ae, node, calling_ae, address, timeouts, ext_neg, [*log_handlers, *(evt_handlers or [])])
    except AssociationError as exc:
        exc.log_id = recorder.id if recorder is not None else ""
        if recorder is not None:
            if not recorder.entry.contexts:  # the request never went out: say what it would have asked
                recorder.propose([(2 * n + 1, str(cx.abstract_syntax), [str(ts) for ts in cx.transfer_syntax])
                                  for n, cx in enumerate(ae.requested_contexts)])
            recorder.finish("rejected" if exc.kind == "rejected" else "failed", exc.message)
        raise
    assoc.log_id = recorder.id if recorder is not None else ""
    return assoc


def _associate(ae: AE, node: Node, calling_ae: str, address: str, timeouts: Timeouts, ext_neg: list | None,
               evt_handlers: list) -> Association:
    capture = _Capture()
    logger = logging.getLogger("pynetdicom")
    logger.addHandler(capture)
    started = time.monotonic()
    try:
        assoc = ae.associate(
            address,
            node.port,
            ae_title=node.ae_title,
            max_pdu=node.max_pdu if node.max_pdu is not None else DEFAULT_MAX_PDU,
            ext_neg=ext_neg,
            evt_handlers=[NODELAY_HANDLER, WAKE_ON_ABORT, *evt_handlers],
        )
    finally:
        logger.removeHandler(capture)
    if assoc.is_established:
        return assoc
    elapsed = time.monotonic() - started
    primitive = assoc.acceptor.primitive if assoc.is_rejected else _unread_rejection(assoc)
    if primitive is not None:
        raise AssociationError(
            "rejected",
            explain_rejection(
                getattr(primitive, "result", None),
                getattr(primitive, "result_source", None),
                getattr(primitive, "diagnostic", None),
                calling=calling_ae,
                called=node.ae_title,
            ),
            transient=getattr(primitive, "result", None) == 2,
        )
    threads = [assoc, assoc.dul, threading.current_thread()]
    messages = capture.messages(threads)
    if any("No accepted presentation contexts" in m for m in messages):
        # The node answered, but refused every service we asked for; pynetdicom then aborts.
        raise services_refused(assoc, calling_ae)
    raise _connection_failure(node, messages, timeouts, elapsed)


@contextmanager
def association(node: Node, calling_ae: str, contexts: Sequence, **kwargs) -> Iterator[Association]:
    """`open_association` that always releases, or aborts if the block fails or is interrupted.

    An unhandled exception with an open association keeps the process alive for a minute
    (pynetdicom's DUL thread is not a daemon), so the abort is not optional.
    """
    assoc = open_association(node, calling_ae, contexts, **kwargs)
    try:
        yield assoc
    except BaseException:
        assoc.abort()
        raise
    else:
        if assoc.is_established:
            assoc.release()
