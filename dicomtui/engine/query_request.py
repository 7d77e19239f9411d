"""What a C-FIND asks, as plain data, and its identifier in bytes: no pydicom on this side.

`parse_key("StudyDate=20240101-20240131")` checks what a user typed; `identifier_bytes(request)` is what
goes to the archive. `dicomtui find` sends that before it imports pydicom (0.07 s) to read the answers,
which the archive takes longer than that to start sending. Attributes outside the table below are
looked up in pydicom's dictionary, as before.
"""

from __future__ import annotations

import datetime
import re
import struct
from dataclasses import dataclass, field

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
NOT_IN_ROWS = frozenset({0x00080005, 0x00080052})
_UID = re.compile(r"^[0-9]+(\.[0-9]+)*$")
_TAG = re.compile(r"^\(?\s*([0-9A-Fa-f]{4})\s*,\s*([0-9A-Fa-f]{4})\s*\)?$")

Value = str | list[str] | None

# keyword -> (tag, VR) for what queries use most, from pydicom's dictionary (a unit test keeps them equal).
KNOWN: dict[str, tuple[int, str]] = {
    "PatientName": (0x00100010, "PN"),
    "PatientID": (0x00100020, "LO"),
    "IssuerOfPatientID": (0x00100021, "LO"),
    "OtherPatientIDs": (0x00101000, "LO"),
    "PatientBirthDate": (0x00100030, "DA"),
    "PatientSex": (0x00100040, "CS"),
    "PatientAge": (0x00101010, "AS"),
    "StudyDate": (0x00080020, "DA"),
    "StudyTime": (0x00080030, "TM"),
    "AccessionNumber": (0x00080050, "SH"),
    "StudyDescription": (0x00081030, "LO"),
    "ModalitiesInStudy": (0x00080061, "CS"),
    "StudyInstanceUID": (0x0020000D, "UI"),
    "StudyID": (0x00200010, "SH"),
    "ReferringPhysicianName": (0x00080090, "PN"),
    "NumberOfStudyRelatedSeries": (0x00201206, "IS"),
    "NumberOfStudyRelatedInstances": (0x00201208, "IS"),
    "NumberOfPatientRelatedStudies": (0x00201200, "IS"),
    "NumberOfPatientRelatedSeries": (0x00201202, "IS"),
    "NumberOfPatientRelatedInstances": (0x00201204, "IS"),
    "Modality": (0x00080060, "CS"),
    "SeriesNumber": (0x00200011, "IS"),
    "SeriesDescription": (0x0008103E, "LO"),
    "SeriesInstanceUID": (0x0020000E, "UI"),
    "SeriesDate": (0x00080021, "DA"),
    "SeriesTime": (0x00080031, "TM"),
    "NumberOfSeriesRelatedInstances": (0x00201209, "IS"),
    "BodyPartExamined": (0x00180015, "CS"),
    "ProtocolName": (0x00181030, "LO"),
    "PerformingPhysicianName": (0x00081050, "PN"),
    "InstitutionName": (0x00080080, "LO"),
    "StationName": (0x00081010, "SH"),
    "SOPClassUID": (0x00080016, "UI"),
    "SOPInstanceUID": (0x00080018, "UI"),
    "InstanceNumber": (0x00200013, "IS"),
    "ImageType": (0x00080008, "CS"),
    "AcquisitionDate": (0x00080022, "DA"),
    "ContentDate": (0x00080023, "DA"),
    "ContentTime": (0x00080033, "TM"),
    "QueryRetrieveLevel": (0x00080052, "CS"),
    "SpecificCharacterSet": (0x00080005, "CS"),
    "RetrieveAETitle": (0x00080054, "AE"),
    "InstanceAvailability": (0x00080056, "CS"),
    "SOPClassesInStudy": (0x00080062, "UI"),
}
_BY_TAG = {tag: keyword for keyword, (tag, _vr) in KNOWN.items()}


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


