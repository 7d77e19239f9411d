"""C-MOVE and C-GET as SCU: requests, progress, results, and failures in words.

`move()` (retrieve_move.py) asks an archive to send instances to a destination AE; `get()` (retrieve_get.py)
fetches them over our own association straight into the local archive. Both turn pending
responses into `RetrieveProgress` callbacks and the final response into a `RetrieveResult`
whose `error` explains a failure the way a PACS administrator can act on it.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from pydicom.dataset import Dataset
from pynetdicom.association import Association
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    PatientRootQueryRetrieveInformationModelFind,
    PatientRootQueryRetrieveInformationModelGet,
    PatientRootQueryRetrieveInformationModelMove,
    StudyRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelGet,
    StudyRootQueryRetrieveInformationModelMove,
)
from pynetdicom.status import code_to_category

from ..config.model import Node
from ..dicom.status import describe_status
from .association import Timeouts

# pynetdicom waits `dimse_timeout` for EACH response. An archive answers a C-MOVE with one
# pending response per sub-operation, and the gap between two of them is as long as one
# instance takes to reach the destination: a 500 MB instance over a slow link, or an archive
# fetching from tape, easily goes quiet for more than the 30 s default (pynetdicom #792 #825).
# So a retrieve waits at least 10 minutes of silence before giving up; the network (idle)
# timeout follows, or the DUL would abort the association first. Cancel stays prompt: it does
# not depend on this timeout (see _Canceller).
RETRIEVE_DIMSE_TIMEOUT = 600.0
# After C-CANCEL, how long the archive gets to send its final response before we abort.
CANCEL_GRACE = 10.0

UNKNOWN_DESTINATION = 0xA801
CANCELLED = 0xFE00
LEVELS = ("PATIENT", "STUDY", "SERIES", "IMAGE")
_UID = re.compile(r"^[0-9]+(\.[0-9]+)*$")

MODELS = {
    "study": (StudyRootQueryRetrieveInformationModelFind, StudyRootQueryRetrieveInformationModelMove,
              StudyRootQueryRetrieveInformationModelGet),
    "patient": (PatientRootQueryRetrieveInformationModelFind, PatientRootQueryRetrieveInformationModelMove,
                PatientRootQueryRetrieveInformationModelGet),
}

# Failure kinds that mean "no usable association" (CLI exit 3); the connection-level kinds come from
# AssociationError. "retrieve-refused": the archive accepts echo but not our retrieve.
NO_ASSOCIATION_KINDS = {"refused", "timeout", "unresolved", "unreachable", "rejected", "aborted",
                        "retrieve-refused"}


class InvalidRequest(ValueError):
    """A retrieve request that cannot be sent; str() says why."""


def check_uid(value: str, what: str) -> str:
    text = value.strip()
    if not _UID.match(text) or len(text) > 64:
        raise InvalidRequest(f"{what} {value!r} is not a valid UID (digits and dots, at most 64 characters)")
    return text


@dataclass(frozen=True)
class RetrieveRequest:
    """What to retrieve. The level follows from the most specific UID unless given."""

    study_uid: str | None = None
    series_uid: str | None = None
    instance_uid: str | None = None
    model: str = "study"  # "study" (Study Root) or "patient" (Patient Root)
    patient_id: str | None = None  # needed with the patient model
    level: str = ""  # PATIENT, STUDY, SERIES or IMAGE; "" = from the UIDs

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise InvalidRequest(f"unknown query/retrieve model {self.model!r} (study or patient)")
        for name, what in (("study_uid", "study UID"), ("series_uid", "series UID"),
                           ("instance_uid", "instance UID")):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, check_uid(value, what))
        if self.series_uid and not self.study_uid:
            raise InvalidRequest("a series UID needs the study UID too (--study)")
        if self.instance_uid and not self.series_uid:
            raise InvalidRequest("an instance UID needs the series and study UIDs too (--series, --study)")
        level = self.level.upper() or self._derived_level()
        if level not in LEVELS:
            raise InvalidRequest(f"unknown retrieve level {self.level!r}")
        if level == "PATIENT" and self.model != "patient":
            raise InvalidRequest("a PATIENT level retrieve needs the patient root model")
        if self.model == "patient" and not self.patient_id:
            raise InvalidRequest("the patient root model needs a patient ID")
        if level != "PATIENT" and not self.study_uid:
            raise InvalidRequest("say what to retrieve: give at least a study UID (--study)")
        object.__setattr__(self, "level", level)

    def _derived_level(self) -> str:
        if self.instance_uid:
            return "IMAGE"
        if self.series_uid:
            return "SERIES"
        if self.study_uid:
            return "STUDY"
        return "PATIENT" if self.patient_id else "STUDY"

    def identifier(self) -> Dataset:
        ds = Dataset()
        ds.QueryRetrieveLevel = self.level
        if self.model == "patient":
            ds.PatientID = self.patient_id
        depth = LEVELS.index(self.level)
        if depth >= 1:
            ds.StudyInstanceUID = self.study_uid
        if depth >= 2:
            ds.SeriesInstanceUID = self.series_uid
        if depth >= 3:
            ds.SOPInstanceUID = self.instance_uid
        return ds

    @property
    def find_model(self) -> str:
        return MODELS[self.model][0]

    @property
    def move_model(self) -> str:
        return MODELS[self.model][1]

    @property
    def get_model(self) -> str:
        return MODELS[self.model][2]


@dataclass(frozen=True)
class RetrieveProgress:
    remaining: int | None  # None when the archive does not say
    completed: int
    failed: int
    warning: int


@dataclass
class RetrieveResult:
    status: int | None = None  # the final DIMSE status; None if none came
    completed: int = 0
    failed: int = 0
    warning: int = 0
    failed_uids: list[str] = field(default_factory=list)
    error: str | None = None  # what went wrong, in sentences; None when all went well
    # None when ok; else "cancelled", "status" (a failure status), "suboperations" (some instances
    # failed), "unknown-destination", "role-refused", "storage-refused", "retrieve-refused", or a
    # connection kind from AssociationError ("refused", "timeout", "rejected", "aborted", ...).
    failure: str | None = None
    # What our in-process receiver saw during a C-MOVE to it (None: not watched).
    arrivals: list[str] | None = None
    associations: int = 0  # associations used (a C-GET may need several)
    log_ids: list[str] = field(default_factory=list)  # their association log entries, when kept

    @property
    def ok(self) -> bool:
        return self.failure is None

    @property
    def no_association(self) -> bool:
        return self.failure in NO_ASSOCIATION_KINDS

    def fail(self, kind: str, message: str) -> None:
        self.failure = kind
        self.error = message

    def as_json(self) -> dict:
        return {"status": None if self.status is None else f"0x{self.status:04X}", "completed": self.completed,
                "failed": self.failed, "warning": self.warning, "failed_uids": list(self.failed_uids)}


ProgressCallback = Callable[[RetrieveProgress], None]


# -- driving a C-MOVE / C-GET response stream --------------------------------------------------------------


class _Canceller:
    """Sends C-CANCEL as soon as `cancel` is set, even while the association waits for a response
    (which may be minutes of silence); aborts if no final response follows within CANCEL_GRACE.

    This is the only place the association is touched from a second thread: send_c_cancel and
    abort only queue one primitive for the DUL thread, which the waiting thread never does.
    """

    def __init__(self, assoc: Association, cancel: threading.Event | None, msg_id: int, model: str):
        self.assoc = assoc
        self.cancel = cancel
        self.msg_id = msg_id
        self.model = model
        self.done = threading.Event()
        self.sent = False
        self.aborted = False
        self._thread: threading.Thread | None = None
        if cancel is not None:
            self._thread = threading.Thread(target=self._run, name="dicomtui-retrieve-cancel", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self.done.is_set():
            if self.cancel.wait(0.05):
                break
        if self.done.is_set():
            return
        try:
            if self.assoc.is_established:
                self.assoc.send_c_cancel(self.msg_id, query_model=self.model)
                self.sent = True
        except Exception:  # the association went away meanwhile: nothing to cancel
            return
        if not self.done.wait(CANCEL_GRACE):
            self.aborted = True
            self.assoc.abort()

    def finish(self) -> None:
        self.done.set()
        if self._thread is not None:
            self._thread.join(1.0)


def _count(value: object) -> int:
    try:
        return int(value) if value is not None else 0
    except (TypeError, ValueError):
        return 0


def _failed_uids(identifier: Dataset | None) -> list[str]:
    if identifier is None:
        return []
    value = identifier.get("FailedSOPInstanceUIDList")
    if value is None or value == "":
        return []
    items = [value] if isinstance(value, str) else list(value)
    return [str(v).strip() for v in items if str(v).strip()]


@dataclass
class _Stream:
    pendings: int = 0
    final: bool = False
    empty: bool = False  # an empty status: the association aborted or timed out


def drive(assoc: Association, responses, result: RetrieveResult, *, model: str, msg_id: int,
          cancel: threading.Event | None, on_progress: ProgressCallback | None,
          base: RetrieveProgress | None = None) -> _Stream:
    """Consume a C-MOVE/C-GET response generator into `result` (counts added to `base`'s)."""
    base = base or RetrieveProgress(None, 0, 0, 0)
    stream = _Stream()
    canceller = _Canceller(assoc, cancel, msg_id, model)
    last = time.monotonic()
    try:
        for status, identifier in responses:
            waited, last = time.monotonic() - last, time.monotonic()
            if "Status" not in status:
                stream.empty = True
                if canceller.aborted or (cancel is not None and cancel.is_set()):
                    result.fail("cancelled", "cancelled; the archive did not confirm the cancel in time, "
                                "so the association was aborted")
                elif assoc.is_aborted or waited < (assoc.dimse_timeout or 0) * 0.9:
                    # An empty status long before the timeout: the peer aborted or closed (pynetdicom may
                    # not have marked the association aborted yet).
                    result.fail("aborted", "the archive aborted the association during the retrieve")
                else:
                    result.fail("timeout", f"the archive sent nothing for {assoc.dimse_timeout:g} s; "
                                "the association was aborted")
                break
            code = int(status.Status)
            counts = (status.get("NumberOfCompletedSuboperations"), status.get("NumberOfFailedSuboperations"),
                      status.get("NumberOfWarningSuboperations"))
            if code_to_category(code) == "Pending":
                stream.pendings += 1
                result.completed = base.completed + _count(counts[0])
                result.failed = base.failed + _count(counts[1])
                result.warning = base.warning + _count(counts[2])
                if on_progress is not None:
                    remaining = status.get("NumberOfRemainingSuboperations")
                    on_progress(RetrieveProgress(None if remaining is None else _count(remaining),
                                                 result.completed, result.failed, result.warning))
                continue
            stream.final = True
            result.status = code
            # Some archives leave the counts out of the final response: keep the last pending ones then.
            if any(c is not None for c in counts):
                result.completed = base.completed + _count(counts[0])
                result.failed = base.failed + _count(counts[1])
                result.warning = base.warning + _count(counts[2])
            result.failed_uids.extend(_failed_uids(identifier))
            if on_progress is not None:
                on_progress(RetrieveProgress(0, result.completed, result.failed, result.warning))
    finally:
        canceller.finish()
    return stream


def judge_final(result: RetrieveResult, what: str) -> None:
    """Set failure/error from a final status (only when nothing failed before)."""
    if result.failure is not None or result.status is None:
        return
    code = result.status
    if code == CANCELLED:
        result.fail("cancelled", f"cancelled: the archive stopped the {what} after {result.completed} instance(s)")
    elif code_to_category(code) == "Failure":
        result.fail("status", f"the {what} failed: {describe_status(code)}")
    elif result.failed or code_to_category(code) == "Warning":
        result.fail("suboperations", f"{result.failed} of {result.completed + result.failed + result.warning} "
                    f"instance(s) failed ({describe_status(code)})")


def stretch_timeouts(assoc: Association, node: Node, timeout: float | None) -> None:
    dimse = max(Timeouts.for_node(node, timeout).dimse, RETRIEVE_DIMSE_TIMEOUT)
    assoc.dimse_timeout = dimse
    assoc.network_timeout = dimse + 60


def local_address(assoc: Association) -> str | None:
    """This machine's address as the archive sees it on our association."""
    try:
        return str(assoc.dul.socket.socket.getsockname()[0])
    except Exception:
        return None


def refused_retrieve(node: Node, calling_ae: str, timeout: float | None, what: str, detail: str) -> str | None:
    """If echo works, the sentence for 'accepts echo but refuses retrieves'; None if echo fails too."""
    from .echo import echo

    probe = echo(node, calling_ae, timeout=timeout)
    if not probe.ok:
        return None
    return (f"this archive accepts echo but refuses retrieves from our AE title {calling_ae} ({detail}); "
            f"allow {calling_ae} to {what} in the archive's list of DICOM nodes")


# -- the services (in their own modules) -------------------------------------------------------------------


def move(*args, **kwargs) -> RetrieveResult:
    """C-MOVE: see retrieve_move.move."""
    from .retrieve_move import move as _move

    return _move(*args, **kwargs)


def get(*args, **kwargs) -> RetrieveResult:
    """C-GET into the local archive: see retrieve_get.get."""
    from .retrieve_get import get as _get

    return _get(*args, **kwargs)
