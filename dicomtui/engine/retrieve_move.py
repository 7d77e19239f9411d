"""C-MOVE as SCU: ask an archive to send instances to a destination AE, and say why it did not.

When the destination is our own receiver running in this process, we watch its events during the
move: whether the archive's association arrived, and with which calling and called AE titles, is
usually the whole explanation of a failed move.
"""

from __future__ import annotations

import threading

from ..config.model import Node
from ..dicom.status import describe_status
from .association import AssociationError, open_association, unsupported
from .association_log import Journal
from .receiver.events import AssociationClosed, AssociationOpened, InstanceStored
from .retrieve import (
    UNKNOWN_DESTINATION,
    ProgressCallback,
    RetrieveRequest,
    RetrieveResult,
    _Stream,
    drive,
    judge_final,
    local_address,
    refused_retrieve,
    stretch_timeouts,
)


class ArrivalWatch:
    """What a Receiver running in this process saw while a C-MOVE was under way."""

    def __init__(self, receiver) -> None:
        self.receiver = receiver
        self.opened: list[AssociationOpened] = []
        self.rejected: list[AssociationClosed] = []
        self.stored = 0
        self._lock = threading.Lock()
        receiver.subscribe(self)

    def __call__(self, event) -> None:
        with self._lock:
            if isinstance(event, AssociationOpened):
                self.opened.append(event)
            elif isinstance(event, AssociationClosed) and event.how == "rejected":
                self.rejected.append(event)
            elif isinstance(event, InstanceStored):
                self.stored += 1

    def close(self) -> None:
        unsubscribe = getattr(self.receiver, "unsubscribe", None)
        if unsubscribe is not None:
            unsubscribe(self)

    def arrived(self) -> bool:
        with self._lock:
            return bool(self.opened or self.rejected)

    def describe(self, our_ae: str) -> list[str]:
        port = self.receiver.settings.port
        with self._lock:
            opened, rejected, stored = list(self.opened), list(self.rejected), self.stored
        lines = []
        for event in opened:
            line = (f"the archive's association arrived at our receiver (port {port}) from AE title "
                    f"{event.calling_ae} calling {event.called_ae}")
            if event.called_ae.strip() != our_ae:
                line += f" (not {our_ae})"
            lines.append(line + f"; {stored} instance(s) stored")
        for event in rejected:
            lines.append(f"an association arrived at our receiver (port {port}) but was rejected: {event.detail} "
                         f"(our receiver's AE title is {our_ae}; correct the archive's entry for it)")
        if not lines:
            lines.append(f"the archive's association did not arrive at our receiver (port {port}): the archive "
                         "has a wrong host or port for it, or a firewall blocks the connection")
        return lines


def move(
    node: Node,
    calling_ae: str,
    request: RetrieveRequest,
    destination_ae: str,
    *,
    cancel: threading.Event | None = None,
    on_progress: ProgressCallback | None = None,
    timeout: float | None = None,
    receiver=None,
    local_port: int | None = None,
    journal: Journal | None = None,
) -> RetrieveResult:
    """Ask `node` to send what `request` selects to `destination_ae` (C-MOVE). Never raises for
    network trouble: the result says what happened.

    `receiver`: a running `Receiver` in this process that the destination should be (the caller
    passes it when moving to us); during the move we watch whether the archive's association
    reaches it, with which AE titles, and say so if the move fails. `local_port`: the port the
    archive should use to reach us (for the advice on an unknown destination); defaults to the
    receiver's port.
    """
    result = RetrieveResult()
    destination_ae = destination_ae.strip()
    watch = ArrivalWatch(receiver) if receiver is not None else None
    our_ae = receiver.settings.ae_title if receiver is not None else calling_ae
    port = local_port if local_port is not None else (receiver.settings.port if receiver is not None else None)
    host = None
    stream = _Stream()
    try:
        try:
            assoc = open_association(node, calling_ae, [request.move_model], timeout=timeout, journal=journal,
                                     service="move")
        except AssociationError as exc:
            result.log_ids.append(exc.log_id)
            result.fail(exc.kind, exc.message)
            if exc.kind == "rejected":
                sentence = refused_retrieve(node, calling_ae, timeout, "retrieve (C-MOVE)", exc.message)
                if sentence:
                    result.fail("rejected", sentence)
            return result
        result.associations = 1
        result.log_ids.append(assoc.log_id)
        try:
            stretch_timeouts(assoc, node, timeout)
            host = local_address(assoc)
            if unsupported(assoc, request.move_model):
                result.fail("status", f"the node does not offer C-MOVE with the {request.model} root model (it "
                            "answered 'not supported'); it may be a storage-only node")
                return result
            if not any(c.abstract_syntax == request.move_model for c in assoc.accepted_contexts):
                result.fail("retrieve-refused", f"the archive accepted the association but refused C-MOVE with "
                            f"the {request.model} root model from our AE title {calling_ae}")
                return result
            responses = assoc.send_c_move(request.identifier(), destination_ae, request.move_model, msg_id=1)
            stream = drive(assoc, responses, result, model=request.move_model, msg_id=1, cancel=cancel,
                           on_progress=on_progress)
        finally:
            if assoc.is_established:
                if stream.final:
                    assoc.release()
                else:
                    assoc.abort()
        if stream.empty and stream.pendings == 0 and result.failure == "aborted":
            sentence = refused_retrieve(node, calling_ae, timeout, "retrieve (C-MOVE)",
                                        "it aborted the association on our C-MOVE request")
            if sentence:
                result.fail("retrieve-refused", sentence)
        judge_final(result, "move")
        _explain_move(result, destination_ae, our_ae, host, port, watch.arrived() if watch else None)
        return result
    finally:
        if watch is not None:
            watch.close()
            result.arrivals = watch.describe(our_ae)
            if result.failure not in (None, "cancelled") and result.error is not None:
                text = "; ".join(result.arrivals)
                result.error += ". " + text[:1].upper() + text[1:]


def _explain_move(result: RetrieveResult, destination: str, our_ae: str, host: str | None,
                  port: int | None, arrived: bool | None) -> None:
    code = result.status
    nothing_moved = result.completed == 0 and result.failed == 0 and result.warning == 0
    # Orthanc 1.10 answers 0xC000 with no sub-operations both when it does not know the destination
    # and when it knows it but cannot associate with it; only our receiver's view tells them apart.
    orthanc_style = code == 0xC000 and nothing_moved
    if orthanc_style and arrived:
        result.fail("status", f"the archive reached {destination} but could not send to it ({describe_status(code)})")
        return
    unknown = code == UNKNOWN_DESTINATION or orthanc_style
    if not unknown:
        if result.failure in ("status", "suboperations") and destination != our_ae:
            result.error += (f"; check that {destination} is running at the address the archive has for it and "
                             "accepts the archive's AE title")
        return
    if destination == our_ae:
        where = f"{host or 'this machine'}:{port or 'our port'} (this machine's address and our port)"
    else:
        where = f"host:port ({destination}'s address and port)"
    prefix = ("" if code == UNKNOWN_DESTINATION else
              f"the archive refused the move ({describe_status(code)}), which is how Orthanc says that it does "
              "not know the destination (or cannot connect to it): ")
    suffix = ("" if code == UNKNOWN_DESTINATION else
              f" (if it is listed, check the host and port it has for {destination})")
    result.fail("unknown-destination", f"{prefix}the archive does not know AE title {destination}; add "
                f"{destination} -> {where} to its list of DICOM nodes{suffix}")


