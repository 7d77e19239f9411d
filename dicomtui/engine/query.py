"""C-FIND: query an archive at any level of either model, streaming rows as they arrive.

`find(node, calling_ae, request)` opens an association, runs one query and always releases or aborts;
`find_on(assoc, request)` runs a query on an association the caller owns and leaves it usable (a limit or
a cancel sends C-CANCEL and drains the remaining responses: an abandoned C-FIND poisons the association).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable

from ..config.model import Node
from .association_failure import AssociationError, unsupported
from .association_log import Journal
from .fast_association import open_fast_association
from .find_outcome import PENDING, finish
from .find_session import closing, name_abort, name_rejection
from .query_fast import find_fast
from .query_request import LEVELS, MODELS, UNIQUE_KEYS, QueryRequest, columns_for, parse_key, resolve_attribute
from .query_result import QueryResult, Row, decode_row, take_row

__all__ = [  # and build_identifier, element_value, to_row: see __getattr__
    "FIND_MODELS", "LEVELS", "MODELS", "UNIQUE_KEYS", "QueryRequest", "QueryResult", "Row", "columns_for", "find",
    "find_on", "parse_key", "resolve_attribute",
]

# UIDs as text: importing pynetdicom for its constants cost `dicomtui find` a fifth of its start-up.
Verification = "1.2.840.10008.1.1"
FIND_MODELS = {"patient": "1.2.840.10008.5.1.4.1.2.1.1",  # Patient Root Q/R Information Model - FIND
               "study": "1.2.840.10008.5.1.4.1.2.2.1"}  # Study Root Q/R Information Model - FIND
_message_ids = itertools.count(1)
_DECODING = ("build_identifier", "element_value", "to_row")  # need pydicom: imported when first asked for


def __getattr__(name: str):
    if name in _DECODING:
        from . import query_keys

        return getattr(query_keys, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def find_on(
    assoc,  # a pynetdicom Association the caller owns
    request: QueryRequest,
    *,
    cancel: threading.Event | None = None,
    on_row: Callable[[Row], None] | None = None,
    charset: str | None = None,
) -> QueryResult:
    """Run one C-FIND on an open association; the association stays usable unless the peer broke it.

    `charset` decodes responses that do not declare (0008,0005). `on_row(row)` is called from this
    thread for each match as it arrives. Never raises for what the archive answers.
    """
    from pydicom.charset import convert_encodings

    from .query_keys import build_identifier

    result = QueryResult(columns=columns_for(request))
    model = FIND_MODELS[request.model]
    fallback = convert_encodings(charset) if charset else None
    msg_id = next(_message_ids) % 0xFFFF + 1
    stopping = False  # C-CANCEL sent: discard and drain what still comes
    last = time.monotonic()
    for status, identifier in assoc.send_c_find(build_identifier(request), model, msg_id=msg_id):
        if "Status" not in status:
            # Empty: the wait for a response ended without one; early means the peer aborted or closed.
            waited = time.monotonic() - last
            aborted = assoc.is_aborted or waited < 0.9 * (assoc.dimse_timeout or 30)
            result.failure = "aborted" if aborted else "timeout"
            result.error = ("the archive aborted the association during the query" if aborted else
                            f"no C-FIND response within {assoc.dimse_timeout:g} s")
            if assoc.is_established:
                assoc.abort()
            return result
        code = int(status.Status)
        last = time.monotonic()
        if code in PENDING:
            if stopping:
                continue
            if request.limit is not None and len(result.rows) >= request.limit:
                result.truncated, stopping = True, True
                assoc.send_c_cancel(msg_id, query_model=model)
                continue
            if identifier is None:  # pynetdicom could not decode it (it logged why)
                continue
            if take_row(result, decode_row(identifier, fallback), on_row, cancel):
                stopping = True
                assoc.send_c_cancel(msg_id, query_model=model)
            continue
        finish(result, code, str(status.get("ErrorComment", "") or ""), stopping)
        break
    if cancel is not None and cancel.is_set() and result.failure is None:
        result.failure, result.error = "cancelled", "cancelled"
    return result


def _refused_queries(calling_ae: str) -> str:
    return (f"this archive accepts echo but refuses queries from our AE title {calling_ae}; add {calling_ae} to "
            f"its list of DICOM nodes (allowed to query), or let it answer C-FIND from any AE title")


def find(
    node: Node,
    calling_ae: str,
    request: QueryRequest,
    *,
    cancel: threading.Event | None = None,
    on_row: Callable[[Row], None] | None = None,
    timeout: float | None = None,
    journal: Journal | None = None,
) -> QueryResult:
    """Query `node` on an association of its own; never raises for network trouble.

    The association is our own (fast_association.py), not pynetdicom's: responses stream about
    three times faster. find_on keeps serving pynetdicom associations that callers own.
    """
    model = FIND_MODELS[request.model]
    try:
        assoc = open_fast_association(node, calling_ae, [model, Verification], timeout=timeout, journal=journal,
                                      service="find")
    except AssociationError as exc:
        result = QueryResult(columns=columns_for(request), error=exc.message, failure=exc.kind, log_id=exc.log_id)
        name_rejection(result, node, calling_ae, timeout, _refused_queries(calling_ae))
        return result
    with closing(assoc, cancel):
        if not any(c.abstract_syntax == model for c in assoc.accepted_contexts):
            if unsupported(assoc, model):
                return QueryResult(columns=columns_for(request), failure="status", log_id=assoc.log_id, error=(
                    f"the node does not offer C-FIND with the {request.model} root model (it answered 'not "
                    "supported'); it may be a storage-only node, or try the other model"))
            verification = any(c.abstract_syntax == Verification for c in assoc.accepted_contexts)
            text = (_refused_queries(calling_ae) if verification else
                    f"the archive accepted the association but refused the {request.model} root C-FIND "
                    "information model; it may not support it, or not for our AE title")
            return QueryResult(columns=columns_for(request), error=text, log_id=assoc.log_id,
                               failure="refused-find" if verification else "status")
        msg_id = next(_message_ids) % 0xFFFF + 1
        result = find_fast(assoc, request, model, msg_id, cancel=cancel, on_row=on_row, charset=node.charset)
        result.log_id = assoc.log_id
        name_abort(result, result.rows, node, calling_ae, timeout, _refused_queries(calling_ae))
        return result
