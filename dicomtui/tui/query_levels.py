"""What the Query screen shows at each level: columns, cells, breadcrumbs, and the rows of one level.

Plain data, no widgets: the screen keeps a stack of `Level`s, one per drill-down step.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from .. import command_lines
from ..engine.loading import import_engine
from ..engine.query_request import QueryRequest

Row = dict[str, object]

# (keyword or derived name, heading, width; None = what is left)
COLUMNS = {
    "PATIENT": [("PatientName", "Patient", None), ("PatientID", "ID", 16), ("PatientBirthDate", "Born", 8),
                ("PatientSex", "Sex", 3), ("NumberOfPatientRelatedStudies", "Studies", 7)],
    "STUDY": [("PatientName", "Patient", 15), ("PatientID", "ID", 9), ("StudyDate", "Date", 8),
              ("ModalitiesInStudy", "Mod", 4), ("StudyDescription", "Description", 14),
              ("AccessionNumber", "Accession", 9), ("counts", "Ser/Inst", 8)],
    "SERIES": [("SeriesNumber", "No", 4), ("Modality", "Mod", 4), ("SeriesDescription", "Description", 22),
               ("NumberOfSeriesRelatedInstances", "Inst", 5), ("SeriesInstanceUID", "Series UID", None)],
    "IMAGE": [("InstanceNumber", "No", 5), ("SOPClassUID", "SOP class", 28),
              ("SOPInstanceUID", "SOP Instance UID", None)],
}
NOUNS = {"PATIENT": ("patient", "patients"), "STUDY": ("study", "studies"), "SERIES": ("series", "series"),
         "IMAGE": ("instance", "instances")}
NEXT = {"PATIENT": "STUDY", "STUDY": "SERIES", "SERIES": "IMAGE"}
# Asked for besides the engine's default return keys of the level.
RETURN_KEYS = {"PATIENT": ["NumberOfPatientRelatedStudies"]}


def text(value: object) -> str:
    if value is None:
        return ""
    return "\\".join(map(str, value)) if isinstance(value, list) else str(value)


def cell(row: Row, key: str) -> str:
    if key == "SOPClassUID":
        return sop_name(text(row.get(key)))
    if key == "counts":
        series, instances = text(row.get("NumberOfStudyRelatedSeries")), text(
            row.get("NumberOfStudyRelatedInstances"))
        return f"{series}/{instances}" if series or instances else ""
    return text(row.get(key))


@functools.lru_cache(maxsize=256)
def sop_name(uid: str) -> str:
    """"CT Image" for a storage SOP class UID; pydicom is loaded already when rows exist."""
    if not uid:
        return ""
    name = import_engine("pydicom.uid").UID(uid).name
    return name.removesuffix(" Storage") if name != uid else uid


_NUMBER = re.compile(r"^\s*[+-]?\d+(\.\d+)?\s*$")


def sort_key(value: str) -> tuple:
    """Numbers (series and instance numbers, counts) in numeric order, before text; text as it reads."""
    if _NUMBER.match(value):
        return (0, float(value), value)
    return (1, 0.0, value)


def cells(level: str, row: Row) -> list[str]:
    return [cell(row, key) for key, _h, _w in COLUMNS[level]]


def count(level: str, n: int) -> str:
    one, many = NOUNS[level]
    return f"{n} {one if n == 1 else many}"


def model(level: str) -> str:
    """The information model to query a level with: only patient root has a PATIENT level. Below it, study
    root matches a patient's studies by PatientID and is the model every archive offers."""
    return "patient" if level == "PATIENT" else "study"


def crumb(level: str, row: Row) -> str:
    """How a row is named in the breadcrumb once the user has opened it."""
    if level == "PATIENT":
        parts = [text(row.get("PatientName")).split("=")[0] or text(row.get("PatientID"))]
    elif level == "STUDY":
        parts = [text(row.get("PatientName")).split("=")[0], text(row.get("StudyDate")),
                 text(row.get("StudyDescription"))[:16]]
    else:
        parts = ["#" + text(row.get("SeriesNumber")), text(row.get("Modality")),
                 text(row.get("SeriesDescription"))[:16]]
    return " ".join(p for p in parts if p and p != "#") or "?"


