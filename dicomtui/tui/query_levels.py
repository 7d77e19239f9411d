"""What the Query screen shows at each level: columns, cells, breadcrumbs, and the rows of one level.

Plain data, no widgets: the screen keeps a stack of `Level`s, one per drill-down step.
"""

from __future__ import annotations

import functools
import shlex
from dataclasses import dataclass, field

from ..engine.loading import import_engine

Row = dict[str, object]

# (keyword or derived name, heading, width; None = what is left)
COLUMNS = {
    "STUDY": [("PatientName", "Patient", 15), ("PatientID", "ID", 9), ("StudyDate", "Date", 8),
              ("ModalitiesInStudy", "Mod", 4), ("StudyDescription", "Description", 14),
              ("AccessionNumber", "Accession", 9), ("counts", "Ser/Inst", 8)],
    "SERIES": [("SeriesNumber", "No", 4), ("Modality", "Mod", 4), ("SeriesDescription", "Description", 22),
               ("NumberOfSeriesRelatedInstances", "Inst", 5), ("SeriesInstanceUID", "Series UID", None)],
    "IMAGE": [("InstanceNumber", "No", 5), ("SOPClassUID", "SOP class", 28),
              ("SOPInstanceUID", "SOP Instance UID", None)],
}
NOUNS = {"STUDY": ("study", "studies"), "SERIES": ("series", "series"), "IMAGE": ("instance", "instances")}
NEXT = {"STUDY": "SERIES", "SERIES": "IMAGE"}
UID_KEYS = {"STUDY": "StudyInstanceUID", "SERIES": "SeriesInstanceUID", "IMAGE": "SOPInstanceUID"}


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


def cells(level: str, row: Row) -> list[str]:
    return [cell(row, key) for key, _h, _w in COLUMNS[level]]


def count(level: str, n: int) -> str:
    one, many = NOUNS[level]
    return f"{n} {one if n == 1 else many}"


def crumb(level: str, row: Row) -> str:
    """How a row is named in the breadcrumb once the user has opened it."""
    if level == "STUDY":
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
    rows: list[Row] = field(default_factory=list)
    shown: list[int] = field(default_factory=list)  # indices into rows, in table order
    cursor: int = 0
    sort: int | None = None  # column index
    filter: str = ""
    status: str = ""
    failed: bool = False

    def matches(self, row: Row) -> bool:
        if not self.filter:
            return True
        needle = self.filter.casefold()
        return any(needle in text(v).casefold() for v in row.values())

    def arrange(self) -> None:
        """Recompute `shown` from the filter and the sort column."""
        self.shown = [i for i, row in enumerate(self.rows) if self.matches(row)]
        if self.sort is not None:
            key = COLUMNS[self.level][self.sort][0]
            self.shown.sort(key=lambda i: cell(self.rows[i], key))

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

    def child_keys(self, row: Row) -> dict[str, str]:
        keys = {"StudyInstanceUID": self.keys.get("StudyInstanceUID") or text(row.get("StudyInstanceUID"))}
        if self.level == "SERIES":
            keys["SeriesInstanceUID"] = text(row.get("SeriesInstanceUID"))
        return keys


def find_command(node: str, level: Level) -> str:
    args = ["dicomtui", "find", node]
    for key, value in level.keys.items():
        args += ["-k", f"{key}={value}"]
    args += ["--level", level.level.lower()]
    return shlex.join(args)


def export_columns(rows: list[Row], level: str) -> list[str]:
    first = [k for k, _h, _w in COLUMNS[level] if k != "counts"]
    seen = dict.fromkeys(first)
    for row in rows:
        seen.update(dict.fromkeys(row))
    return list(seen)
