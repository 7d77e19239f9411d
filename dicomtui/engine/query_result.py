"""What a C-FIND gives back, and the bookkeeping both C-FIND paths (query.py, query_fast.py) share."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from ..dicom.status import describe_status
from .query_request import Value

PENDING = (0xFF00, 0xFF01)
CANCELLED = 0xFE00

Row = dict[str, Value]


@dataclass
class QueryResult:
    rows: list[Row] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)  # the keys asked for, in display order
    truncated: bool = False  # stopped at the limit (more matches existed) with C-CANCEL
    status: int | None = None  # the final status code, when one came
    error: str | None = None
    # Like EchoResult.failure: an AssociationError kind ("rejected", "refused", ...), "refused-find"
    # (echo works, queries do not), "status" (a failure status), "cancelled"; None when ok.
    failure: str | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None

    @property
    def no_association(self) -> bool:
        return self.failure not in (None, "status", "cancelled")


def decode_row(ds, fallback: list[str] | None) -> Row:
    """A response's identifier (a pydicom Dataset) as a row; `fallback` codecs when it declares no charset."""
    from pydicom.charset import convert_encodings  # here: find sends its query before importing pydicom

    from .query_keys import to_row

    declared = ds.get("SpecificCharacterSet")
    if declared:
        return to_row(ds, convert_encodings(declared))
    if fallback:
        implicit, little = ds.original_encoding
        ds.set_original_encoding(implicit, little, fallback)  # for values pydicom converts itself
        return to_row(ds, fallback)
    return to_row(ds)


def take_row(result: QueryResult, row: Row, on_row: Callable[[Row], None] | None,
             cancel: threading.Event | None) -> bool:
    """Keep a match; True when the caller cancelled and a C-CANCEL should go out."""
    result.rows.append(row)
    if on_row is not None:
        on_row(row)
    if cancel is not None and cancel.is_set():
        result.failure, result.error = "cancelled", "cancelled"
        return True
    return False


def finish(result: QueryResult, code: int, comment: str, stopping: bool) -> None:
    """The final response: its status, and a failure in words when it is one."""
    result.status = code
    if code == CANCELLED:
        if not stopping:
            result.failure, result.error = "status", "the archive cancelled the query"
    elif 0xA000 <= code < 0xFE00 and not 0xB000 <= code <= 0xBFFF:
        comment = comment.strip()
        result.failure = "status"
        result.error = f"the archive refused the query: {describe_status(code)}" + (f" ({comment})" if comment else "")
