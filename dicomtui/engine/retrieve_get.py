"""C-GET as SCU straight into the local archive.

The archive sends the instances back over our own association as C-STORE sub-operations, so
we must (1) propose a storage presentation context for every SOP class it will send, (2) ask
for the SCP role on them (SCP/SCU role selection: without it Orthanc fails every sub-operation
with 0xA702), and (3) store what arrives with the receiver's rules: safe names from UIDs, the
duplicate policy, a rename from the storage folder's '.incoming', the index.

An association has at most 128 presentation contexts. We learn the SOP classes the selection
contains with an IMAGE-level C-FIND first and propose only those; when that fails we propose
pynetdicom's standard list of 120. When the classes need more contexts than fit, the
instances are fetched over several associations, each asking by SOP Instance UID for the
instances of the classes it proposes.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from pydicom.dataset import Dataset
from pynetdicom import StoragePresentationContexts, build_context, build_role, evt
from pynetdicom.status import code_to_category

from ..config.model import Node
from ..store.archive_index import ArchiveIndex, Received
from .association import AssociationError, open_association, unsupported
from .association_log import Journal
from .receiver.contexts import LOSSLESS, LOSSY, UNCOMPRESSED
from .receiver.spool import INCOMING
from .receiver.storing import complete_path, new_temp, place, read_header, relative_path
from .retrieve import (
    ProgressCallback,
    RetrieveProgress,
    RetrieveRequest,
    RetrieveResult,
    drive,
    judge_final,
    refused_retrieve,
    stretch_timeouts,
)

MAX_CONTEXTS = 128  # per association (PS3.8: presentation context IDs are odd numbers 1..255)
OUT_OF_RESOURCES = 0xA700
DATA_SET_DOES_NOT_MATCH = 0xA900
CANNOT_UNDERSTAND = 0xC000
STANDARD_CLASSES = [str(c.abstract_syntax) for c in StoragePresentationContexts]


@dataclass(frozen=True)
class Match:
    series_uid: str
    sop_instance_uid: str
    sop_class_uid: str


def find_instances(node: Node, calling_ae: str, request: RetrieveRequest,
                   timeout: float | None = None, journal: Journal | None = None) -> list[Match] | None:
    """Every instance the request selects, with its SOP class (IMAGE-level C-FIND); None when the
    archive does not answer the query or leaves SOP Class UIDs out."""
    ds = Dataset()
    ds.QueryRetrieveLevel = "IMAGE"
    if request.model == "patient":
        ds.PatientID = request.patient_id
    ds.StudyInstanceUID = request.study_uid or ""
    ds.SeriesInstanceUID = request.series_uid or ""
    ds.SOPInstanceUID = request.instance_uid or ""
    ds.SOPClassUID = ""
    try:
        assoc = open_association(node, calling_ae, [request.find_model], timeout=timeout, journal=journal,
                                 service="find")
    except AssociationError:
        return None
    matches: list[Match] = []
    complete = False
    try:
        if not any(c.abstract_syntax == request.find_model for c in assoc.accepted_contexts):
            return None
        for status, identifier in assoc.send_c_find(ds, request.find_model):
            if "Status" not in status:
                return None
            if status.Status in (0xFF00, 0xFF01):
                if identifier is None:
                    return None
                values = [str(identifier.get(k, "") or "").strip()
                          for k in ("SeriesInstanceUID", "SOPInstanceUID", "SOPClassUID")]
                if not all(values):
                    return None
                matches.append(Match(*values))
                continue
            complete = status.Status == 0x0000
        return matches if complete and matches else None
    finally:
        if assoc.is_established:
            if complete:
                assoc.release()
            else:
                assoc.abort()


def _contexts(classes: list[str], room: int) -> list:
    """One uncompressed context per class, and one for compressed syntaxes too when there is room, so
    an archive can send a compressed instance as it is instead of decompressing it."""
    contexts = [build_context(c, UNCOMPRESSED) for c in classes]
    if 2 * len(classes) <= room:
        contexts += [build_context(c, LOSSLESS + LOSSY) for c in classes]
    return contexts


def plan(classes: list[str], max_contexts: int | None = None) -> list[list[str]]:
    """SOP classes grouped so each group's contexts (plus the Get context) fit one association."""
    room = (max_contexts or MAX_CONTEXTS) - 1
    return [classes[i:i + room] for i in range(0, len(classes), room)] or [[]]