@dataclass
class Level:
    level: str  # STUDY, SERIES or IMAGE
    keys: dict[str, str]  # the matching keys sent
    crumb: str
    masked_crumb: str = ""  # the crumb with patient data masked (PHI masking)
    rows: list[Row] = field(default_factory=list)
    shown: list[int] = field(default_factory=list)  # indices into rows, in table order
    cursor: int = 0
    sort: int | None = None  # column index
    filter: str = ""
    status: str = ""
    failed: bool = False
    # Worked out once per row, when first needed, so that each keystroke in the filter and each sort only
    # compares strings: tens of thousands of rows take milliseconds, not seconds.
    _haystack: list[str] = field(default_factory=list, init=False, repr=False, compare=False)
    _sort_column: str = field(default="", init=False, repr=False, compare=False)
    _sort_keys: list[tuple] = field(default_factory=list, init=False, repr=False, compare=False)

    def add(self, new: list[Row]) -> list[int]:
        """Take rows that arrived; the ones the filter lets through join `shown`, in sort order. Returns those."""
        start = len(self.rows)
        self.rows.extend(new)
        added = self._matching(range(start, len(self.rows)))
        self.shown.extend(added)
        if added and self.sort is not None:
            self.shown.sort(key=self._keys().__getitem__)  # sorted runs merge in linear time
        return added

    def arrange(self) -> None:
        """Recompute `shown` from the filter and the sort column."""
        self.shown = self._matching(range(len(self.rows)))
        if self.sort is not None:
            self.shown.sort(key=self._keys().__getitem__)

    def _matching(self, indices: range) -> list[int]:
        if not self.filter:
            return list(indices)
        needle = self.filter.casefold()
        haystack = self._haystack
        for row in self.rows[len(haystack):]:
            # "\n" between values: a match never spans two attributes (the filter is one line).
            haystack.append("\n".join(map(text, row.values())).casefold())
        return [i for i in indices if needle in haystack[i]]

    def _keys(self) -> list[tuple]:
        """A sort key per row for the sort column."""
        column = COLUMNS[self.level][self.sort or 0][0]
        if column != self._sort_column:
            self._sort_column, self._sort_keys = column, []
        keys = self._sort_keys
        keys.extend(sort_key(cell(row, column)) for row in self.rows[len(keys):])
        return keys

    def row_at(self, index: int) -> Row | None:
        if 0 <= index < len(self.shown):
            return self.rows[self.shown[index]]
        return None

    def uids(self, row: Row) -> dict[str, str]:
        """RetrieveRequest arguments for a row of this level."""
        study = self.keys.get("StudyInstanceUID") or text(row.get("StudyInstanceUID"))
        uids = {"study_uid": study}
        if self.level in ("SERIES", "IMAGE"):
            uids["series_uid"] = self.keys.get("SeriesInstanceUID") or text(row.get("SeriesInstanceUID"))
        if self.level == "IMAGE":
            uids["instance_uid"] = text(row.get("SOPInstanceUID"))
        return uids

    @property
    def retrievable(self) -> bool:
        """C-MOVE and C-GET here take a study, series or instance, not a whole patient."""
        return self.level != "PATIENT"

    def child_keys(self, row: Row) -> dict[str, str]:
        if self.level == "PATIENT":
            patient_id = text(row.get("PatientID"))
            # An archive may hold patients without an ID; the name is then the best there is.
            return {"PatientID": patient_id} if patient_id else {"PatientName": text(row.get("PatientName"))}
        keys = {"StudyInstanceUID": self.keys.get("StudyInstanceUID") or text(row.get("StudyInstanceUID"))}
        if self.level == "SERIES":
            keys["SeriesInstanceUID"] = text(row.get("SeriesInstanceUID"))
        return keys


def request_for(level: Level) -> QueryRequest:
    """The engine's QueryRequest for a level: what find runs, and what Copy as command writes out."""
    return QueryRequest(level=level.level, model=model(level.level), keys=dict(level.keys),
                        return_keys=list(RETURN_KEYS.get(level.level, [])))


def find_command(node: str, level: Level) -> str:
    """The `dicomtui find` line that asks what this level asked (command_lines.py writes every such line)."""
    return command_lines.find_command(node, request_for(level))


def export_columns(rows: list[Row], level: str) -> list[str]:
    first = [k for k, _h, _w in COLUMNS[level] if k != "counts"]
    seen = dict.fromkeys(first)
    for row in rows:
        seen.update(dict.fromkeys(row))
    return list(seen)
