"""The local archive's Query/Retrieve SCP: C-FIND, C-MOVE and C-GET over the index (and Modality
Worklist C-FIND, handed to worklist_scp.py).

Handlers are generators that pynetdicom drives; each checks `event.is_cancelled` between
responses so a C-CANCEL stops the work at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydicom import dcmread
from pynetdicom import build_context, evt

from ..archive.query import QueryError, find, instances_for, model_of
from ..association import NODELAY_HANDLER
from ..association_log_pynetdicom import outgoing
from .events import ReceiverProblem
from .worklist_scp import is_worklist, worklist_responses

if TYPE_CHECKING:
    from .service import Receiver

CANCELLED = 0xFE00
PENDING = 0xFF00
IDENTIFIER_DOES_NOT_MATCH = 0xA900
UNABLE_TO_PROCESS = 0xC001
MAX_CONTEXTS = 128


def _model(event: evt.Event) -> str:
    return model_of(str(event.request.AffectedSOPClassUID))


def query_retrieve_handlers(receiver: Receiver) -> list:
    def on_find(event: evt.Event):
        if is_worklist(event):  # one C-FIND handler per AE: the worklist model is answered elsewhere
            yield from worklist_responses(receiver, event)
            return
        try:
            identifier = event.identifier
            for match in find(receiver.index, identifier, _model(event), retrieve_ae=receiver.settings.ae_title):
                if event.is_cancelled:
                    yield CANCELLED, None
                    return
                yield PENDING, match
        except QueryError as exc:
            receiver._emit(ReceiverProblem(f"C-FIND from {event.assoc.requestor.ae_title} refused: {exc}"))
            yield IDENTIFIER_DOES_NOT_MATCH, None

    def on_move(event: evt.Event):
        destination_ae = str(event.move_destination).strip()
        node = next((n for n in receiver.settings.nodes if n.ae_title == destination_ae), None)
        if node is None:
            receiver._emit(ReceiverProblem(
                f"C-MOVE from {event.assoc.requestor.ae_title} to {destination_ae!r} refused (0xA801): that "
                "AE title is not one of our nodes; add it with its host and port to move there"))
            yield None, None
            return
        try:
            refs = instances_for(receiver.index, event.identifier, _model(event))
        except QueryError as exc:
            receiver._emit(ReceiverProblem(f"C-MOVE from {event.assoc.requestor.ae_title} refused: {exc}"))
            yield node.host, node.port
            yield IDENTIFIER_DOES_NOT_MATCH, None
            return
        _, log_handlers = outgoing(receiver.journal, "store", receiver.settings.ae_title, destination_ae,
                                   f"{node.host}:{node.port}", origin=f"receiver: C-MOVE from "
                                   f"{str(event.assoc.requestor.ae_title).strip()} to {destination_ae}")
        yield node.host, node.port, {"contexts": _contexts(refs), "evt_handlers": [NODELAY_HANDLER, *log_handlers]}
        yield len(refs)
        yield from _send(refs, event)

    def on_get(event: evt.Event):
        try:
            refs = instances_for(receiver.index, event.identifier, _model(event))
        except QueryError as exc:
            receiver._emit(ReceiverProblem(f"C-GET from {event.assoc.requestor.ae_title} refused: {exc}"))
            yield 0
            yield IDENTIFIER_DOES_NOT_MATCH, None
            return
        yield len(refs)
        yield from _send(refs, event)

    return [(evt.EVT_C_FIND, on_find), (evt.EVT_C_MOVE, on_move), (evt.EVT_C_GET, on_get)]


def _send(refs, event: evt.Event):
    for ref in refs:
        if event.is_cancelled:
            yield CANCELLED, None
            return
        try:
            # pynetdicom's retrieve SCPs take Datasets, not paths: one instance in memory at a time.
            yield PENDING, dcmread(ref.path)
        except OSError:
            yield UNABLE_TO_PROCESS, None
            return


def _contexts(refs) -> list:
    """One presentation context per SOP class and transfer syntax actually sent."""
    pairs = sorted({(ref.sop_class_uid, ref.transfer_syntax) for ref in refs})
    return [build_context(sop_class, syntax) for sop_class, syntax in pairs[:MAX_CONTEXTS]]