class Store:
    """The EVT_C_STORE handler of a C-GET: puts every instance into the archive at `storage`.

    Works with pynetdicom's STORE_RECV_CHUNKED_DATASET on (the receiver turns it on for the whole
    process): then the data set is already in a temp file, which pynetdicom does NOT delete for a
    C-GET SCU, so we move it into '.incoming' (or unlink it) ourselves; and with it off, when we
    write `encoded_dataset()` into a temp file in '.incoming' without decoding it.
    """

    def __init__(self, storage: Path, node: Node, *, duplicates: str = "keep-newest", fsync: bool = True):
        self.storage = storage
        self.incoming = storage / INCOMING
        self.incoming.mkdir(parents=True, exist_ok=True)
        self.index = ArchiveIndex(storage)
        self.node = node
        self.duplicates = duplicates
        self.fsync = fsync
        self.stored: list[str] = []
        self.refused: list[tuple[str, int, str]] = []
        self._lock = threading.Lock()

    def __call__(self, event: evt.Event) -> int:
        request = event.request
        sop_instance = str(request.AffectedSOPInstanceUID)
        chunk = getattr(request, "_dataset_file", None)
        temp: Path | None = None
        try:
            temp = self._temp_file(event, chunk)
            if isinstance(temp, int):  # a status: the spool could not write it
                return self._refuse(sop_instance, temp, "the data set could not be written")
            try:
                ds = read_header(temp)
            except Exception as exc:
                return self._refuse(sop_instance, CANNOT_UNDERSTAND, f"the data set could not be read: {exc}")
            if not all(str(ds.get(k, "")).strip() for k in ("StudyInstanceUID", "SeriesInstanceUID")):
                return self._refuse(sop_instance, DATA_SET_DOES_NOT_MATCH, "no study or series UID")
            complete_path(temp, self.fsync)
            existing = self.index.path_of(sop_instance)
            placed = place(temp, self.storage, relative_path(ds, sop_instance), self.duplicates,
                           existing=existing.relative_to(self.storage) if existing is not None else None)
            temp = None
            if placed.duplicate != "kept-first":
                self.index.add(ds, Received(path=placed.path, size=(self.storage / placed.path).stat().st_size,
                                            transfer_syntax=str(event.context.transfer_syntax),
                                            calling_ae=self.node.ae_title, peer=f"{self.node.host}:{self.node.port}",
                                            received_at=time.time()))
            with self._lock:
                self.stored.append(sop_instance)
            return 0x0000
        except OSError as exc:
            return self._refuse(sop_instance, OUT_OF_RESOURCES, f"cannot write to the storage folder: {exc}")
        finally:
            if isinstance(temp, Path):
                temp.unlink(missing_ok=True)
            if chunk is not None:
                Path(chunk.name).unlink(missing_ok=True)

    def _temp_file(self, event: evt.Event, chunk) -> Path | int:
        handle, temp = new_temp(self.incoming, "get")
        if chunk is None:
            with open(handle, "wb") as out:
                out.write(event.encoded_dataset(include_meta=True))
            return temp
        os.close(handle)
        chunk.close()
        if getattr(chunk, "error", None):  # one of the receiver's Spools that hit a full disk
            temp.unlink(missing_ok=True)
            return OUT_OF_RESOURCES
        # os.replace when on the same file system; shutil.move copies from the system temp folder otherwise.
        shutil.move(chunk.name, temp)
        return temp

    def _refuse(self, sop_instance: str, status: int, reason: str) -> int:
        with self._lock:
            self.refused.append((sop_instance, status, reason))
        return status


@dataclass
class _Batch:
    classes: list[str]
    identifiers: list[Dataset] = field(default_factory=list)


def _batches(request: RetrieveRequest, matches: list[Match] | None, max_contexts: int | None) -> list[_Batch]:
    if matches is None:
        return [_Batch(STANDARD_CLASSES[: (max_contexts or MAX_CONTEXTS) - 1], [request.identifier()])]
    classes = sorted({m.sop_class_uid for m in matches})
    groups = plan(classes, max_contexts)
    if len(groups) == 1:
        return [_Batch(groups[0], [request.identifier()])]
    batches = []
    for group in groups:
        wanted = set(group)
        by_series: dict[str, list[str]] = {}
        for m in matches:
            if m.sop_class_uid in wanted:
                by_series.setdefault(m.series_uid, []).append(m.sop_instance_uid)
        identifiers = []
        for series, uids in by_series.items():
            ds = Dataset()
            ds.QueryRetrieveLevel = "IMAGE"
            if request.model == "patient":
                ds.PatientID = request.patient_id
            ds.StudyInstanceUID = request.study_uid
            ds.SeriesInstanceUID = series
            ds.SOPInstanceUID = uids if len(uids) > 1 else uids[0]
            identifiers.append(ds)
        batches.append(_Batch(group, identifiers))
    return batches


