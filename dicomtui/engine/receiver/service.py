"""The receiver: a Storage SCP and the local archive's Query/Retrieve SCP on one AE.

One object owns the listening socket and everything it receives. The app or `dicomtui
serve` starts and stops it; anything that wants to watch subscribes to its events, which
are delivered in pynetdicom's threads (a face hands them on to its own thread).
"""

from __future__ import annotations

import errno
import itertools
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pynetdicom import AE, evt
from pynetdicom.association import Association

from ...dicom.quick_header import Header
from ...dicom.quick_header import read as quick_read
from ...store.archive_index import ArchiveIndex, Received
from .. import pynetdicom_setup  # noqa: F401 - settings on import
from ..association import tune_socket
from ..association_log import Journal
from ..association_log_pynetdicom import ScpRecorders
from ..wire.acceptor import supported_map
from .contexts import GET, QUERY_RETRIEVE, add_supported_contexts
from .events import (
    AssociationClosed,
    AssociationOpened,
    InstanceRefused,
    InstanceStored,
    ReceiverEvent,
    ReceiverProblem,
)
from .fast_store import StorageAssociation, claim
from .index_writer import IndexWriter
from .server import start as start_server
from .settings import ReceiverSettings
from .spool import INCOMING, Spool, install
from .storing import path_for, place, read_header, recover_incoming, recovery_report
from .tls import DeferredHandshake, handshake, server_context

if TYPE_CHECKING:
    from .fed_server import Feed

OUT_OF_RESOURCES = 0xA700
DATA_SET_DOES_NOT_MATCH = 0xA900
CANNOT_UNDERSTAND = 0xC000


class ReceiverStartError(Exception):
    """The receiver could not start; str() says why in words."""


@dataclass
class _Association:
    id: int
    calling_ae: str
    peer: str
    log_id: str = ""
    started: float = field(default_factory=time.monotonic)
    instances: int = 0
    bytes: int = 0
    spool: Spool | None = None  # the instance being received right now


@dataclass
class Counters:
    started_at: float = 0.0
    associations: int = 0
    instances: int = 0
    bytes: int = 0
    refused: int = 0


