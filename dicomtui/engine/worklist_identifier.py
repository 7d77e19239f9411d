"""The MWL C-FIND identifier: what a modality really asks for, with the step's keys inside its sequence.

PS3.4 K.6.1.2.2: station, modality, start date/time and performing physician are attributes of the
Scheduled Procedure Step, so they are matched inside a Scheduled Procedure Step Sequence of one item
(sequence matching, C.2.2.2.6); patient and request attributes sit at the top level. Sent at the top
level instead, a station or modality key is not where a worklist SCP looks for it.
"""

from __future__ import annotations

import datetime

from pydicom import config
from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset
from pydicom.sequence import Sequence

# The keys live with the request (no pydicom there), so command_lines.py can write the same identifier.
from .worklist_request import (
    STEP_KEYS,
    STEP_SEQUENCES,
    TOP_KEYS,
    WorklistRequest,
    matching_values,
)


def _set(ds: Dataset, keyword: str, value: str) -> None:
    # None: zero length, universal matching (and "return it"). No validation: pydicom would warn that
    # a wildcard (CT*, M?) is not a valid CS or AE value, which in a matching key it is.
    ds.add(DataElement(tag_for_keyword(keyword), dictionary_VR(keyword), value or None,
                       validation_mode=config.IGNORE))


def build_identifier(request: WorklistRequest, today: datetime.date | None = None) -> Dataset:
    """The identifier as a pydicom Dataset; non-ASCII filters make it declare UTF-8 (ISO_IR 192)."""
    ds = Dataset()
    top, step_values = matching_values(request, today)
    if any(not v.isascii() for v in (*top.values(), *step_values.values())):
        ds.SpecificCharacterSet = "ISO_IR 192"  # pydicom writes every text value of the tree as UTF-8
    for keyword in TOP_KEYS:
        _set(ds, keyword, top.get(keyword, ""))
    step = Dataset()
    for keyword in STEP_KEYS:
        _set(step, keyword, step_values.get(keyword, ""))
    for keyword in STEP_SEQUENCES:
        setattr(step, keyword, Sequence([]))
    ds.ScheduledProcedureStepSequence = Sequence([step])
    return ds


def encode(ds: Dataset, implicit: bool, little: bool) -> bytes:
    """`ds` in the transfer syntax the SCP accepted for our presentation context."""
    buffer = DicomBytesIO()
    buffer.is_implicit_VR, buffer.is_little_endian = implicit, little
    write_dataset(buffer, ds)
    return buffer.getvalue()
