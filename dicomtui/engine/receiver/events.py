"""What the receiver reports to whoever watches it (the TUI, `serve`'s log)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AssociationOpened:
    id: int
    calling_ae: str
    called_ae: str
    peer: str  # host:port
    log_id: str = ""  # its association log entry, when a log is kept


@dataclass(frozen=True)
class AssociationClosed:
    id: int
    how: str  # "released", "aborted", "rejected"
    instances: int
    bytes: int
    seconds: float
    detail: str = ""
    log_id: str = ""


@dataclass(frozen=True)
class InstanceStored:
    association: int
    calling_ae: str
    sop_class_uid: str
    sop_instance_uid: str
    path: str  # relative to the storage folder
    size: int
    patient: str
    study: str
    modality: str
    duplicate: str = ""  # "", "replaced", "identical", "kept-first"


@dataclass(frozen=True)
class InstanceRefused:
    association: int
    calling_ae: str
    sop_instance_uid: str
    status: int
    reason: str


@dataclass(frozen=True)
class ReceiverProblem:
    """Something the operator should know that is not tied to one instance."""

    message: str


ReceiverEvent = AssociationOpened | AssociationClosed | InstanceStored | InstanceRefused | ReceiverProblem