class Receiver:
    def __init__(self, settings: ReceiverSettings, journal: Journal | None = None):
        """`journal`: where the association log's entries go (None: none kept)."""
        self.settings = settings
        self.journal = journal
        self._scp_log = ScpRecorders(journal)
        self.storage = settings.storage
        self.incoming = settings.storage / INCOMING
        self.index: ArchiveIndex | None = None
        self.counters = Counters()
        self._listeners: list[Callable[[ReceiverEvent], None]] = []
        self._ae: AE | None = None
        self._server = None
        self._associations: dict[Association, _Association] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._writer: IndexWriter | None = None
        self._placed: dict[str, Path] = {}
        self._tls_server = None

    # -- watching --------------------------------------------------------------------
    def subscribe(self, listener: Callable[[ReceiverEvent], None]) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Callable[[ReceiverEvent], None]) -> None:
        try:
            self._listeners.remove(listener)
        except ValueError:
            pass

    def _emit(self, event: ReceiverEvent) -> None:
        for listener in list(self._listeners):
            listener(event)

    emit = _emit

    @property
    def running(self) -> bool:
        return self._server is not None

    def active(self) -> list[_Association]:
        with self._lock:
            return list(self._associations.values())

    # -- start and stop ----------------------------------------------------------------
    def start(self, feed: Feed | None = None) -> None:
        """Listen on the configured port; or, as a worker of `dicomtui serve --workers`, serve the
        connections `feed` brings from the parent, which has swept '.incoming' for all workers
        (a worker must not: what is there may be another worker's instance in flight)."""
        settings = self.settings
        try:
            self.storage.mkdir(parents=True, exist_ok=True)
            self.index = ArchiveIndex(self.storage)
            if feed is None:
                for problem in recovery_report(recover_incoming(self.storage, self.incoming, self.index,
                                                                settings.duplicates), self.incoming):
                    self._emit(ReceiverProblem(problem))
        except OSError as exc:
            raise ReceiverStartError(f"cannot use the storage folder {self.storage}: {exc.strerror}") from None
        self._writer = IndexWriter(self.index, lambda message: self._emit(ReceiverProblem(message)))
        install()
        ae = AE(ae_title=settings.ae_title)
        ae.dicomtui_receiver = self  # found by the spool factory from pynetdicom's threads
        add_supported_contexts(ae)
        ae.maximum_associations = settings.max_associations
        ae.maximum_pdu_size = settings.max_pdu
        ae.require_called_aet = True
        ae.require_calling_aet = settings.allowed_calling_aes()
        ae.network_timeout = 120
        ae.dimse_timeout = 120
        handlers = [
            (evt.EVT_CONN_OPEN, self._on_connection),
            (evt.EVT_ACCEPTED, self._on_accepted),
            (evt.EVT_REJECTED, self._on_rejected),
            (evt.EVT_CONN_CLOSE, self._on_closed),
            (evt.EVT_C_STORE, self._on_store),
            *self._qr_handlers(),
            *self._scp_log.handlers(),
        ]
        self._supported = supported_map(ae.supported_contexts)  # once: the fast path looks at it per association
        try:
            address = (settings.bind, settings.port)
            self._server = (start_server(ae, address, handlers, self) if feed is None
                            else feed.start(ae, address, handlers, self))
        except OSError as exc:
            raise ReceiverStartError(_explain_bind_error(exc, settings.bind, settings.port)) from None
        if settings.tls_port is not None:
            self._tls_server = self._start_tls(ae, handlers)
        self._ae = ae
        self.counters = Counters(started_at=time.time())

    def _start_tls(self, ae: AE, handlers: list):
        settings = self.settings
        try:
            context = server_context(settings.tls_cert, settings.tls_key, settings.tls_ca)
        except (OSError, ssl.SSLError) as exc:
            self._server.shutdown()
            self._server = None
            raise ReceiverStartError(f"cannot use the TLS certificate or key: {exc}") from None
        try:
            return ae.start_server((settings.bind, settings.tls_port), block=False, evt_handlers=handlers,
                                   ssl_context=DeferredHandshake(context))
        except OSError as exc:
            self._server.shutdown()
            self._server = None
            raise ReceiverStartError(_explain_bind_error(exc, settings.bind, settings.tls_port)) from None

    def _qr_handlers(self) -> list:
        from .qr import query_retrieve_handlers

        return query_retrieve_handlers(self)

    def stop(self, grace: float = 30.0) -> None:
        """Stop accepting, let instances in flight finish (up to `grace` seconds), then close."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        if self._tls_server is not None:
            self._tls_server.shutdown()
            self._tls_server = None
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            with self._lock:
                busy = [a for a in self._associations.values() if a.spool is not None]
                left = list(self._associations)
            if not left or not busy:
                break
            time.sleep(0.05)
        for assoc in left:
            assoc.abort()
        if self._ae is not None:
            self._ae.shutdown()
        self._writer.close()  # everything received is in the index before stop() returns

    def wait_indexed(self) -> None:
        """Return once every instance stored so far is in the index."""
        self._writer.flush()

    # -- association life -----------------------------------------------------------------
    def _on_connection(self, event: evt.Event) -> None:
        sock = event.assoc.dul.socket
        raw = sock.socket if sock else None
        if isinstance(raw, ssl.SSLSocket):
            try:
                handshake(raw, self.settings.tls_handshake_seconds)
            except (OSError, ssl.SSLError) as exc:
                self._emit(ReceiverProblem(f"TLS handshake with {event.address[0]} failed: {exc}"))
                sock.close()
                return
        if raw is not None:
            tune_socket(sock)
            _limit_pdu_length(sock, self.settings.pdu_limit, self._emit, event.address)

    def _on_accepted(self, event: evt.Event) -> None:
        assoc = event.assoc
        recorder = self._scp_log.recorder_for(assoc)
        self._opened(assoc, assoc.requestor.ae_title, assoc.acceptor.ae_title,
                     f"{assoc.requestor.address}:{assoc.requestor.port}", log_id=recorder.id if recorder else "")

    def _opened(self, key, calling: str, called: str, peer: str, limit: int | None = None,
                log_id: str = "") -> _Association | None:
        record = _Association(next(self._ids), calling, peer, log_id)
        with self._lock:
            if limit is not None and len(self._associations) >= limit:
                return None
            self._associations[key] = record
        self.counters.associations += 1
        self._emit(AssociationOpened(record.id, calling, called, peer, log_id))
        return record

    # -- the fast path for storage associations (fast_store.py) -----------------------------
    def claim(self, sock, address) -> StorageAssociation | None:
        return claim(self, sock, address, self._supported, _OTHER_SERVICES)

    def fast_opened(self, association: StorageAssociation) -> _Association | None:
        record = self._opened(association, association.calling_ae, association.called_ae, association.peer,
                              limit=self.settings.max_associations, log_id=association.log.id)
        if record is None:
            self._emit(AssociationClosed(next(self._ids), "rejected", 0, 0, 0.0,
                                         f"{association.calling_ae} from {association.peer}: already "
                                         f"{self.settings.max_associations} associations, the configured maximum",
                                         association.log.id))
        return record

    def fast_closed(self, association: StorageAssociation, how: str) -> None:
        self._closed(association, how)

    def _on_rejected(self, event: evt.Event) -> None:
        assoc = event.assoc
        called = assoc.acceptor.ae_title if assoc.requestor.primitive is None else (
            assoc.requestor.primitive.called_ae_title)
        recorder = self._scp_log.recorder_for(assoc)
        self._emit(AssociationClosed(next(self._ids), "rejected", 0, 0, 0.0,
                                     f"{assoc.requestor.ae_title} from {assoc.requestor.address} called {called}",
                                     recorder.id if recorder else ""))

    def _on_closed(self, event: evt.Event) -> None:
        assoc = event.assoc
        # This runs in the thread that saw the connection close; pynetdicom sets is_aborted later,
        # in the association's thread (19 of 20 aborts read as released), but is_released before.
        self._closed(assoc, "released" if assoc.is_released else "aborted")

    def _closed(self, key, how: str) -> None:
        with self._lock:
            record = self._associations.pop(key, None)
        if record is None:
            return
        if record.spool is not None:
            # The peer went away in the middle of an instance: nothing of it may remain.
            record.spool.discard()
        self._emit(AssociationClosed(record.id, how, record.instances, record.bytes,
                                     time.monotonic() - record.started, log_id=record.log_id))

    def spool_started(self, assoc: Association, spool: Spool) -> None:
        with self._lock:
            record = self._associations.get(assoc)
            if record is not None:
                record.spool = spool

    # -- C-STORE ------------------------------------------------------------------------
    def _on_store(self, event: evt.Event) -> int:
        """pynetdicom's C-STORE handler: associations that also query or retrieve come this way."""
        request = event.request
        with self._lock:
            record = self._associations.get(event.assoc)
        calling = record.calling_ae if record else event.assoc.requestor.ae_title
        spool = getattr(request, "_dataset_file", None)  # pynetdicom keeps our Spool here
        if not isinstance(spool, Spool):
            return self.refuse(record, calling, str(request.AffectedSOPInstanceUID), OUT_OF_RESOURCES,
                                "the receiver's spool was not used (another receiver in this process?)")[0]
        return self.store(record, calling, f"{event.assoc.requestor.address}:{event.assoc.requestor.port}",
                          str(request.AffectedSOPClassUID), str(request.AffectedSOPInstanceUID), spool,
                          str(event.context.transfer_syntax))[0]

    def store(self, record: _Association | None, calling: str, peer: str, sop_class: str, sop_instance: str,
              spool: Spool, transfer_syntax: str) -> tuple[int, str]:
        """Put one received data set (complete in `spool`) into the archive: (status, reason)."""
        try:
            if spool.error:
                return self.refuse(record, calling, sop_instance, OUT_OF_RESOURCES, spool.error)
            temp = Path(spool.name)
            try:
                spool.flush()
                ds = quick_read(spool.head, transfer_syntax) or read_header(temp)
                header = Header.from_dataset(ds)
            except Exception as exc:  # a data set pydicom cannot parse: refuse it, keep running
                return self.refuse(record, calling, sop_instance, CANNOT_UNDERSTAND,
                                    f"the data set could not be read: {exc}")
            missing = [k for k, v in (("StudyInstanceUID", header.study_uid), ("SeriesInstanceUID", header.series_uid))
                       if not v]
            if missing:
                # Nothing could find it again: no C-FIND, C-MOVE or reindex places it. Say so to the sender.
                return self.refuse(record, calling, sop_instance, DATA_SET_DOES_NOT_MATCH,
                                    f"the data set has no {' and no '.join(missing)}, so it cannot be archived")
            try:
                spool.complete()
                placed = place(temp, self.storage, path_for(header.study_uid, header.series_uid, sop_instance),
                               self.settings.duplicates, existing=self._stored_path(sop_instance))
                size = (self.storage / placed.path).stat().st_size
            except OSError as exc:
                return self.refuse(record, calling, sop_instance, OUT_OF_RESOURCES,
                                    f"cannot write to the storage folder: {exc.strerror or exc}")
            self._remember(sop_instance, placed.path)
            if placed.duplicate != "kept-first":  # the kept file is indexed already, with its own header
                self._writer.put(ds, Received(path=placed.path, size=size, transfer_syntax=transfer_syntax,
                                              calling_ae=calling, peer=peer, received_at=time.time()))
            if record is not None:
                record.instances += 1
                record.bytes += size
            self.counters.instances += 1
            self.counters.bytes += size
            self._emit(InstanceStored(
                record.id if record else 0, calling, sop_class, sop_instance,
                str(placed.path), size, header.patient, header.study_description, header.modality,
                placed.duplicate,
            ))
            return 0x0000, ""
        finally:
            if record is not None:
                record.spool = None
            spool.discard()

    def _stored_path(self, sop_instance: str) -> Path | None:
        """Where this SOP Instance is already, if anywhere: a re-sent instance may come in
        another series or study, and must not leave its old copy behind."""
        with self._lock:
            known = self._placed.get(sop_instance)
        if known is not None:
            return known
        found = self.index.path_of(sop_instance)
        return found.relative_to(self.storage) if found is not None else None

    def _remember(self, sop_instance: str, path: Path) -> None:
        # The index is written in the background; until then this answers _stored_path.
        with self._lock:
            self._placed[sop_instance] = path
            if len(self._placed) > 100_000:
                self._placed.pop(next(iter(self._placed)))

    def refuse(self, record: _Association | None, calling: str, sop_instance: str, status: int, reason: str,
               spool: Spool | None = None) -> tuple[int, str]:
        """Count and report an instance we do not store; its spool, if any, goes."""
        if spool is not None:
            if record is not None:
                record.spool = None
            spool.discard()
        self.counters.refused += 1
        self._emit(InstanceRefused(record.id if record else 0, calling, sop_instance, status, reason))
        return status, reason


