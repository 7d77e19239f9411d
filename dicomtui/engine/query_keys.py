"""What a C-FIND gets back, as plain data, and its identifier as a pydicom Dataset.

`to_row(ds)` turns a response into keyword -> str | list[str] | None; `build_identifier(request)` makes
the Dataset a pynetdicom association sends. The request side (keys, levels, checks) is query_request.py,
re-exported here.
"""

from __future__ import annotations

import functools

from pydicom.charset import convert_encodings, decode_bytes
from pydicom.datadict import dictionary_VR, keyword_for_tag
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence
from pydicom.tag import BaseTag
from pydicom.valuerep import PN_DELIMS, TEXT_VR_DELIMS

from .query_request import (  # noqa: F401 - re-exported: the request side lives there, without pydicom
    DEFAULT_RETURN_KEYS,
    LEVELS,
    MODELS,
    NOT_IN_ROWS,
    PATIENT_KEYS,
    UNIQUE_KEYS,
    QueryRequest,
    Value,
    _asked,
    check_value,
    columns_for,
    identifier_elements,
    parse_key,
    resolve_attribute,
)

_TEXT_VRS = frozenset({"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UI",
                       "UR", "UT"})
_CHARSET_VRS = frozenset({"LO", "LT", "PN", "SH", "ST", "UC", "UT"})  # decoded with (0008,0005)
_SINGLE_TEXT = frozenset({"LT", "ST", "UT", "UR"})  # a backslash is part of the value
_SLOW = object()


def _element(tag: BaseTag, vr: str, value: str) -> DataElement:
    if vr == "SQ":
        return DataElement(tag, vr, Sequence([]))
    if value == "":
        return DataElement(tag, vr, None)
    if "\\" in value and vr not in ("LT", "ST", "UT", "UR"):
        return DataElement(tag, vr, value.split("\\"))
    return DataElement(tag, vr, value)


def build_identifier(request: QueryRequest) -> Dataset:
    """The C-FIND identifier: level, matching keys, default return keys for the level, extra return keys."""
    ds = Dataset()
    for tag, (vr, value) in identifier_elements(request).items():
        ds.add(_element(tag, vr, value))
    return ds


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def element_value(elem: DataElement) -> Value:
    """Plain data: str, list of str for several values, None for none; names as Family^Given=..."""
    value = elem.value
    if elem.VR == "SQ":
        return None if not value else f"{len(value)} item(s)"
    if value is None or value == "" or value == b"":
        return None
    if isinstance(value, list | MultiValue | tuple):
        items = [_text(v) for v in value]
        if not items:
            return None
        return items if len(items) > 1 else items[0]
    text = _text(value)
    return text if text != "" else None


@functools.lru_cache(maxsize=4096)
def _dictionary_vr(tag: int) -> str | None:
    try:
        return dictionary_VR(tag)
    except KeyError:
        return None


def _raw_text(raw: RawDataElement, encodings: list[str]) -> Value | object:
    """A text value straight from its bytes, or _SLOW for pydicom to convert.

    pydicom's own conversion is most of the cost of a large C-FIND (about 0.45 ms of 0.6 per response of
    ten keys); text needs only decoding with the response's character set and splitting.
    """
    vr = raw.VR or _dictionary_vr(raw.tag)
    data = raw.value
    if vr not in _TEXT_VRS or not isinstance(data, bytes):
        return _SLOW
    if vr == "PN":  # as pydicom does: values, then component groups, each decoded on its own
        parts = []
        for value in data.rstrip(b" \0").split(b"\\"):
            groups = [decode_bytes(g, encodings, PN_DELIMS) for g in value.split(b"=")]
            while groups and not groups[-1]:
                groups.pop()
            parts.append("=".join(groups).rstrip(" "))
    elif vr in _CHARSET_VRS:
        values = [data] if vr in _SINGLE_TEXT else data.split(b"\\")
        parts = [decode_bytes(v, encodings, TEXT_VR_DELIMS).rstrip(" \0") for v in values]
    else:
        text = data.decode("latin-1")
        parts = [text] if vr in _SINGLE_TEXT else text.split("\\")
        parts = [p.strip(" \0") for p in parts]
    if len(parts) == 1:
        return parts[0] or None
    return parts if any(parts) else None


def to_row(ds: Dataset, encodings: list[str] | None = None) -> dict[str, Value]:
    """keyword -> value for every attribute of a response (private ones as GGGGEEEE).

    `encodings`: Python codecs for the text (default: what the response's (0008,0005) says).
    """
    if encodings is None:
        declared = ds.get("SpecificCharacterSet")
        encodings = convert_encodings(declared) if declared else ["iso8859"]
    row: dict[str, Value] = {}
    for tag in list(ds.keys()):
        if tag in NOT_IN_ROWS:
            continue
        item = ds.get_item(tag)
        value = _raw_text(item, encodings) if isinstance(item, RawDataElement) else _SLOW
        if value is _SLOW:
            item = ds[tag]
            value = element_value(item)
        key = keyword_for_tag(tag) or f"{tag.group:04X}{tag.element:04X}"
        row[key] = value  # type: ignore[assignment]
    return row
