"""What any C-FIND came to (archive query or worklist), and how its final status reads in words.

query_result.QueryResult and worklist_result.WorklistResult add their rows to FindOutcome; `finish`
is the one place a final C-FIND status becomes a failure.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..dicom.status import describe_status

PENDING = (0xFF00, 0xFF01)
CANCELLED = 0xFE00


@dataclass
class FindOutcome:
    truncated: bool = False  # stopped at the limit (more matches existed) with C-CANCEL
    status: int | None = None  # the final status code, when one came
    error: str | None = None
    # Like EchoResult.failure: an AssociationError kind ("rejected", "refused", ...), "refused-find"
    # (echo works, queries do not), "status" (a failure status), "cancelled"; None when ok.
    failure: str | None = None
    log_id: str = ""  # the association log's entry for the association, when one was kept

    @property
    def ok(self) -> bool:
        return self.failure is None

    @property
    def no_association(self) -> bool:
        return self.failure not in (None, "status", "cancelled")


def finish(result: FindOutcome, code: int, comment: str, stopping: bool, *, peer: str = "the archive",
           what: str = "the query") -> None:
    """The final response: its status, and a failure in words when it is one.

    A failure decided on our side first (cancelled, an unreadable response) stays: it is why C-CANCEL
    went out, and the status that answers it says less.
    """
    result.status = code
    if result.failure is not None:
        return
    if code == CANCELLED:
        if not stopping:
            result.failure, result.error = "status", f"{peer} cancelled {what}"
    elif 0xA000 <= code < 0xFE00 and not 0xB000 <= code <= 0xBFFF:
        comment = comment.strip()
        result.failure = "status"
        result.error = f"{peer} refused {what}: {describe_status(code)}" + (f" ({comment})" if comment else "")