# Services the fast path leaves to pynetdicom: an association that proposes any of them goes there whole.
_OTHER_SERVICES = frozenset(str(uid) for uid in QUERY_RETRIEVE + GET)


def _limit_pdu_length(sock, limit: int, emit: Callable[[ReceiverEvent], None], address) -> None:
    """Refuse a PDU longer than `limit` before reading it: pynetdicom would otherwise read
    whatever length a peer announces into memory, even before association."""
    receive = sock.recv

    def bounded(bufsize: int) -> bytearray:
        if bufsize > limit:
            emit(ReceiverProblem(f"{address[0]} announced a PDU of {bufsize} bytes, over our limit of "
                                 f"{limit}; the connection was closed"))
            raise OSError(errno.EMSGSIZE, "PDU too large")
        return receive(bufsize)

    sock.recv = bounded


def _explain_bind_error(exc: OSError, bind: str, port: int) -> str:
    if exc.errno == errno.EADDRINUSE:
        return (f"port {port} is already in use on {bind}: another DICOM receiver (or another dicomtui) "
                "is listening there; stop it or choose another port")
    if exc.errno == errno.EACCES:
        return (f"no permission to listen on port {port}: ports below 1024 need root or "
                "CAP_NET_BIND_SERVICE; use a port such as 11112")
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"{bind} is not an address of this machine; use 0.0.0.0 to listen on all addresses"
    return f"cannot listen on {bind} port {port}: {exc.strerror}"
