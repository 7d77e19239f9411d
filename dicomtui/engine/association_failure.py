"""Why an association could not be had, in words, and the timeouts every SCU path applies.

No pynetdicom here: `dicomtui find` opens its own association (fast_association.py) and starts
faster without importing it.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

from ..config.model import DEFAULT_TIMEOUT, Node

# Our receive limit when the node does not set one: large enough for throughput, small
# enough that one PDU never costs much memory.
DEFAULT_MAX_PDU = 262_144

_SOP_CLASS_NAMES = {
    "1.2.840.10008.1.1": "Verification",
    "1.2.840.10008.5.1.4.1.2.1.1": "Patient Root Query/Retrieve Information Model - FIND",
    "1.2.840.10008.5.1.4.1.2.2.1": "Study Root Query/Retrieve Information Model - FIND",
}


class AssociationError(Exception):
    """No association: `kind` is refused, timeout, unresolved, unreachable, rejected or aborted.
    `transient`: rejected with A-ASSOCIATE-RJ result "rejected-transient" (busy, at its association limit):
    the peer may take us later, where a permanent rejection (our AE title unknown) will not change."""

    log_id = ""  # the association log's entry for the attempt, when one was kept

    def __init__(self, kind: str, message: str, *, transient: bool = False):
        self.kind = kind
        self.message = message
        self.transient = transient
        super().__init__(message)


@dataclass(frozen=True)
class Timeouts:
    connect: float
    acse: float
    dimse: float

    @classmethod
    def for_node(cls, node: Node, override: float | None = None) -> Timeouts:
        base = override or node.timeout or DEFAULT_TIMEOUT
        dimse = override or node.dimse_timeout or max(base, 30.0)
        return cls(connect=base, acse=base, dimse=dimse)


def resolve(host: str, port: int) -> str:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise AssociationError(
            "unresolved",
            f"the host name {host!r} could not be resolved ({exc.strerror}); check the spelling or use an IP address",
        ) from None
    return str(infos[0][4][0])


def failure(kind: str, node: Node, timeouts: Timeouts, detail: str = "") -> AssociationError:
    """The AssociationError for one way of failing to reach `node`, in words (shared by every SCU path)."""
    where = f"{node.host} port {node.port}"
    texts = {
        "acse-timeout": ("timeout", f"no answer within {timeouts.acse:g} s: {where} accepted the connection but did "
                         "not answer the association request (is a DICOM service listening on that port?)"),
        "refused": ("refused", f"connection refused by {where}: nothing is listening on that port; check the port "
                    "number and that the DICOM service is running"),
        "timeout": ("timeout", f"no answer within {timeouts.connect:g} s from {where}: the host is down or a "
                    "firewall drops the connection"),
        "unreachable": ("unreachable", f"{where} is unreachable from this machine (no route to host)"),
        "not-dicom": ("aborted", f"{where} answered with something that is not DICOM: another kind of service (a "
                      "web server?) listens on that port; check the port number"),
        "cannot-connect": ("unreachable", f"cannot connect to {where}: {detail}"),
        # A closed connection and an A-ABORT look alike in pynetdicom's logs; the advice is the same.
        "ended": ("aborted", f"{where} ended the association during negotiation without accepting or rejecting it "
                  "(it closed the connection or sent A-ABORT); it may accept only known IP addresses or AE titles, "
                  "or it is not a DICOM service"),
    }
    return AssociationError(*texts[kind])


def services_refused(assoc, calling_ae: str) -> AssociationError:
    refused = assoc.rejected_contexts
    names = ", ".join(sorted({_name(c.abstract_syntax) for c in refused})) or "the services we asked for"
    if refused and all(c.result == 0x03 for c in refused):
        return AssociationError("unsupported", f"the node does not offer {names} (it answered 'not supported'); "
                                "it may be a storage-only node")
    return AssociationError("rejected", f"the node accepted the association but refused {names} for our AE "
                            f"title {calling_ae}")


def unsupported(assoc, abstract_syntax: str) -> bool:
    """True when the peer refused our context for `abstract_syntax` as "abstract syntax not
    supported" (result 0x03): it does not offer that service at all, whoever asks. Any other
    refusal may depend on who asks (our AE title)."""
    return any(c.abstract_syntax == abstract_syntax and c.result == 0x03 for c in assoc.rejected_contexts)


def _name(uid: str) -> str:
    if uid in _SOP_CLASS_NAMES:
        return _SOP_CLASS_NAMES[uid]
    from pydicom.uid import UID

    return UID(uid).name
