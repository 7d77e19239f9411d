"""Storage associations served without pynetdicom's reactors.

pynetdicom hands every PDU between two threads that poll each other with 1 ms sleeps and
decodes every fragment in Python: a receiver built on it reached a tenth of dcmtk storescp's
rate. Most associations a receiver sees only store or echo (modalities, a PACS forwarding,
the sub-associations of a C-MOVE); those are served here. The A-ASSOCIATE-RQ is peeked, not
read, so that anything else (Query/Retrieve, a request we would reject, something we cannot
parse) is handed to pynetdicom untouched and treated exactly as before. Negotiation follows
pynetdicom's negotiate_as_acceptor (wire/acceptor.py), so both paths accept the same things.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pynetdicom import PYNETDICOM_IMPLEMENTATION_UID

from ..association_log import begin
from ..wire import commands, pdu
from ..wire.acceptor import ACCEPTED, Request, acceptance, negotiate, read_request
from ..wire.negotiation import APPLICATION_CONTEXT, NegotiationError
from ..wire.part10 import IMPLEMENTATION_VERSION, file_header
from ..wire.reader import PeerClosed, SocketReader
from .events import ReceiverProblem
from .spool import Spool, _lenient_uid

if TYPE_CHECKING:
    from .service import Receiver

NETWORK_TIMEOUT = 120.0  # as the pynetdicom path's ae.network_timeout
REQUEST_WAIT = 30.0  # for the A-ASSOCIATE-RQ to arrive whole
LARGEST_REQUEST = 65_536  # a bigger A-ASSOCIATE-RQ is odd: pynetdicom (and its PDU limit) handles it
CANNOT_UNDERSTAND = 0xC000
SOP_CLASS_NOT_SUPPORTED = 0x0122


class ProtocolError(Exception):
    """The peer broke the DICOM protocol: we abort the association."""


def peek_request(sock: socket.socket) -> bytes | None:
    """The whole A-ASSOCIATE-RQ PDU, still unread in the socket; None when it is not one we take."""
    sock.settimeout(REQUEST_WAIT)
    try:
        head = sock.recv(6, socket.MSG_PEEK | socket.MSG_WAITALL)
        if len(head) < 6:
            return None
        kind, length = pdu.header(head)
        if kind != pdu.A_ASSOCIATE_RQ or length > LARGEST_REQUEST:
            return None
        data = sock.recv(6 + length, socket.MSG_PEEK | socket.MSG_WAITALL)
    except OSError:  # timeout or reset: pynetdicom reports it as it always has
        return None
    return data if len(data) == 6 + length else None


@dataclass(frozen=True)
class Accepted:
    abstract_syntax: str
    transfer_syntax: str


class StorageAssociation:
    """One accepted association that stores and echoes; run() serves it to the end."""

    def __init__(self, receiver: Receiver, sock: socket.socket, address: tuple, request: Request,
                 request_length: int, results: list[tuple[int, int, str]]):
        self.receiver = receiver
        self.sock = sock
        self.peer = f"{address[0]}:{address[1]}"
        self.request = request
        self.calling_ae = request.calling_ae
        self.called_ae = request.called_ae
        self._request_length = request_length
        self._results = results
        abstracts = {context_id: abstract for context_id, abstract, _ in request.contexts}
        self._contexts = {context_id: Accepted(abstracts[context_id], syntax)
                          for context_id, result, syntax in results if result == ACCEPTED}
        self._send_lock = threading.Lock()
        self._command = bytearray()
        self._pending: tuple[commands.Command, int, Spool | None] | None = None
        self._record = None
        self.log = begin(receiver.journal, outgoing=False, service="store", calling_ae=self.calling_ae,
                         called_ae=self.called_ae, peer=self.peer)
        self.log.propose(request.contexts)
        for context_id, result, syntax in results:
            self.log.answer(context_id, result, syntax if result == ACCEPTED else "")

    # -- life ------------------------------------------------------------------------------
    def run(self) -> None:
        settings = self.receiver.settings
        self.sock.recv(self._request_length, socket.MSG_WAITALL)  # the peeked A-ASSOCIATE-RQ
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.settimeout(NETWORK_TIMEOUT)
        self._record = self.receiver.fast_opened(self)
        if self._record is None:  # over the configured maximum of associations
            self._send(pdu.reject(2, 3, 2))  # transient, presentation layer, local limit exceeded
            self.log.finish("rejected", f"we rejected it: {settings.max_associations} associations were open "
                            "already ([receiver] max_associations)")
            return
        how, reason = "aborted", ""
        try:
            self._send(acceptance(self.request, self._results, settings.max_pdu, PYNETDICOM_IMPLEMENTATION_UID,
                                  IMPLEMENTATION_VERSION))
            how = self._serve(SocketReader(self.sock), settings.pdu_limit)
        except PeerClosed:
            reason = "the peer closed the connection without releasing the association"
        except ProtocolError as exc:
            reason = f"the peer broke the DICOM protocol: {exc}; we aborted"
            self.receiver.emit(ReceiverProblem(f"{self.calling_ae} from {self.peer} broke the DICOM protocol: "
                                               f"{exc}; the association was aborted"))
            self._send(pdu.abort(pdu.SERVICE_PROVIDER, pdu.INVALID_PARAMETER_VALUE))
        except TimeoutError:
            reason = f"the peer sent nothing for {NETWORK_TIMEOUT:.0f} s; we aborted"
            self.receiver.emit(ReceiverProblem(f"{self.calling_ae} from {self.peer} sent nothing for "
                                               f"{NETWORK_TIMEOUT:.0f} s; the association was aborted"))
            self._send(pdu.abort())
        except OSError as exc:
            reason = f"connection error: {exc.strerror or exc}"  # a reset, or abort() from another thread
        finally:
            self.receiver.fast_closed(self, "released" if how == "released" else "aborted")
            self.log.finish(how, reason)

    def abort(self) -> None:
        """From another thread (the receiver stopping): A-ABORT, and the serving thread wakes up."""
        self._send(pdu.abort())
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _send(self, data: bytes) -> None:
        with self._send_lock:
            try:
                self.sock.sendall(data)
            except OSError:
                pass

    # -- PDUs --------------------------------------------------------------------------------
    def _serve(self, reader: SocketReader, limit: int) -> str:
        while True:
            kind, length = pdu.header(reader.read(6))
            if kind == pdu.P_DATA_TF:
                if length > limit:
                    self.receiver.emit(ReceiverProblem(
                        f"{self.peer} announced a PDU of {length} bytes, over our limit of {limit}; "
                        "the connection was closed"))
                    raise ProtocolError(f"a PDU of {length} bytes")
                self._p_data(reader, length)
            elif kind == pdu.A_RELEASE_RQ:
                reader.read(min(length, 4))
                self._discard_pending()
                self._send(pdu.release_rp())
                self._wait_for_close(reader)
                return "released"
            elif kind == pdu.A_ABORT:
                return "aborted by the peer"
            else:
                raise ProtocolError(f"an unexpected PDU of type 0x{kind:02X}")

    def _wait_for_close(self, reader: SocketReader) -> None:
        # The requestor closes the connection after our A-RELEASE-RP (PS3.8 7.2).
        self.sock.settimeout(2.0)
        try:
            while True:
                reader.read(1)
        except (PeerClosed, OSError):
            pass

    def _p_data(self, reader: SocketReader, length: int) -> None:
        while length > 0:
            if length < 6:
                raise ProtocolError("a P-DATA-TF PDU ends inside a fragment header")
            size, context_id, control = pdu.pdv_header(reader.read(6))
            length -= 6 + size
            if size < 0 or length < 0:
                raise ProtocolError("a fragment runs past the end of its PDU")
            if context_id not in self._contexts:
                raise ProtocolError(f"a fragment on presentation context {context_id}, which was not accepted")
            if control & 0x01:
                self._command += reader.read(size)
                if control & 0x02:
                    self._on_command(context_id)
                continue
            if self._pending is None:
                raise ProtocolError("data set bytes without a C-STORE request before them")
            spool = self._pending[2]
            reader.pass_through(size, spool.write if spool is not None else _ignore)
            if control & 0x02:
                self._finish_store()

    # -- DIMSE ---------------------------------------------------------------------------------
    def _on_command(self, context_id: int) -> None:
        try:
            command = commands.parse(bytes(self._command))
        except commands.CommandError as exc:
            raise ProtocolError(str(exc)) from None
        finally:
            self._command.clear()
        self.log.message(False, command.field, command.message_id, None,
                         f"SOP Instance {command.sop_instance_uid}" if command.sop_instance_uid else "")
        if command.field == commands.C_ECHO_RQ:
            self._respond(context_id, commands.echo_response(command.message_id, command.sop_class_uid),
                          commands.C_ECHO_RSP, command.message_id, 0x0000)
        elif command.field == commands.C_STORE_RQ:
            if not command.has_data_set:
                reason = "C-STORE request without a data set"
                self._respond(context_id, commands.store_response(
                    command.message_id, command.sop_class_uid, command.sop_instance_uid, CANNOT_UNDERSTAND, reason),
                    commands.C_STORE_RSP, command.message_id, CANNOT_UNDERSTAND, reason)
                return
            self._pending = (command, context_id, self._open_spool(command, context_id))
        elif command.field == commands.C_CANCEL_RQ:
            pass  # nothing of ours to cancel on a storage association
        else:
            raise ProtocolError(f"a DIMSE command 0x{command.field:04X} on a storage association")

    def _open_spool(self, command: commands.Command, context_id: int) -> Spool | None:
        if not (_lenient_uid(command.sop_instance_uid)[0] and _lenient_uid(command.sop_class_uid)[0]):
            return None  # answered with a failure once its data set has been read past
        spool = Spool(self.receiver.incoming, self.receiver.settings.min_free_bytes, self.receiver.settings.fsync)
        spool.write(file_header(command.sop_class_uid, command.sop_instance_uid,
                                self._contexts[context_id].transfer_syntax, self.calling_ae))
        self.receiver.spool_started(self, spool)
        return spool

    def _finish_store(self) -> None:
        command, context_id, spool = self._pending
        self._pending = None
        accepted = self._contexts[context_id]
        if spool is None:
            status, reason = self.receiver.refuse(self._record, self.calling_ae, command.sop_instance_uid,
                                                  CANNOT_UNDERSTAND, "the request's SOP Class or Instance UID "
                                                  "is not a valid UID")
        elif command.sop_class_uid != accepted.abstract_syntax:
            status, reason = self.receiver.refuse(self._record, self.calling_ae, command.sop_instance_uid,
                                                  SOP_CLASS_NOT_SUPPORTED,  # the sender sees 64 characters
                                                  "SOP Class differs from its presentation context's",
                                                  spool)
        else:
            status, reason = self.receiver.store(self._record, self.calling_ae, self.peer, command.sop_class_uid,
                                                 command.sop_instance_uid, spool, accepted.transfer_syntax)
        self._respond(context_id, commands.store_response(command.message_id, command.sop_class_uid,
                                                          command.sop_instance_uid, status, reason),
                      commands.C_STORE_RSP, command.message_id, status, reason)

    def _discard_pending(self) -> None:
        if self._pending is not None and self._pending[2] is not None:
            self._pending[2].discard()
        self._pending = None

    def _respond(self, context_id: int, command_set: bytes, field: int, message_id: int, status: int,
                 reason: str = "") -> None:
        """Send a response `command_set`; the rest is what the association log notes of it."""
        self._send(pdu.p_data(context_id, command_set, command=True))
        self.log.message(True, field, message_id, status, f"comment: {reason}" if reason and status else "")

    @property
    def busy(self) -> bool:
        return self._pending is not None


def _ignore(_data: memoryview) -> None:
    pass


def claim(receiver: Receiver, sock: socket.socket, address: tuple, supported: dict[str, list[str]],
          other_services: frozenset[str]) -> StorageAssociation | None:
    """A StorageAssociation for this connection, or None to leave it to pynetdicom.

    We take only what pynetdicom would accept and that needs nothing but C-STORE and C-ECHO:
    a request for any other service we offer, or one that the AE title policy rejects, goes
    to pynetdicom, which answers and logs it as before.
    """
    data = peek_request(sock)
    if data is None:
        return None
    try:
        request = read_request(data[6:])
    except NegotiationError:  # whatever we cannot parse, pynetdicom reports itself
        return None
    proposed = request.contexts
    if not proposed or any(abstract in other_services for _, abstract, _ in proposed):
        return None
    if request.roles or request.application_context != APPLICATION_CONTEXT:
        return None  # role selection (a C-GET's), or not DICOM's context: pynetdicom answers those
    settings = receiver.settings
    allowed = [ae.strip() for ae in settings.allowed_calling_aes()]
    if allowed and request.calling_ae not in allowed:
        return None
    if request.called_ae != settings.ae_title.strip():
        return None
    return StorageAssociation(receiver, sock, address, request, len(data), negotiate(proposed, supported))
