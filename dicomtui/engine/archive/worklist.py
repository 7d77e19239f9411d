"""The local worklist: Modality Worklist C-FIND answered from `.wl` files in a folder.

The format is dcmtk wlmscpfs's and Orthanc's: one DICOM data set per file, one requested procedure with
its Scheduled Procedure Step Sequence. The folder is read on every query, as those two do, so a file
dropped in or deleted shows at the next refresh.

Matching follows PS3.4 C.2.2.2 with matching.py for values (single value, wildcards, date and time
ranges, universal matching for empty keys) and C.2.2.2.6 for sequences: the key's single item matches
a stored item when all its keys match, the data set matches when at least one stored item does, and
only the matching items come back, each with just the requested attributes. (dcmtk wlmscpfs returns
every step of a matching file and by default refuses files with more than one step; Orthanc returns the
matching steps, as we do.)
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pydicom import dcmread
from pydicom.datadict import dictionary_VR
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.sequence import Sequence
from pydicom.tag import Tag

from . import matching

_CHARSET = Tag("SpecificCharacterSet")
_STEPS = Tag("ScheduledProcedureStepSequence")
# Not attributes of a worklist item: how the request was encoded, or a Q/R level some SCUs add.
_NOT_KEYS = frozenset({_CHARSET, Tag("QueryRetrieveLevel")})


@dataclass
class WorklistAnswer:
    matches: list[Dataset] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # files that could not be read, in words


def worklist_files(folder: Path) -> list[Path]:
    """The `.wl` files of `folder` (not its subfolders), sorted by name; none if it does not exist."""
    try:
        return sorted(p for p in folder.iterdir() if p.suffix.lower() == ".wl" and p.is_file())
    except (FileNotFoundError, NotADirectoryError):
        return []


def read_item(path: Path) -> Dataset:
    """One worklist file; dump2dcm writes some without a preamble, hence force. Forced reading makes a
    data set of almost anything: one without the (Type 1) Scheduled Procedure Step Sequence is refused."""
    ds = dcmread(path, force=True)
    if _STEPS not in ds:
        raise ValueError("not a worklist item (it has no Scheduled Procedure Step Sequence)")
    return ds


def _vr(elem: DataElement) -> str:
    try:
        return dictionary_VR(elem.tag)
    except KeyError:
        return elem.VR


def _universal(key: DataElement) -> bool:
    if key.VR == "SQ":
        items = key.value or []
        return not items or all(_universal(e) for e in items[0] if e.tag not in _NOT_KEYS)
    return matching.is_universal(key.value)


def _matches(key: DataElement, stored: Dataset) -> bool:
    """Whether `stored` matches one key of the identifier (absent attributes match only universally)."""
    if _universal(key):
        return True
    have = stored.get(key.tag)
    if have is None:
        return False
    if key.VR == "SQ":
        return bool(_matching_items(key, have))
    return matching.match(_vr(key), key.value, have.value)


def _keys(item: Dataset) -> list[DataElement]:
    return [e for e in item if e.tag not in _NOT_KEYS and e.tag.element != 0]


def _matching_items(key: DataElement, stored: DataElement) -> list[Dataset]:
    """The stored items the key's single item matches (every item when it asks nothing)."""
    items = list(stored.value or []) if stored.VR == "SQ" else []
    if not key.value:
        return items
    wanted = _keys(key.value[0])
    return [item for item in items if all(_matches(k, item) for k in wanted)]


def _response(keys: list[DataElement], stored: Dataset) -> Dataset:
    """The requested attributes of `stored` (empty when it lacks one); sequences per C.2.2.2.6."""
    out = Dataset()
    for key in keys:
        have = stored.get(key.tag)
        if key.VR == "SQ":
            if have is None or have.VR != "SQ":
                out.add(DataElement(key.tag, "SQ", Sequence([])))
            elif not key.value:  # an empty key sequence asks for the whole sequence
                out.add(DataElement(key.tag, "SQ", Sequence([_copy(i) for i in have.value])))
            else:
                asked = _keys(key.value[0])
                out.add(DataElement(key.tag, "SQ", Sequence([_response(asked, i) for i in
                                                             _matching_items(key, have)])))
        elif have is None:
            out.add(DataElement(key.tag, _vr(key), None))
        else:
            out.add(DataElement(key.tag, have.VR, have.value))
    return out


def _copy(item: Dataset) -> Dataset:
    out = Dataset()
    for elem in item:
        if elem.tag == _CHARSET:
            continue
        value = Sequence([_copy(i) for i in elem.value]) if elem.VR == "SQ" else elem.value
        out.add(DataElement(elem.tag, elem.VR, value))
    return out


_TEXT_VRS = frozenset({"LO", "LT", "PN", "SH", "ST", "UC", "UT"})  # the VRs a character set applies to


def _non_ascii(ds: Dataset) -> bool:
    for elem in ds:
        if elem.VR == "SQ":
            if any(_non_ascii(item) for item in elem.value):
                return True
        elif elem.VR in _TEXT_VRS and not matching.text(elem.value).isascii():
            return True
    return False


def match_item(identifier: Dataset, stored: Dataset) -> Dataset | None:
    """The response for one worklist item, or None when it does not match the identifier."""
    keys = _keys(identifier)
    if not all(_matches(key, stored) for key in keys):
        return None
    response = _response(keys, stored)
    if _non_ascii(response):
        # Values were decoded with the file's own character set; they go out as UTF-8.
        response.SpecificCharacterSet = "ISO_IR 192"
    return response


def iter_worklist(folder: Path, identifier: Dataset, problems: list[str] | None = None) -> Iterator[Dataset]:
    """The responses for `identifier` from the `.wl` files of `folder`, one file at a time."""
    for path in worklist_files(folder):
        try:
            stored = read_item(path)
            response = match_item(identifier, stored)
        except (OSError, InvalidDicomError, ValueError, KeyError, TypeError, AttributeError) as exc:
            if problems is not None:
                problems.append(f"{path.name}: {exc}")
            continue
        if response is not None:
            yield response


def find_worklist(folder: Path, identifier: Dataset) -> WorklistAnswer:
    """Every response at once, with the files that could not be read."""
    answer = WorklistAnswer()
    answer.matches = list(iter_worklist(folder, identifier, answer.problems))
    return answer

