"""One C-FIND over a FastAssociation: the request out, each response's identifier decoded as it comes."""

from __future__ import annotations

import threading
from collections.abc import Callable
from io import BytesIO

from .fast_association import FastAssociation
from .find_exchange import exchange
from .query_request import QueryRequest, columns_for, identifier_bytes
from .query_result import QueryResult, decode_row

IMPLICIT_LITTLE = "1.2.840.10008.1.2"
EXPLICIT_BIG = "1.2.840.10008.1.2.2"


def find_fast(
    assoc: FastAssociation,
    request: QueryRequest,
    model: str,
    message_id: int,
    *,
    cancel: threading.Event | None = None,
    on_row: Callable | None = None,
    charset: str | None = None,
):
    """Like query.find_on, on our own association."""
    result = QueryResult(columns=columns_for(request))
    context = next(c for c in assoc.accepted_contexts if c.abstract_syntax == model)
    syntax = context.transfer_syntax[0]
    implicit, little = syntax == IMPLICIT_LITTLE, syntax != EXPLICIT_BIG
    try:
        identifier = (identifier_bytes(request, not implicit) if little else None) or _encode(request, implicit,
                                                                                              little)
    except Exception as exc:  # noqa: BLE001 - a value the key parser let through that pydicom cannot write
        result.failure, result.error = "status", f"the query could not be encoded ({exc}); check the keys' values"
        return result
    reader = _Reader(implicit, little, charset)

    def take(data: bytes) -> bool:
        row = reader.row(data)
        result.rows.append(row)
        if on_row is not None:
            on_row(row)
        return False

    exchange(assoc, context, message_id, identifier, result, take=take, taken=lambda: len(result.rows),
             limit=request.limit, cancel=cancel, peer="the archive", what="the query",
             while_searching=reader.prepare, log_keys=_log_keys(request))
    return result


def _log_keys(request: QueryRequest) -> list[tuple[str, str]]:
    """What the association log shows of the request: its level, matching keys and return keys."""
    keys = [("QueryRetrieveLevel", request.level), *((str(k), str(v)) for k, v in request.keys.items())]
    asked = {k for k, _ in keys}
    return keys + [(str(k), "") for k in request.return_keys if str(k) not in asked]


class _Reader:
    """Decodes identifiers. pydicom is imported in `prepare`, once the request is out: the archive is
    searching then, and `dicomtui find` starts faster without it."""

    def __init__(self, implicit: bool, little: bool, charset: str | None) -> None:
        self.implicit, self.little, self.charset = implicit, little, charset
        self.fallback: list[str] | None = None
        self.read = None

    def prepare(self) -> None:
        from pydicom.charset import convert_encodings
        from pydicom.filereader import read_dataset

        self.fallback = convert_encodings(self.charset) if self.charset else None
        self.read = read_dataset

    def row(self, data: bytes) -> dict:
        if self.read is None:
            self.prepare()
        return decode_row(self.read(BytesIO(data), self.implicit, self.little), self.fallback)


def _encode(request: QueryRequest, implicit: bool, little: bool) -> bytes:
    """pydicom's encoding, for what identifier_bytes leaves to it (big endian, sequences, numbers)."""
    from pydicom.filebase import DicomBytesIO
    from pydicom.filewriter import write_dataset

    from .query_keys import build_identifier

    ds = build_identifier(request)
    buffer = DicomBytesIO()
    buffer.is_implicit_VR, buffer.is_little_endian = implicit, little
    write_dataset(buffer, ds)
    return buffer.getvalue()
