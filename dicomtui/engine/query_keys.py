"""What a C-FIND asks and what it gets back, as plain data: keys typed by users, the identifier, the rows.

`parse_key("StudyDate=20240101-20240131")` checks what a user typed; `build_identifier(request)` makes the
Dataset sent to the archive; `to_row(ds)` turns a response into keyword -> str | list[str] | None.
"""

from __future__ import annotations

import datetime
import difflib
import functools
import re
from dataclasses import dataclass, field

from pydicom.charset import convert_encodings, decode_bytes
from pydicom.datadict import dictionary_VR, keyword_dict, keyword_for_tag, tag_for_keyword
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence
from pydicom.tag import BaseTag, Tag
from pydicom.valuerep import PN_DELIMS, TEXT_VR_DELIMS

from ..dicom.validation import InvalidValue

LEVELS = ("PATIENT", "STUDY", "SERIES", "IMAGE")
MODELS = ("patient", "study")
UNIQUE_KEYS = {"PATIENT": "PatientID", "STUDY": "StudyInstanceUID", "SERIES": "SeriesInstanceUID",
               "IMAGE": "SOPInstanceUID"}
PATIENT_KEYS = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex")
DEFAULT_RETURN_KEYS = {
    "PATIENT": PATIENT_KEYS,
    "STUDY": ("StudyDate", "StudyTime", "AccessionNumber", "StudyDescription", "ModalitiesInStudy",
              "StudyInstanceUID", "NumberOfStudyRelatedSeries", "NumberOfStudyRelatedInstances"),
    "SERIES": ("Modality", "SeriesNumber", "SeriesDescription", "SeriesInstanceUID",
               "NumberOfSeriesRelatedInstances"),
    "IMAGE": ("SOPClassUID", "SOPInstanceUID", "InstanceNumber"),
}
# Not part of a row: how the response was encoded, not what it says.
NOT_IN_ROWS = frozenset({BaseTag(0x00080005), BaseTag(0x00080052)})
_UID = re.compile(r"^[0-9]+(\.[0-9]+)*$")
_TAG = re.compile(r"^\(?\s*([0-9A-Fa-f]{4})\s*,\s*([0-9A-Fa-f]{4})\s*\)?$")

Value = str | list[str] | None
_TEXT_VRS = frozenset({"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UI",
                       "UR", "UT"})
_CHARSET_VRS = frozenset({"LO", "LT", "PN", "SH", "ST", "UC", "UT"})  # decoded with (0008,0005)
_SINGLE_TEXT = frozenset({"LT", "ST", "UT", "UR"})  # a backslash is part of the value
_SLOW = object()


@dataclass
class QueryRequest:
    """One C-FIND: `keys` are matching keys (keyword or tag -> value; "" asks for the value only)."""

    level: str = "STUDY"
    model: str = "study"
    keys: dict[str, str] = field(default_factory=dict)
    return_keys: list[str] = field(default_factory=list)  # extra: keyword, "(gggg,eeee)" or "gggg,eeee"
    limit: int | None = None

    def __post_init__(self) -> None:
        self.level = str(self.level).upper()
        self.model = str(self.model).lower()
        if self.level not in LEVELS:
            raise InvalidValue(f"the query level {self.level!r} is not one of patient, study, series, image")
        if self.model not in MODELS:
            raise InvalidValue(f"the query model {self.model!r} is not 'patient' (patient root) or 'study'")
        if self.model == "study" and self.level == "PATIENT":
            raise InvalidValue("the study root model has no PATIENT level; use the patient model (--model patient)")
        if self.limit is not None and self.limit < 1:
            raise InvalidValue(f"the result limit must be 1 or more, not {self.limit}")


def resolve_attribute(name: str) -> tuple[BaseTag, str, str]:
    """(tag, keyword, VR) for a keyword or a tag written (gggg,eeee) or gggg,eeee."""
    text = name.strip()
    match = _TAG.match(text)
    if match:
        tag = Tag(int(match[1], 16), int(match[2], 16))
        try:
            vr = dictionary_VR(tag)
        except KeyError:
            raise InvalidValue(f"the tag {text} is not in the DICOM dictionary; give a standard attribute") from None
        return tag, keyword_for_tag(tag) or f"{tag.group:04X}{tag.element:04X}", vr
    found = tag_for_keyword(text)
    if found is None:
        close = difflib.get_close_matches(text, keyword_dict.keys(), n=1, cutoff=0.8)
        hint = f"; did you mean {close[0]}?" if close else "; use a DICOM keyword like PatientName or a tag (0010,0010)"
        raise InvalidValue(f"{text!r} is not a DICOM keyword{hint}")
    tag = Tag(found)
    return tag, text, dictionary_VR(tag)


def _date(text: str, what: str) -> str:
    compact = text.replace("-", "") if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) else text
    if not re.fullmatch(r"\d{8}", compact):
        raise InvalidValue(f"{what}: {text!r} is not a date; write YYYYMMDD or YYYY-MM-DD")
    try:
        datetime.date(int(compact[:4]), int(compact[4:6]), int(compact[6:]))
    except ValueError as exc:
        raise InvalidValue(f"{what}: {text!r} is not a valid date ({exc})") from None
    return compact


