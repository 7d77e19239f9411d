"""The receiver's Modality Worklist SCP: MWL C-FIND answered from the local worklist folder.

qr.py's C-FIND handler hands over every request whose SOP class is the Modality Worklist model
(pynetdicom allows one handler per event). Matching and the `.wl` files are archive/worklist.py's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pynetdicom import evt

from ..archive.worklist import iter_worklist
from ..worklist_request import MWL_FIND
from .events import ReceiverProblem

if TYPE_CHECKING:
    from .service import Receiver

CANCELLED = 0xFE00
PENDING = 0xFF00
UNABLE_TO_PROCESS = 0xC001


def is_worklist(event: evt.Event) -> bool:
    return str(event.request.AffectedSOPClassUID) == MWL_FIND


def worklist_responses(receiver: Receiver, event: evt.Event):
    """pynetdicom's C-FIND generator for one MWL request."""
    folder = receiver.settings.worklists
    if folder is None:  # no worklist configured: an empty one, not an error
        return
    calling = event.assoc.requestor.ae_title
    problems: list[str] = []
    try:
        identifier = event.identifier
        for match in iter_worklist(folder, identifier, problems):
            if event.is_cancelled:
                yield CANCELLED, None
                return
            yield PENDING, match
    except Exception as exc:  # noqa: BLE001 - a request we cannot read: answer a failure, keep serving
        receiver.emit(ReceiverProblem(f"worklist C-FIND from {calling} failed: {exc}"))
        yield UNABLE_TO_PROCESS, None
        return
    finally:
        if problems:
            receiver.emit(ReceiverProblem(
                f"worklist C-FIND from {calling}: {len(problems)} file(s) in {folder} could not be read and were "
                f"left out ({'; '.join(problems[:3])}{'; ...' if len(problems) > 3 else ''})"))