def resolve_attribute(name: str) -> tuple[int, str, str]:
    """(tag, keyword, VR) for a keyword or a tag written (gggg,eeee) or gggg,eeee."""
    text = name.strip()
    match = _TAG.match(text)
    if match:
        tag = int(match[1], 16) << 16 | int(match[2], 16)
        if tag in _BY_TAG:
            return tag, _BY_TAG[tag], KNOWN[_BY_TAG[tag]][1]
        from pydicom.datadict import dictionary_VR, keyword_for_tag

        try:
            vr = dictionary_VR(tag)
        except KeyError:
            raise InvalidValue(f"the tag {text} is not in the DICOM dictionary; give a standard attribute") from None
        return tag, keyword_for_tag(tag) or f"{tag >> 16:04X}{tag & 0xFFFF:04X}", vr
    if text in KNOWN:
        return KNOWN[text][0], text, KNOWN[text][1]
    import difflib

    from pydicom.datadict import dictionary_VR, keyword_dict, tag_for_keyword

    found = tag_for_keyword(text)
    if found is None:
        close = difflib.get_close_matches(text, keyword_dict.keys(), n=1, cutoff=0.8)
        hint = f"; did you mean {close[0]}?" if close else "; use a DICOM keyword like PatientName or a tag (0010,0010)"
        raise InvalidValue(f"{text!r} is not a DICOM keyword{hint}")
    return found, text, dictionary_VR(found)


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


def _asked(request: QueryRequest) -> list[tuple[int, str, str]]:
    """(tag, keyword, VR) of every attribute a request asks for, in display order."""
    defaults = list(DEFAULT_RETURN_KEYS[request.level])
    if request.model == "study" and request.level == "STUDY":
        defaults = ["PatientName", "PatientID", *defaults]  # study root: a study row says whose it is
    asked = [(KNOWN[k][0], k, KNOWN[k][1]) for k in defaults]
    asked += [resolve_attribute(k) for k in request.return_keys]
    asked += [resolve_attribute(k) for k in request.keys]
    seen: set[int] = set()
    return [a for a in asked if not (a[0] in seen or seen.add(a[0]))]  # type: ignore[func-returns-value]


def columns_for(request: QueryRequest) -> list[str]:
    """Row keys in the order a table shows them: the level's defaults, extra return keys, matching keys."""
    return [keyword for _tag, keyword, _vr in _asked(request) if _tag not in NOT_IN_ROWS]


# Explicit VR: these have a 4-byte length after two reserved bytes (PS3.5 7.1.2).
_LONG_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"})
_CHARSET_VRS = frozenset({"LO", "LT", "PN", "SH", "ST", "UC", "UT"})
_STRING_VRS = _CHARSET_VRS | frozenset({"AE", "AS", "CS", "DA", "DS", "DT", "IS", "TM", "UI", "UR"})


def identifier_elements(request: QueryRequest) -> dict[int, tuple[str, str]]:
    """tag -> (VR, value) of the identifier, "" for a return key; as build_identifier fills its Dataset."""
    elements = {0x00080052: ("CS", request.level)}
    for tag, _keyword, vr in _asked(request):
        elements[tag] = (vr, "")
    for name, raw in request.keys.items():
        tag, keyword, vr = resolve_attribute(name)
        elements[tag] = (vr, check_value(keyword, vr, str(raw)))
    if any(not value.isascii() for _vr, value in elements.values()):
        elements[0x00080005] = ("CS", "ISO_IR 192")  # UTF-8, for every value that names use
    return elements


def identifier_bytes(request: QueryRequest, explicit: bool) -> bytes | None:
    """The identifier in Explicit or Implicit VR Little Endian, byte for byte what pydicom writes for
    build_identifier's Dataset; None when a VR needs pydicom (sequences, binary numbers)."""
    elements = identifier_elements(request)
    out = bytearray()
    for tag in sorted(elements):
        vr, value = elements[tag]
        if vr not in _STRING_VRS:
            return None
        raw = value.encode("utf-8" if vr in _CHARSET_VRS else "ascii")
        if len(raw) % 2:
            raw += b"\x00" if vr == "UI" else b" "
        group, element = tag >> 16, tag & 0xFFFF
        if not explicit:
            out += struct.pack("<HHI", group, element, len(raw))
        elif vr in _LONG_VRS:
            out += struct.pack("<HH2sHI", group, element, vr.encode(), 0, len(raw))
        elif len(raw) <= 0xFFFF:
            out += struct.pack("<HH2sH", group, element, vr.encode(), len(raw))
        else:
            return None
        out += raw
    return bytes(out)