def get(
    node: Node,
    calling_ae: str,
    request: RetrieveRequest,
    storage: Path,
    *,
    cancel: threading.Event | None = None,
    on_progress: ProgressCallback | None = None,
    timeout: float | None = None,
    duplicates: str = "keep-newest",
    fsync: bool = True,
    max_contexts: int | None = None,
    journal: Journal | None = None,
) -> RetrieveResult:
    """Fetch what `request` selects from `node` with C-GET into the local archive at `storage`.
    Never raises for network trouble: the result says what happened."""
    result = RetrieveResult()
    storage = Path(storage)
    store = Store(storage, node, duplicates=duplicates, fsync=fsync)
    matches = find_instances(node, calling_ae, request, timeout, journal)
    base = RetrieveProgress(None, 0, 0, 0)
    for batch in _batches(request, matches, max_contexts):
        if cancel is not None and cancel.is_set():
            result.fail("cancelled", f"cancelled after {result.completed} instance(s)")
            break
        _get_batch(node, calling_ae, request, batch, store, result, cancel, on_progress, timeout, base,
                   max_contexts, journal)
        if result.failure is not None:
            break
        base = RetrieveProgress(None, result.completed, result.failed, result.warning)
    judge_final(result, "get")
    if result.failure == "suboperations" and store.refused:
        sop, status, reason = store.refused[0]
        result.error += f"; we refused {len(store.refused)} of them, e.g. {sop}: {reason} (0x{status:04X})"
    return result


def _get_batch(node: Node, calling_ae: str, request: RetrieveRequest, batch: _Batch, store: Store,
               result: RetrieveResult, cancel, on_progress, timeout, base: RetrieveProgress,
               max_contexts: int | None, journal: Journal | None = None) -> None:
    room = (max_contexts or MAX_CONTEXTS) - 1
    contexts = [build_context(request.get_model), *_contexts(batch.classes, room)]
    roles = [build_role(c, scp_role=True) for c in batch.classes]
    try:
        assoc = open_association(node, calling_ae, contexts, timeout=timeout, ext_neg=roles,
                                 evt_handlers=[(evt.EVT_C_STORE, store)], journal=journal, service="get")
    except AssociationError as exc:
        result.log_ids.append(exc.log_id)
        result.fail(exc.kind, exc.message)
        if exc.kind == "rejected":
            sentence = refused_retrieve(node, calling_ae, timeout, "retrieve (C-GET)", exc.message)
            if sentence:
                result.fail("rejected", sentence)
        return
    result.associations += 1
    result.log_ids.append(assoc.log_id)
    final = True
    try:
        stretch_timeouts(assoc, node, timeout)
        accepted = assoc.accepted_contexts
        if unsupported(assoc, request.get_model):
            result.fail("status", f"the node does not offer C-GET with the {request.model} root model (it answered "
                        "'not supported'); use C-MOVE instead")
            return
        if not any(c.abstract_syntax == request.get_model for c in accepted):
            result.fail("retrieve-refused", f"the archive accepted the association but refused C-GET with the "
                        f"{request.model} root model from our AE title {calling_ae}")
            return
        storage_cx = [c for c in accepted if c.abstract_syntax in batch.classes]
        if not storage_cx:
            result.fail("storage-refused", "the archive refused every storage SOP class we proposed for the "
                        "C-GET, so it cannot send us anything; use C-MOVE instead")
            return
        if not any(c.as_scp for c in storage_cx):
            result.fail("role-refused", "the archive refused SCP/SCU role selection: it accepted C-GET but not "
                        "our role as storage SCP for the instances, so it cannot send them over this "
                        "association; enable C-GET role selection on the archive or use C-MOVE instead")
            return
        for n, identifier in enumerate(batch.identifiers):
            msg_id = n + 1
            responses = assoc.send_c_get(identifier, request.get_model, msg_id=msg_id)
            stream = drive(assoc, responses, result, model=request.get_model, msg_id=msg_id, cancel=cancel,
                           on_progress=on_progress, base=base)
            final = stream.final
            if stream.empty and stream.pendings == 0 and result.failure == "aborted":
                sentence = refused_retrieve(node, calling_ae, timeout, "retrieve (C-GET)",
                                            "it aborted the association on our C-GET request")
                if sentence:
                    result.fail("retrieve-refused", sentence)
            if not final or result.status is None or code_to_category(result.status) in ("Failure", "Cancel"):
                break
            base = RetrieveProgress(None, result.completed, result.failed, result.warning)
    finally:
        if assoc.is_established:
            if final:
                assoc.release()
            else:
                assoc.abort()
