"""A worklist response (pydicom Dataset) as plain data, nested sequences included, in the right charset.

Text is decoded from its bytes with the response's Specific Character Set (GB18030, ISO 2022 IR 87...),
or with the node's fallback when the SCP declares none (dcmtk wlmscpfs sends none by default), and the
same character set applies inside every sequence item unless an item declares its own.
"""

from __future__ import annotations

from pydicom.charset import convert_encodings
from pydicom.datadict import dictionary_VR, keyword_for_tag
from pydicom.dataset import Dataset

from .query_keys import to_row
from .worklist_result import Tree


def _vr(ds: Dataset, tag) -> str | None:
    vr = ds.get_item(tag).VR
    if vr:
        return vr
    try:
        return dictionary_VR(tag)
    except KeyError:
        return None


def decode_tree(ds: Dataset, encodings: list[str]) -> Tree:
    """keyword -> value for every attribute; a sequence is a list of such dicts."""
    own = ds.get("SpecificCharacterSet")
    if own:
        encodings = convert_encodings(own)
    sequences = [tag for tag in ds.keys() if _vr(ds, tag) == "SQ"]
    tree: Tree = to_row(ds, encodings)
    for tag in sequences:
        key = keyword_for_tag(tag) or f"{tag.group:04X}{tag.element:04X}"
        tree[key] = [decode_tree(item, encodings) for item in ds[tag].value or []]
    return tree


def decode_response(ds: Dataset, fallback: list[str] | None) -> Tree:
    """A response's identifier as a tree; `fallback` codecs when it declares no character set."""
    declared = ds.get("SpecificCharacterSet")
    if declared:
        encodings = convert_encodings(declared)
    else:
        encodings = fallback or ["iso8859"]
    return decode_tree(ds, encodings)
