"""What a C-FIND gives back, and the bookkeeping both C-FIND paths (query.py, query_fast.py) share."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from .find_outcome import CANCELLED, PENDING, FindOutcome, finish
from .query_request import Value

__all__ = ["CANCELLED", "PENDING", "QueryResult", "Row", "decode_row", "finish", "take_row"]

Row = dict[str, Value]


@dataclass
class QueryResult(FindOutcome):
    """Truncated, status, error, failure and ok as FindOutcome has them, and the matches."""

    rows: list[Row] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)  # the keys asked for, in display order


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

