"""Modality Worklist C-FIND: what a node has scheduled, asked the way a modality asks.

`query_worklist(node, calling_ae, request)` opens an association (our own, fast_association.py, as
`find` does), sends one MWL C-FIND, decodes each response as it arrives into rows (one per scheduled
step, worklist_result.py) and always releases or aborts. It never raises for network trouble: the
result says what went wrong in words. `cancel` (a threading.Event) stops it with C-CANCEL.

    from dicomtui.engine.worklist import WorklistRequest, query_worklist
    result = query_worklist(node, "DICOMTUI", WorklistRequest(date="today", station="CT01"))
"""

from __future__ import annotations

import datetime
import itertools
import threading
from collections.abc import Callable
from io import BytesIO

from ..config.model import Node
from .association_failure import AssociationError, unsupported
from .association_log import Journal, dataset_pairs
from .fast_association import FastAssociation, open_fast_association
from .find_exchange import exchange
from .find_session import closing, name_abort, name_rejection
from .worklist_diff import WorklistDiff, diff_rows, row_key
from .worklist_request import DATE_PRESETS, MWL_FIND, WorklistRequest, resolve_date
from .worklist_result import COLUMNS, KEYWORDS, ProtocolCode, WorklistResult, WorklistRow, rows_from_tree

__all__ = [
    "COLUMNS", "DATE_PRESETS", "KEYWORDS", "MWL_FIND", "ProtocolCode", "WorklistDiff", "WorklistRequest",
    "WorklistResult", "WorklistRow", "diff_rows", "query_worklist", "resolve_date", "row_key",
]

VERIFICATION = "1.2.840.10008.1.1"
IMPLICIT_LITTLE = "1.2.840.10008.1.2"
EXPLICIT_BIG = "1.2.840.10008.1.2.2"
_message_ids = itertools.count(1)


def _refused(calling_ae: str) -> str:
    return (f"this node accepts echo but refuses worklist queries from our AE title {calling_ae}; add "
            f"{calling_ae} to its list of DICOM nodes (allowed to query the worklist), or let it answer "
            "worklist C-FIND from any AE title")


def query_worklist(
    node: Node,
    calling_ae: str,
    request: WorklistRequest,
    *,
    cancel: threading.Event | None = None,
    on_row: Callable[[WorklistRow], None] | None = None,
    timeout: float | None = None,
    today: datetime.date | None = None,
    journal: Journal | None = None,
) -> WorklistResult:
    """Query `node`'s worklist; `on_row` is called from this thread for each row as it arrives.

    `cancel` is looked at as each response arrives: once set, C-CANCEL goes out, what is still under way
    is drained, and the association is aborted. `today` fixes what the date presets mean (default: the
    local date when it runs).
    """
    try:
        assoc = open_fast_association(node, calling_ae, [MWL_FIND, VERIFICATION], timeout=timeout, journal=journal,
                                      service="worklist")
    except AssociationError as exc:
        result = WorklistResult(error=exc.message, failure=exc.kind, log_id=exc.log_id)
        name_rejection(result, node, calling_ae, timeout, _refused(calling_ae))
        return result
    with closing(assoc, cancel):
        if not any(c.abstract_syntax == MWL_FIND for c in assoc.accepted_contexts):
            if unsupported(assoc, MWL_FIND):
                return WorklistResult(failure="status", error=(
                    "the node does not offer a Modality Worklist (it answered 'not supported' for the Modality "
                    "Worklist C-FIND); it may be an archive or a storage node rather than a RIS"), log_id=assoc.log_id)
            return WorklistResult(failure="refused-find", error=_refused(calling_ae), log_id=assoc.log_id)
        result = _find(assoc, request, next(_message_ids) % 0xFFFF + 1, cancel=cancel, on_row=on_row,
                       charset=node.charset, today=today)
        result.log_id = assoc.log_id
        name_abort(result, result.rows, node, calling_ae, timeout, _refused(calling_ae))
        return result


def _find(assoc: FastAssociation, request: WorklistRequest, message_id: int, *,
          cancel: threading.Event | None, on_row: Callable[[WorklistRow], None] | None,
          charset: str | None, today: datetime.date | None) -> WorklistResult:
    from pydicom.charset import convert_encodings
    from pydicom.filereader import read_dataset

    from .worklist_decode import decode_response
    from .worklist_identifier import build_identifier, encode

    result = WorklistResult()
    context = next(c for c in assoc.accepted_contexts if c.abstract_syntax == MWL_FIND)
    syntax = context.transfer_syntax[0]
    implicit, little = syntax == IMPLICIT_LITTLE, syntax != EXPLICIT_BIG
    asked = build_identifier(request, today)
    identifier = encode(asked, implicit, little)
    fallback = convert_encodings(charset) if charset else None

    def take(data: bytes) -> bool:
        try:
            tree = decode_response(read_dataset(BytesIO(data), implicit, little), fallback)
        except Exception as exc:  # noqa: BLE001 - an item we cannot read is not one to leave out silently
            result.failure = "status"
            result.error = f"the node sent a worklist item that cannot be read ({exc}); the query was stopped"
            return True
        for row in rows_from_tree(tree, result.items):
            result.rows.append(row)
            if on_row is not None:
                on_row(row)
        result.items += 1
        return False

    exchange(assoc, context, message_id, identifier, result, take=take, taken=lambda: result.items,
             limit=request.limit, cancel=cancel, peer="the node", what="the worklist query",
             log_keys=dataset_pairs(asked))
    return result
