"""What the Worklist screen shows of its rows: the columns for a width, each cell, the order, the detail.

Plain data in, text out; no widgets, and no engine import (rows are the engine's WorklistRow, read by
attribute), so the screen stays quick to open.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from rich.cells import cell_len
from rich.text import Text

from ..dicom.phi import MASK, is_phi
from .query_levels import sort_key, text
from .widgets.result_table import printable


@dataclass(frozen=True)
class Column:
    key: str  # a WorklistRow field, or "start" / "procedure" (worked out from two fields)
    heading: str
    width: int | None  # None: a share of what is left


PADDING = 2  # cells around each column (ResultTable's padding, both sides)
LEAST_SHARE = 14  # a "what is left" column narrower than this cuts most names and procedures
ID_WIDTHS = (10, 16)  # Patient ID: as wide as the longest ID shown, within these

_START_DAY = Column("start", "Time", 5)  # every row on one day: the day is said in the status line instead
_START = Column("start", "Start", 11)  # MM-DD HH:MM
_PATIENT = Column("patient_name", "Patient", None)
_ID = Column("patient_id", "Patient ID", 14)
_BORN = Column("birth_date", "Born", 10)
_SEX = Column("sex", "Sex", 3)
_ACCESSION = Column("accession_number", "Accession", 10)
_MODALITY = Column("modality", "Mod", 3)
_STATION = Column("station_ae_title", "Station", 8)
_PROCEDURE = Column("procedure", "Procedure", None)  # the step's description, else the requested one
_REQUESTED = Column("requested_procedure_description", "Req. procedure", None)
_STEP = Column("step_description", "Step", None)
_STATUS = Column("status", "Status", 9)
_REFERRING = Column("referring_physician", "Referring", 16)
# Past the right edge (left and right scroll to them), at widths of their own.
_REQUESTED_AFTER = Column("requested_procedure_description", "Requested procedure", 28)

# What the table shows within its width, the most first: everything the issue lists; without referring
# physician and with one procedure column; at 80 columns, what a modality's own list shows. Whatever a set
# leaves out of AFTER follows it past the right edge, so every column is there at every width.
_SETS: tuple[tuple[Column, ...], ...] = (
    (_PATIENT, _ID, _BORN, _SEX, _ACCESSION, _MODALITY, _REQUESTED, _STEP, _STATION, _STATUS, _REFERRING),
    (_PATIENT, _ID, _BORN, _SEX, _ACCESSION, _MODALITY, _PROCEDURE, _STATION, _STATUS),
    (_PATIENT, _ID, _ACCESSION, _MODALITY, _STATION, _PROCEDURE),
)
_AFTER = (_BORN, _SEX, _STATUS, _REFERRING, _REQUESTED_AFTER)


def least_width(columns: list[Column] | tuple[Column, ...]) -> int:
    """The cells `columns` need with each "what is left" column LEAST_SHARE wide."""
    return sum((LEAST_SHARE if c.width is None else c.width) + PADDING for c in columns)


def id_width(rows: list[Any]) -> int:
    """Patient ID as wide as the longest one shown (never under its heading, never over ID_WIDTHS[1])."""
    longest = max((cell_len(text(row.patient_id)) for row in rows), default=_ID.width)
    return max(ID_WIDTHS[0], min(ID_WIDTHS[1], longest))


def columns_for(width: int, one_day: bool, patient_id: int = 14) -> tuple[list[Column], int]:
    """The columns for a table `width` cells wide, and how many of them fill that width (the rest follow
    past its right edge); the start column is a time alone when `one_day`, Patient ID `patient_id` wide."""
    start = _START_DAY if one_day else _START
    sets = [[start, *(replace(c, width=patient_id) if c is _ID else c for c in chosen)] for chosen in _SETS]
    shown = next((s for s in sets if least_width(s) <= width), sets[-1])
    keys = {c.key for c in shown}
    return shown + [c for c in _AFTER if c.key not in keys], len(shown)


def _day(date: str) -> str:
    return f"{date[:4]}-{date[4:6]}-{date[6:8]}" if len(date) == 8 and date.isdigit() else date


def _clock(time: str) -> str:
    return f"{time[:2]}:{time[2:4]}" if len(time) >= 4 and time[:4].isdigit() else time


def value(row: Any, key: str, one_day: bool = False) -> str:
    """One cell as text."""
    if key == "start":
        clock = _clock(text(row.start_time))
        if one_day:
            return clock
        day = _day(text(row.start_date))
        return f"{day[5:] if len(day) == 10 else day} {clock}".strip()
    if key == "procedure":
        return text(row.step_description or row.requested_procedure_description)
    if key == "birth_date":
        return _day(text(row.birth_date))
    return text(getattr(row, key))


# The WorklistRow fields that identify a patient (dicom/phi.py's keywords, as the row names them).
PHI_FIELDS = frozenset({"patient_name", "patient_id", "birth_date", "accession_number", "referring_physician",
                        "performing_physician"})


def cells(row: Any, columns: list[Column], one_day: bool, mask: bool = False) -> list[str]:
    """The row's cells; with `mask`, patient-identifying ones masked (PHI masking)."""
    return [MASK if mask and c.key in PHI_FIELDS and value(row, c.key, one_day) else value(row, c.key, one_day)
            for c in columns]


