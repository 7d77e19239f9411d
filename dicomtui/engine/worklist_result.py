"""What a worklist query gives back, as plain data: one row per scheduled procedure step.

A worklist item (one C-FIND response) describes a requested procedure and carries its steps in the
Scheduled Procedure Step Sequence; a modality lists each step, so an item with two steps is two rows.
Every row also keeps the whole response, decoded into plain data (`attributes`: keyword -> value, or a
list of such dicts for a sequence), for a view that shows every attribute.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .find_outcome import FindOutcome

Value = str | list[str] | None
Tree = dict[str, Any]  # keyword -> Value, or list[Tree] for a sequence

# (row field, keyword, where it lives: the item's top level, or its step)
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("start_date", "ScheduledProcedureStepStartDate", "step"),
    ("start_time", "ScheduledProcedureStepStartTime", "step"),
    ("patient_name", "PatientName", "top"),
    ("patient_id", "PatientID", "top"),
    ("birth_date", "PatientBirthDate", "top"),
    ("sex", "PatientSex", "top"),
    ("accession_number", "AccessionNumber", "top"),
    ("modality", "Modality", "step"),
    ("requested_procedure_description", "RequestedProcedureDescription", "top"),
    ("step_description", "ScheduledProcedureStepDescription", "step"),
    ("station_ae_title", "ScheduledStationAETitle", "step"),
    ("station_name", "ScheduledStationName", "step"),
    ("status", "ScheduledProcedureStepStatus", "step"),
    ("referring_physician", "ReferringPhysicianName", "top"),
    ("performing_physician", "ScheduledPerformingPhysicianName", "step"),
    ("location", "ScheduledProcedureStepLocation", "step"),
    ("step_id", "ScheduledProcedureStepID", "step"),
    ("requested_procedure_id", "RequestedProcedureID", "top"),
    ("priority", "RequestedProcedurePriority", "top"),
    ("study_instance_uid", "StudyInstanceUID", "top"),
    ("admission_id", "AdmissionID", "top"),
)
KEYWORDS = tuple(keyword for _field, keyword, _where in COLUMNS)


@dataclass
class ProtocolCode:
    """One item of the Scheduled Protocol Code Sequence."""

    value: str | None = None  # Code Value
    scheme: str | None = None  # Coding Scheme Designator
    meaning: str | None = None  # Code Meaning

    def text(self) -> str:
        code = ":".join(p for p in (self.scheme, self.value) if p)
        return f"{self.meaning} ({code})" if self.meaning and code else self.meaning or code


@dataclass
class WorklistRow:
    """One scheduled procedure step as a modality would list it. Values are text (lists for several
    values, as AE titles of a step planned on two stations), None when absent or empty."""

    start_date: Value = None
    start_time: Value = None
    patient_name: Value = None
    patient_id: Value = None
    birth_date: Value = None
    sex: Value = None
    accession_number: Value = None
    modality: Value = None
    requested_procedure_description: Value = None
    step_description: Value = None
    station_ae_title: Value = None
    station_name: Value = None
    status: Value = None
    referring_physician: Value = None
    performing_physician: Value = None
    location: Value = None
    step_id: Value = None
    requested_procedure_id: Value = None
    priority: Value = None
    study_instance_uid: Value = None
    admission_id: Value = None
    protocol: list[ProtocolCode] = field(default_factory=list)
    item: int = 0  # which response of the answer (0-based): rows of one item share it
    step: int = 0  # which item of that response's Scheduled Procedure Step Sequence
    attributes: Tree = field(default_factory=dict, repr=False, compare=False)  # the whole response

    def as_json(self) -> dict[str, Any]:
        """Keyed by DICOM keyword, as `dicomtui worklist --json` prints it (None for absent values)."""
        out: dict[str, Any] = {keyword: getattr(self, name) for name, keyword, _where in COLUMNS}
        out["ScheduledProtocolCodeSequence"] = [
            {"CodeValue": c.value, "CodingSchemeDesignator": c.scheme, "CodeMeaning": c.meaning}
            for c in self.protocol]
        return out

    def value(self, keyword: str) -> Value:
        """A column by DICOM keyword."""
        for name, known, _where in COLUMNS:
            if known == keyword:
                return getattr(self, name)
        raise KeyError(keyword)


@dataclass
class WorklistResult(FindOutcome):
    """Truncated, status, error, failure and ok as FindOutcome has them, and the scheduled steps."""

    rows: list[WorklistRow] = field(default_factory=list)
    items: int = 0  # C-FIND responses (worklist items); rows can be more (several steps each)


def _text(value: Any) -> Value:
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return None  # a sequence where a value was expected: an SCP's mistake, not ours to show as text
    return value


def rows_from_tree(tree: Tree, item: int = 0) -> list[WorklistRow]:
    """The rows of one decoded response: one per step, or one with empty step columns when it has none."""
    steps = tree.get("ScheduledProcedureStepSequence")
    if not isinstance(steps, list) or not steps or not all(isinstance(s, dict) for s in steps):
        steps = [{}]
    rows = []
    for index, step in enumerate(steps):
        values = {name: _text((tree if where == "top" else step).get(keyword)) for name, keyword, where in COLUMNS}
        codes = step.get("ScheduledProtocolCodeSequence")
        protocol = [ProtocolCode(_first(c.get("CodeValue")), _first(c.get("CodingSchemeDesignator")),
                                 _first(c.get("CodeMeaning"))) for c in codes if isinstance(c, dict)
                    ] if isinstance(codes, list) else []
        rows.append(WorklistRow(**values, protocol=protocol, item=item, step=index, attributes=tree))
    return rows


def _first(value: Any) -> str | None:
    if isinstance(value, list):
        return str(value[0]) if value else None
    return value
