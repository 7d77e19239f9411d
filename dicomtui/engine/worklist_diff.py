"""Refresh and compare: which scheduled steps appeared, vanished or changed between two queries.

A step is known by what a RIS keeps stable while it reschedules: Study Instance UID, Accession Number,
Requested Procedure ID, Scheduled Procedure Step ID and Patient ID. A new start time or another station
is then a change of the same step, not one step gone and another come. When a RIS fills none of the
step's identifiers, its visible values stand in for them, so the comparison still works.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from .worklist_result import WorklistRow

_IDENTITY = ("study_instance_uid", "accession_number", "requested_procedure_id", "step_id", "patient_id")
_FALLBACK = ("patient_name", "start_date", "start_time", "station_ae_title", "modality", "step_description")


def _part(value) -> str:
    if value is None:
        return ""
    return "\\".join(value) if isinstance(value, list) else str(value)


def row_key(row: WorklistRow) -> tuple[str, ...]:
    """A stable identity for a scheduled step across refreshes."""
    key = tuple(_part(getattr(row, name)) for name in _IDENTITY)
    if not any(key[:4]):  # nothing but (maybe) the patient: the step's own values identify it
        key += tuple(_part(getattr(row, name)) for name in _FALLBACK)
    return key


def _keyed(rows: list[WorklistRow]) -> dict[tuple, WorklistRow]:
    # Two rows with the same identity (a RIS listing one step twice) stay two: number them.
    seen: Counter[tuple] = Counter()
    out = {}
    for row in rows:
        key = row_key(row)
        out[(key, seen[key])] = row
        seen[key] += 1
    return out


@dataclass
class WorklistDiff:
    appeared: list[WorklistRow] = field(default_factory=list)  # in the new rows' order
    vanished: list[WorklistRow] = field(default_factory=list)  # in the old rows' order
    changed: list[tuple[WorklistRow, WorklistRow]] = field(default_factory=list)  # (before, after)

    @property
    def any(self) -> bool:
        return bool(self.appeared or self.vanished or self.changed)


def diff_rows(previous: list[WorklistRow], current: list[WorklistRow]) -> WorklistDiff:
    """What changed from `previous` to `current` (two results of the same query)."""
    old, new = _keyed(previous), _keyed(current)
    diff = WorklistDiff()
    diff.appeared = [row for key, row in new.items() if key not in old]
    diff.vanished = [row for key, row in old.items() if key not in new]
    for key, row in new.items():
        before = old.get(key)
        if before is not None and before.as_json() != row.as_json():
            diff.changed.append((before, row))
    return diff
