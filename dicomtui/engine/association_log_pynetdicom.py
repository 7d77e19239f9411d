"""Feeding association log recorders from pynetdicom's events, for associations pynetdicom runs.

pynetdicom reports every ACSE primitive it sends or receives (the request with its proposed
contexts, the acceptance or rejection, the release, an abort) and every DIMSE message. Outgoing
associations bind `handlers(recorder)` when they associate; the receiver binds `ScpRecorders`'
handlers on its AE, which keeps one recorder per association pynetdicom accepts.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from pynetdicom import evt
from pynetdicom.pdu_primitives import A_ABORT, A_ASSOCIATE, A_P_ABORT, A_RELEASE

from ..dicom.association_errors import explain_rejection
from .association_log import Journal, Recorder, begin, dataset_pairs

_ABORT_SOURCES = {0: "the peer (service user)", 1: "the peer", 2: "the peer's DICOM provider"}
_PROVIDER_REASONS = {
    0: "no reason given", 1: "unrecognised PDU", 2: "unexpected PDU", 4: "unrecognised PDU parameter",
    5: "unexpected PDU parameter", 6: "invalid PDU parameter value",
}
_WE_REJECTED = {
    (1, 3): "we rejected it: its calling AE title is not allowed by [receiver] accept",
    (1, 7): "we rejected it: it called an AE title that is not ours ([local] ae_title)",
    (3, 2): "we rejected it: [receiver] max_associations were open already",
    (1, 2): "we rejected it: it asked for an application context other than DICOM's",
}
# Requests whose identifier the log keeps (what was asked); responses' identifiers are the results.
_IDENTIFIER_REQUESTS = {0x0020, 0x0021, 0x0010}


def _contexts(primitive: A_ASSOCIATE) -> list[tuple[int, str, list[str]]]:
    return [(cx.context_id, str(cx.abstract_syntax), [str(ts) for ts in cx.transfer_syntax])
            for cx in primitive.presentation_context_definition_list]


class _Tracker:
    """How one pynetdicom association is going, as far as its ACSE primitives tell."""

    def __init__(self, recorder: Recorder, *, requestor: bool):
        self.recorder = recorder
        self.requestor = requestor  # we asked for the association
        self.outcome = ""
        self.reason = ""
        self.established = False

    def acse(self, primitive, sent: bool) -> None:
        recorder = self.recorder
        if isinstance(primitive, A_ASSOCIATE):
            if primitive.result is None:  # the request
                entry = recorder.entry
                entry.calling_ae = str(primitive.calling_ae_title).strip()
                entry.called_ae = str(primitive.called_ae_title).strip()
                recorder.propose(_contexts(primitive))
                return
            if primitive.result == 0x00:
                self.established = True
                for cx in primitive.presentation_context_definition_results_list:
                    recorder.answer(cx.context_id, cx.result, cx.transfer_syntax[0] if cx.transfer_syntax else "")
                if primitive.maximum_length_received is not None and self.requestor and not sent:
                    recorder.entry.peer_max_pdu = primitive.maximum_length_received
                return
            self.outcome = "rejected"
            if sent:  # we are the acceptor: say which of our settings refused it
                self.reason = _WE_REJECTED.get((primitive.result_source, primitive.diagnostic),
                                               "we rejected it") + (
                    f" (A-ASSOCIATE-RJ result {primitive.result}, source {primitive.result_source}, "
                    f"reason {primitive.diagnostic})")
            else:
                self.reason = explain_rejection(primitive.result, primitive.result_source, primitive.diagnostic,
                                                calling=recorder.entry.calling_ae, called=recorder.entry.called_ae)
        elif isinstance(primitive, A_RELEASE):
            self.outcome = self.outcome or "released"
        elif isinstance(primitive, (A_ABORT, A_P_ABORT)):
            if sent:
                self.outcome = "aborted"
            else:
                self.outcome = "aborted by the peer"
                if isinstance(primitive, A_P_ABORT):
                    self.reason = f"reason: {_PROVIDER_REASONS.get(primitive.provider_reason, 'unknown')}"

    def dimse(self, event: evt.Event, sent: bool) -> None:
        message = event.message
        command = message.command_set
        field_value = int(command.get("CommandField", 0) or 0)
        status = command.get("Status")
        responding = command.get("MessageIDBeingRespondedTo")
        message_id = command.get("MessageID") if responding is None else responding
        detail = _detail(command)
        identifier = None
        if field_value in _IDENTIFIER_REQUESTS:
            identifier = _identifier(event.assoc, message)
        self.recorder.message(sent, field_value, message_id, None if status is None else int(status), detail,
                              identifier)

    def closed(self) -> None:
        # An association we asked for that never got going is finished by open_association, which
        # knows why (refused, timed out, rejected) better than a closed connection does.
        if self.established or not self.requestor:
            self.recorder.finish(self.outcome or "connection closed", self.reason)

    def handlers(self) -> list[tuple]:
        return [
            (evt.EVT_ACSE_SENT, lambda event: self.acse(event.primitive, True)),
            (evt.EVT_ACSE_RECV, lambda event: self.acse(event.primitive, False)),
            (evt.EVT_DIMSE_SENT, lambda event: self.dimse(event, True)),
            (evt.EVT_DIMSE_RECV, lambda event: self.dimse(event, False)),
            (evt.EVT_CONN_CLOSE, lambda event: self.closed()),
        ]


def _detail(command) -> str:
    parts = []
    uid = command.get("AffectedSOPInstanceUID")
    if uid:
        parts.append(f"SOP Instance {uid}")
    destination = command.get("MoveDestination")
    if destination:
        parts.append(f"to {str(destination).strip()}")
    counts = [(name, command.get(f"NumberOf{name}Suboperations")) for name in
              ("Remaining", "Completed", "Failed", "Warning")]
    said = [f"{name.lower()} {value}" for name, value in counts if value is not None]
    if said:
        parts.append(", ".join(said))
    comment = command.get("ErrorComment")
    if comment:
        parts.append(f"comment: {comment}")
    return "; ".join(parts)


def _identifier(assoc, message) -> list[tuple[str, str]] | None:
    """The keys of a C-FIND, C-MOVE or C-GET request, read from its encoded identifier."""
    raw = getattr(message, "data_set", None)
    if raw is None:
        return None
    try:
        from pydicom.filebase import DicomBytesIO
        from pydicom.filereader import read_dataset

        context = next((cx for cx in assoc.accepted_contexts if cx.context_id == message.context_id), None)
        syntax = context.transfer_syntax[0] if context is not None else None
        implicit = bool(syntax is None or syntax.is_implicit_VR)
        little = bool(syntax is None or syntax.is_little_endian)
        data = raw.getvalue() if hasattr(raw, "getvalue") else bytes(raw)
        ds = read_dataset(DicomBytesIO(data), implicit, little)
        return dataset_pairs(ds)
    except Exception:  # noqa: BLE001 - an identifier we cannot read is left out of the log, never fatal
        return None


def outgoing(journal: Journal | None, service: str, calling_ae: str, called_ae: str, peer: str,
             origin: str | None = None) -> tuple[Recorder | None, list[tuple]]:
    """A recorder for an association we are about to request, and the handlers to bind on associate()."""
    recorder = begin(journal, outgoing=True, service=service, calling_ae=calling_ae, called_ae=called_ae, peer=peer,
                     origin=origin)
    if not isinstance(recorder, Recorder):
        return None, []
    return recorder, _Tracker(recorder, requestor=True).handlers()


class ScpRecorders:
    """One recorder per association the receiver's pynetdicom AE accepts (or rejects)."""

    def __init__(self, journal: Journal | None, service: Callable[[object], str] | None = None):
        self._journal = journal
        self._trackers: dict[object, _Tracker] = {}
        self._lock = threading.Lock()

    def _tracker(self, assoc) -> _Tracker | None:
        with self._lock:
            tracker = self._trackers.get(assoc)
            if tracker is None and self._journal is not None:
                peer = f"{assoc.requestor.address}:{assoc.requestor.port}"
                recorder = begin(self._journal, outgoing=False, service="", calling_ae="", called_ae="",
                                 peer=peer)
                tracker = self._trackers[assoc] = _Tracker(recorder, requestor=False)
            return tracker

    def recorder_for(self, assoc) -> Recorder | None:
        tracker = self._tracker(assoc)
        return tracker.recorder if tracker is not None else None

    def _closed(self, event: evt.Event) -> None:
        with self._lock:
            tracker = self._trackers.pop(event.assoc, None)
        if tracker is not None:
            tracker.closed()

    def handlers(self) -> list[tuple]:
        if self._journal is None:
            return []

        def on(method):
            def handler(event: evt.Event) -> None:
                tracker = self._tracker(event.assoc)
                if tracker is not None:
                    method(tracker, event)
            return handler

        return [
            (evt.EVT_ACSE_SENT, on(lambda t, e: t.acse(e.primitive, True))),
            (evt.EVT_ACSE_RECV, on(lambda t, e: t.acse(e.primitive, False))),
            (evt.EVT_DIMSE_SENT, on(lambda t, e: t.dimse(e, True))),
            (evt.EVT_DIMSE_RECV, on(lambda t, e: t.dimse(e, False))),
            (evt.EVT_CONN_CLOSE, self._closed),
        ]
