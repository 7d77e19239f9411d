"""One instance over an established FastAssociation: the context to use, the C-STORE-RQ with its
data set (as it is on disk, or converted), and the C-STORE-RSP's status in words.

Whatever goes wrong comes back as the instance's outcome, never as an exception; when it
leaves the association unusable (a peer abort, a data set cut short), the association is
aborted and `assoc.is_established` tells the caller to stop using it.
"""

from __future__ import annotations

import threading
from io import BytesIO

from ...dicom.status import describe_status
from ..fast_association import FastAssociation, PeerAborted
from ..wire import commands
from .convert import ConversionError, convert
from .plan import FALLBACK
from .result import FAILED, NOT_SENT, SENT, InstanceOutcome
from .scan import DicomFile
from .stream import Cancelled, SourceEnded, send_store


class Contexts:
    """The accepted presentation contexts of one association, looked up by SOP class and syntax."""

    def __init__(self, assoc: FastAssociation):
        self.exact: dict[tuple[str, str], int] = {}
        self.by_class: dict[str, list[tuple[int, str]]] = {}
        for c in assoc.accepted_contexts:
            syntax = c.transfer_syntax[0]
            self.exact.setdefault((c.abstract_syntax, syntax), c.context_id)
            self.by_class.setdefault(c.abstract_syntax, []).append((c.context_id, syntax))
        self.refused = {c.abstract_syntax: c.result for c in assoc.rejected_contexts}

    def for_file(self, f: DicomFile) -> tuple[int, str] | str:
        """(context ID, syntax to send in) or, when the peer takes no form of the file, why not."""
        own = self.exact.get((f.sop_class_uid, f.transfer_syntax))
        if own is not None:
            return own, f.transfer_syntax
        for syntax in FALLBACK:  # Explicit VR first: it keeps the VRs pydicom read
            context_id = self.exact.get((f.sop_class_uid, syntax))
            if context_id is not None:
                return context_id, syntax
        name = _name(f.sop_class_uid)
        if f.sop_class_uid in self.by_class:
            syntaxes = ", ".join(_name(s) for _, s in self.by_class[f.sop_class_uid])
            return f"the peer accepts {name} only as {syntaxes}, not {_name(f.transfer_syntax)}"
        if self.refused.get(f.sop_class_uid) == 0x03:
            return f"the peer does not accept {name} instances (SOP class not supported)"
        return f"the peer refused every presentation context we proposed for {name}"


def store_file(assoc: FastAssociation, contexts: Contexts, f: DicomFile, message_id: int,
               cancel: threading.Event | None = None) -> InstanceOutcome:
    def outcome(state: str, kind: str = "", error: str = "", status: int | None = None, sent: int = 0,
                converted: str = "") -> InstanceOutcome:
        return InstanceOutcome(f.path, f.sop_instance_uid, state, status, error, sent, converted, kind)

    chosen = contexts.for_file(f)
    if isinstance(chosen, str):
        return outcome(FAILED, "unsupported", chosen)
    context_id, syntax = chosen
    converted = "" if syntax == f.transfer_syntax else syntax
    try:
        if converted:
            try:
                data = convert(f.path, syntax)
            except ConversionError as exc:
                accepted = ", ".join(_name(s) for _, s in contexts.by_class.get(f.sop_class_uid, []))
                return outcome(FAILED, "conversion", f"the peer accepts {_name(f.sop_class_uid)} only as "
                               f"{accepted}, and the file ({_name(f.transfer_syntax)}) could not be converted: {exc}")
            source, length = BytesIO(data), len(data)
        else:
            source, length = open(f.path, "rb", buffering=0), f.data_set_bytes  # closed by the with below
            source.seek(f.data_offset)
    except OSError as exc:
        return outcome(FAILED, "unreadable", f"cannot read the file ({exc.strerror or exc})")
    command = commands.store_request(message_id, f.sop_class_uid, f.sop_instance_uid)
    assoc.sock.settimeout(assoc.timeouts.dimse)
    try:
        with source:
            send_store(assoc.sock, context_id, command, source, length, assoc.peer_max_pdu, cancel)
        assoc.sent(commands.Command(commands.C_STORE_RQ, message_id, f.sop_class_uid, f.sop_instance_uid, True))
        message = assoc.receive()
    except Cancelled:
        assoc.abort("cancelled in the middle of an instance")
        return outcome(NOT_SENT, "cancelled", "cancelled while it was being sent (the association was aborted)")
    except SourceEnded:
        assoc.abort(f"{f.path} ended before its data set did")
        return outcome(FAILED, "unreadable", "the file is shorter than when it was scanned (truncated or changed "
                       "since); the association was aborted")
    except PeerAborted as exc:
        return outcome(FAILED, "aborted", f"{_peer(exc)} before answering for this instance")
    except TimeoutError:
        assoc.abort(f"no C-STORE response within {assoc.timeouts.dimse:g} s")
        return outcome(FAILED, "timeout",
                       f"no C-STORE response within {assoc.timeouts.dimse:g} s; the association was aborted")
    except OSError as exc:
        assoc.abort()
        return outcome(FAILED, "aborted", f"the connection broke while sending this instance ({exc.strerror or exc})")
    answer = message.command
    if answer.field != commands.C_STORE_RSP or answer.responding_to not in (0, message_id) or answer.status is None:
        assoc.abort("the peer answered a C-STORE with something other than its response")
        return outcome(FAILED, "aborted", "the peer answered the C-STORE with something other than its response; the "
                               "association was aborted")
    code = answer.status
    words = describe_status(code) + (f": {answer.error_comment}" if answer.error_comment else "") if code else ""
    if code == 0x0000 or code == 0x0001 or 0xB000 <= code <= 0xBFFF:
        return outcome(SENT, "", words, code, length, converted)
    return outcome(FAILED, "status", words, code, 0, converted)


def _peer(exc: PeerAborted) -> str:
    # FastAssociation's words speak of "the archive" (it was written for C-FIND); a send's peer may be anything.
    return str(exc).replace("the archive", "the peer")


def _name(uid: str) -> str:
    from pydicom.uid import UID

    name = UID(uid).name
    return name if name != uid else uid
