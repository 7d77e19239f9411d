"""One C-FIND over a FastAssociation: the request out, each response's identifier decoded as it comes."""

from __future__ import annotations

import threading
from collections.abc import Callable
from io import BytesIO

from .fast_association import FastAssociation, PeerAborted
from .query_request import QueryRequest, columns_for, identifier_bytes
from .query_result import PENDING, QueryResult, decode_row, finish, take_row
from .wire import commands

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
    stopping = False  # C-CANCEL sent: discard and drain what still comes
    try:
        assoc.send(context.context_id, commands.find_request(message_id, model), identifier)
        # The archive is searching now: the time to import what reads its answers.
        from pydicom.charset import convert_encodings
        from pydicom.filereader import read_dataset

        fallback = convert_encodings(charset) if charset else None
        while True:
            message = assoc.receive()
            code = message.command.status
            if code is None:
                result.failure, result.error = "aborted", "the archive answered without a status"
                assoc.abort()
                return result
            if code in PENDING:
                if stopping:
                    continue
                if request.limit is not None and len(result.rows) >= request.limit:
                    result.truncated, stopping = True, True
                    assoc.send(context.context_id, commands.cancel_request(message_id))
                    continue
                if not message.data:
                    continue
                row = decode_row(read_dataset(BytesIO(message.data), implicit, little), fallback)
                if take_row(result, row, on_row, cancel):
                    stopping = True
                    assoc.send(context.context_id, commands.cancel_request(message_id))
                continue
            finish(result, code, message.command.error_comment, stopping)
            break
    except PeerAborted:
        result.failure, result.error = "aborted", "the archive aborted the association during the query"
        return result
    except TimeoutError:
        result.failure, result.error = "timeout", f"no C-FIND response within {assoc.timeouts.dimse:g} s"
        assoc.abort()
        return result
    if cancel is not None and cancel.is_set() and result.failure is None:
        result.failure, result.error = "cancelled", "cancelled"
    return result


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
