"""The attributes a receiver and its index need, read from the first bytes of a data set.

The receiver must know the Study and Series Instance UIDs (they make the file's path), shows
patient, study and modality at once, and indexes some twenty attributes. pydicom's dcmread
took half a millisecond per instance for that while holding the GIL: with four senders, the
index writer's reading halved the receiver's rate. This scanner walks the top-level elements
of the data set's head, skipping sequences, keeps the wanted ones raw, and lets pydicom's own
value converters turn them into values; it gives up (None) whenever it is unsure, and then
the caller reads the header with pydicom as before.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from pydicom.charset import convert_encodings
from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.dataelem import RawDataElement
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pydicom.values import convert_value

HEAD_BYTES = 65_536  # what a Spool keeps in memory for this

# What the receiver and the archive index read: the index's columns, the hierarchy's UIDs.
KEYWORDS = (
    "SpecificCharacterSet", "SOPClassUID", "SOPInstanceUID", "StudyDate", "SeriesDate", "StudyTime",
    "AccessionNumber", "Modality", "ReferringPhysicianName", "StudyDescription", "SeriesDescription",
    "PatientName", "PatientID", "IssuerOfPatientID", "PatientBirthDate", "PatientSex", "BodyPartExamined",
    "StudyInstanceUID", "SeriesInstanceUID", "StudyID", "SeriesNumber", "InstanceNumber",
)
_WANTED = frozenset(tag_for_keyword(k) for k in KEYWORDS)
_LAST = max(_WANTED)
_LONG_VRS = {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"}
_TAG = struct.Struct("<HH")
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
UNDEFINED = 0xFFFFFFFF
ITEM, ITEM_END, SEQUENCE_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD


class QuickDataset:
    """The wanted top-level elements of a data set, converted by pydicom's own value converters
    when asked for: what `ds.get(keyword)` on a pydicom Dataset would give, for those keywords."""

    file_meta = None

    def __init__(self, raw: dict[int, RawDataElement]):
        self._raw = raw
        self._values: dict[str, object] = {}
        self._encodings = None
        charset = self.get("SpecificCharacterSet")
        self._encodings = convert_encodings(charset) if charset else ["iso8859"]

    def get(self, keyword: str, default=None):
        if keyword in self._values:  # converting validates each value: once is enough
            return self._values[keyword]
        raw = self._raw.get(tag_for_keyword(keyword))
        if raw is None:
            return default
        value = self._values[keyword] = _plain(raw) or convert_value(raw.VR, raw, self._encodings)
        return value


# Text VRs whose single plain-ASCII value pydicom reads as the text without its trailing padding. Converting
# through pydicom (with its validation) cost more than half a millisecond per instance, a fifth of what a
# worker spent on one; what is not this simple (several values, other characters, numbers) still goes there.
_PLAIN_VRS = frozenset({"UI", "CS", "DA", "TM", "SH", "LO", "PN"})


def _plain(raw: RawDataElement) -> str | None:
    value = raw.value
    # ESC: ISO 2022 code extensions (Japanese, Korean) switch character sets inside ASCII bytes.
    if raw.VR not in _PLAIN_VRS or not value or b"\\" in value or b"\x1b" in value or not value.isascii():
        return None
    text = value.decode("ascii").rstrip("\x00 ")
    if raw.VR != "UI" and text != text.lstrip(" "):  # leading spaces: pydicom's rules differ by VR
        return None
    return text or None


@dataclass(frozen=True)
class Header:
    study_uid: str
    series_uid: str
    patient: str
    study_description: str
    modality: str

    @classmethod
    def from_dataset(cls, ds) -> Header:
        return cls(*(str(ds.get(k, "") or "").strip() for k in
                     ("StudyInstanceUID", "SeriesInstanceUID", "PatientName", "StudyDescription", "Modality")))


class _Unsure(Exception):
    pass


def data_set_offset(part10: bytes) -> int | None:
    """Where the data set starts in a Part 10 file's first bytes (after the group 0002 header)."""
    if len(part10) < 144 or part10[128:132] != b"DICM" or part10[132:136] != b"\x02\x00\x00\x00":
        return None
    return 144 + _U32.unpack_from(part10, 140)[0]


