"""The Part 10 file header (preamble, 'DICM', group 0002) written before a received data set."""

from __future__ import annotations

import struct

IMPLEMENTATION_CLASS_UID = "1.2.826.0.1.3680043.9.3811.3.0.4"  # pynetdicom's, as on the pynetdicom path
IMPLEMENTATION_VERSION = "DICOMTUI"


def _short(element: int, vr: bytes, raw: bytes, pad: bytes) -> bytes:
    if len(raw) % 2:
        raw += pad
    return struct.pack("<HH2sH", 0x0002, element, vr, len(raw)) + raw


def file_header(sop_class_uid: str, sop_instance_uid: str, transfer_syntax: str, source_ae: str) -> bytes:
    """Explicit VR Little Endian as PS3.10 wants; Source Application Entity Title records the sender."""
    body = (
        struct.pack("<HH2sHI", 0x0002, 0x0001, b"OB", 0, 2) + b"\x00\x01"
        + _short(0x0002, b"UI", sop_class_uid.encode("ascii", "replace"), b"\x00")
        + _short(0x0003, b"UI", sop_instance_uid.encode("ascii", "replace"), b"\x00")
        + _short(0x0010, b"UI", transfer_syntax.encode("ascii"), b"\x00")
        + _short(0x0012, b"UI", IMPLEMENTATION_CLASS_UID.encode("ascii"), b"\x00")
        + _short(0x0013, b"SH", IMPLEMENTATION_VERSION.encode("ascii"), b" ")
    )
    if source_ae:
        body += _short(0x0016, b"AE", source_ae.encode("ascii", "replace"), b" ")
    group_length = struct.pack("<HH2sHI", 0x0002, 0x0000, b"UL", 4, len(body))
    return bytes(128) + b"DICM" + group_length + body