def _time(text: str, what: str) -> str:
    compact = text.replace(":", "")
    m = re.fullmatch(r"(\d{2})(\d{2})?(\d{2})?(\.\d{1,6})?", compact)
    if not m or int(m[1]) > 23 or int(m[2] or 0) > 59 or int(m[3] or 0) > 60:
        raise InvalidValue(f"{what}: {text!r} is not a time; write HHMMSS or HH:MM:SS")
    return compact


_ISO_DATE = r"\d{4}-\d{2}-\d{2}"
_RANGE = re.compile(rf"^(?P<lo>{_ISO_DATE}|[^-]*)-(?P<hi>{_ISO_DATE}|[^-]*)$")


def check_value(keyword: str, vr: str, value: str) -> str:
    """The value to send for a matching key, or InvalidValue saying what is wrong with it."""
    value = value.strip()
    what = keyword
    if value == "" or "*" in value or "?" in value and vr not in ("DA", "TM", "DT", "UI"):
        return value
    if vr == "SQ":
        raise InvalidValue(f"{keyword} is a sequence; it can be a return key but cannot be matched on a value")
    if vr in ("DA", "TM"):
        check = _date if vr == "DA" else _time
        if re.fullmatch(_ISO_DATE, value) or "-" not in value:
            return check(value, what)
        m = _RANGE.match(value)
        if not m or not (m["lo"] or m["hi"]):
            raise InvalidValue(f"{what}: {value!r} is not a {'date' if vr == 'DA' else 'time'} or a range "
                               "like 20240101-20240131")
        lo = check(m["lo"], what) if m["lo"] else ""
        hi = check(m["hi"], what) if m["hi"] else ""
        if lo and hi and lo > hi:
            raise InvalidValue(f"{what}: the range {value!r} ends before it starts")
        return f"{lo}-{hi}"
    if vr == "UI":
        uids = [u.strip() for u in re.split(r"[\\,]", value) if u.strip()]
        for uid in uids:
            if not _UID.match(uid) or len(uid) > 64:
                raise InvalidValue(f"{what}: {uid!r} is not a UID (digits and dots, at most 64 characters)")
        return "\\".join(uids)
    if vr in ("IS", "US", "UL", "SS", "SL") and not re.fullmatch(r"[+-]?\d+(\\[+-]?\d+)*", value):
        raise InvalidValue(f"{what}: {value!r} is not a whole number")
    return value


def parse_key(text: str) -> tuple[str, str]:
    """`KEY=VALUE` (or a bare `KEY`, asking for the value) -> (keyword, checked value)."""
    name, _, value = text.partition("=")
    if not name.strip():
        raise InvalidValue(f"{text!r} is not KEY=VALUE (for example PatientName=SMITH*)")
    _tag, keyword, vr = resolve_attribute(name)
    return keyword, check_value(keyword, vr, value)


def _element(tag: BaseTag, vr: str, value: str) -> DataElement:
    if vr == "SQ":
        return DataElement(tag, vr, Sequence([]))
    if value == "":
        return DataElement(tag, vr, None)
    if "\\" in value and vr not in ("LT", "ST", "UT", "UR"):
        return DataElement(tag, vr, value.split("\\"))
    return DataElement(tag, vr, value)


def _asked(request: QueryRequest) -> list[tuple[BaseTag, str, str]]:
    """(tag, keyword, VR) of every attribute a request asks for, in display order."""
    defaults = list(DEFAULT_RETURN_KEYS[request.level])
    if request.model == "study" and request.level == "STUDY":
        defaults = ["PatientName", "PatientID", *defaults]  # study root: a study row says whose it is
    asked = [(Tag(k), k, dictionary_VR(k)) for k in defaults]
    asked += [resolve_attribute(k) for k in request.return_keys]
    asked += [resolve_attribute(k) for k in request.keys]
    seen: set[BaseTag] = set()
    return [a for a in asked if not (a[0] in seen or seen.add(a[0]))]  # type: ignore[func-returns-value]


def build_identifier(request: QueryRequest) -> Dataset:
    """The C-FIND identifier: level, matching keys, default return keys for the level, extra return keys."""
    ds = Dataset()
    ds.QueryRetrieveLevel = request.level
    for tag, _keyword, vr in _asked(request):
        ds.add(_element(tag, vr, ""))
    for name, raw in request.keys.items():
        tag, keyword, vr = resolve_attribute(name)
        ds.add(_element(tag, vr, check_value(keyword, vr, str(raw))))
    values = [v for e in ds for v in (e.value if isinstance(e.value, list | MultiValue) else [e.value])]
    if any(v is not None and not str(v).isascii() for v in values):
        ds.SpecificCharacterSet = "ISO_IR 192"  # encoded when written, so the order of setting does not matter
    return ds


def columns_for(request: QueryRequest) -> list[str]:
    """Row keys in the order a table shows them: the level's defaults, extra return keys, matching keys."""
    return [keyword for _tag, keyword, _vr in _asked(request) if _tag not in NOT_IN_ROWS]


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