def read(part10_head: bytes, transfer_syntax: str) -> QuickDataset | None:
    """The QuickDataset from the first bytes of a Part 10 file, or None when only pydicom can tell
    (or when a UID that places the instance in the archive is missing: pydicom says so better)."""
    if transfer_syntax == ImplicitVRLittleEndian:
        explicit = False
    elif transfer_syntax == ExplicitVRLittleEndian or _is_explicit_little_encapsulated(transfer_syntax):
        explicit = True
    else:  # big endian, deflated: rare, left to pydicom
        return None
    part10_head = bytes(part10_head)  # a Spool's bytearray: pydicom's decoders want bytes
    start = data_set_offset(part10_head)
    if start is None:
        return None
    raw: dict[int, RawDataElement] = {}
    try:
        _walk(part10_head, start, explicit, raw)
        ds = QuickDataset(raw)
        if not all(str(ds.get(k) or "").strip() for k in
                   ("SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID")):
            return None
    except Exception:  # noqa: BLE001 - a short head, an odd character set: pydicom's full reader decides
        return None
    return ds


def scan(part10_head: bytes, transfer_syntax: str) -> Header | None:
    ds = read(part10_head, transfer_syntax)
    return None if ds is None else Header.from_dataset(ds)


def _is_explicit_little_encapsulated(transfer_syntax: str) -> bool:
    # Every compressed transfer syntax encodes the data set in Explicit VR Little Endian.
    from pydicom.uid import UID

    uid = UID(transfer_syntax)
    return uid.is_transfer_syntax and uid.is_encapsulated and not uid.is_deflated and uid.is_little_endian


def _walk(data: bytes, position: int, explicit: bool, raw: dict[int, RawDataElement]) -> None:
    """The wanted top-level elements; raises _Unsure when the head ends before the last of them."""
    while True:
        if position + 8 > len(data):
            raise _Unsure
        group, element = _TAG.unpack_from(data, position)
        tag = group << 16 | element
        if tag > _LAST:
            return
        position, length, vr = _element_header(data, position, explicit)
        if length == UNDEFINED:
            position = _skip_undefined(data, position, explicit and vr != b"UN")
            continue
        if position + length > len(data):
            raise _Unsure
        if tag in _WANTED:
            # Implicit VR, or UN for an attribute the dictionary knows: pydicom reads the known VR too.
            known = dictionary_VR(tag) if vr in (b"", b"UN") else vr.decode()
            raw[tag] = RawDataElement(tag, known, length,
                                      data[position:position + length], position, not explicit, True)
        position += length


def _element_header(data: bytes, position: int, explicit: bool) -> tuple[int, int, bytes]:
    if explicit:
        if position + 8 > len(data):
            raise _Unsure
        vr = data[position + 4:position + 6]
        if vr in _LONG_VRS:
            if position + 12 > len(data):
                raise _Unsure
            return position + 12, _U32.unpack_from(data, position + 8)[0], vr
        if not vr.isalpha() or not vr.isupper():
            raise _Unsure  # not explicit VR after all
        return position + 8, _U16.unpack_from(data, position + 6)[0], vr
    return position + 8, _U32.unpack_from(data, position + 4)[0], b""


def _skip_undefined(data: bytes, position: int, explicit: bool) -> int:
    """Past a sequence of undefined length: its items, to the Sequence Delimitation Item."""
    while True:
        if position + 8 > len(data):
            raise _Unsure
        group, element = _TAG.unpack_from(data, position)
        tag = group << 16 | element
        length = _U32.unpack_from(data, position + 4)[0]
        position += 8
        if tag == SEQUENCE_END:
            return position
        if tag != ITEM:
            raise _Unsure
        if length != UNDEFINED:
            position += length
            continue
        position = _skip_item(data, position, explicit)


def _skip_item(data: bytes, position: int, explicit: bool) -> int:
    while True:
        if position + 8 > len(data):
            raise _Unsure
        group, element = _TAG.unpack_from(data, position)
        if group << 16 | element == ITEM_END:
            return position + 8
        position, length, vr = _element_header(data, position, explicit)
        if length == UNDEFINED:
            position = _skip_undefined(data, position, explicit and vr != b"UN")
        else:
            position += length