def order_key(row: Any) -> tuple[str, ...]:
    """The worklist's own order, a modality's: by start, then station and accession (as `dicomtui worklist`)."""
    return tuple(text(v) for v in (row.start_date, row.start_time, row.station_ae_title, row.accession_number,
                                   row.step_id))


def column_sort_key(row: Any, key: str) -> tuple:
    if key == "start":
        return (0, 0.0, "".join(order_key(row)))
    return sort_key(value(row, key))


def one_day(rows: list[Any]) -> str | None:
    """The start date every row shares (YYYYMMDD), or None."""
    days = {text(row.start_date) for row in rows}
    return next(iter(days)) if len(days) == 1 and next(iter(days)) else None


def haystack(row: Any, fields: tuple[str, ...]) -> str:
    """What the filter looks in: every column of the row, "\\n" between them so no match spans two."""
    parts = [text(getattr(row, name)) for name in fields]
    parts += [code.text() for code in row.protocol]
    return "\n".join(parts).casefold()


def day_text(date: str) -> str:
    return _day(date)


def detail(row: Any, mask: bool = False) -> Text:
    """Every attribute of the row's worklist item, sequences nested; the row's own step is marked ▸. With
    `mask`, patient-identifying values are masked."""
    out = Text()
    _inline(out, {k: v for k, v in row.attributes.items() if not _is_sequence(v)}, mask)
    for keyword, items in row.attributes.items():
        if not _is_sequence(items):
            continue
        out.append(f"\n{keyword}", style="bold")
        out.append(f" ({len(items)})", style="dim")
        for index, item in enumerate(items):
            ours = keyword == "ScheduledProcedureStepSequence" and index == row.step
            out.append("\n ▸ " if ours else "\n   ", style="bold" if ours else "")
            _inline(out, item, mask)
    return out


def _is_sequence(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(item, dict) for item in value)


def _inline(out: Text, attributes: dict[str, Any], mask: bool = False) -> None:
    """`Keyword value` pairs on one flowing line; a nested sequence as [ ... ] per item."""
    first = True
    for keyword, item in attributes.items():
        if not first:
            out.append("  ")
        first = False
        out.append(f"{keyword} ", style="dim")
        if _is_sequence(item):
            for nested in item:
                out.append("[")
                _inline(out, nested, mask)
                out.append("]")
        elif mask and is_phi(keyword) and text(item):
            out.append(MASK)
        else:
            out.append(printable(text(item)) or "—")
