"""DIMSE command sets (PS3.7 section 9 and annex E): always Implicit VR Little Endian, group 0000."""

from __future__ import annotations

import struct
from dataclasses import dataclass

C_STORE_RQ = 0x0001
C_STORE_RSP = 0x8001
C_ECHO_RQ = 0x0030
C_ECHO_RSP = 0x8030
C_FIND_RQ = 0x0020
C_FIND_RSP = 0x8020
C_CANCEL_RQ = 0x0FFF
NO_DATA_SET = 0x0101

_ELEMENT = struct.Struct("<HHI")
_US = struct.Struct("<H")


class CommandError(Exception):
    """A command set we cannot take apart."""


@dataclass(frozen=True)
class Command:
    field: int
    message_id: int
    sop_class_uid: str
    sop_instance_uid: str
    has_data_set: bool
    move_originator_ae: str = ""
    status: int | None = None  # responses only
    error_comment: str = ""
    responding_to: int = 0


def parse(data: bytes) -> Command:
    elements: dict[int, bytes] = {}
    position = 0
    while position < len(data):
        if position + 8 > len(data):
            raise CommandError("the command set ends inside an element header")
        group, element, length = _ELEMENT.unpack_from(data, position)
        position += 8
        if length == 0xFFFFFFFF or position + length > len(data):
            raise CommandError(f"element (0000,{element:04X}) runs past the end of the command set")
        if group == 0:
            elements[element] = data[position:position + length]
        position += length
    try:
        field = _US.unpack(elements[0x0100])[0]
    except (KeyError, struct.error):
        raise CommandError("the command set has no valid Command Field") from None
    message_id = _US.unpack(elements[0x0110])[0] if len(elements.get(0x0110, b"")) == 2 else 0
    data_set_type = _US.unpack(elements[0x0800])[0] if len(elements.get(0x0800, b"")) == 2 else NO_DATA_SET
    status = _US.unpack(elements[0x0900])[0] if len(elements.get(0x0900, b"")) == 2 else None
    responding_to = _US.unpack(elements[0x0120])[0] if len(elements.get(0x0120, b"")) == 2 else 0
    return Command(
        field=field,
        message_id=message_id,
        sop_class_uid=_text(elements.get(0x0002, b"")),
        sop_instance_uid=_text(elements.get(0x1000, b"")),
        has_data_set=data_set_type != NO_DATA_SET,
        move_originator_ae=_text(elements.get(0x1030, b"")),
        status=status,
        error_comment=elements.get(0x0902, b"").rstrip(b"\x00 ").decode("latin-1"),
        responding_to=responding_to,
    )


def _text(raw: bytes) -> str:
    return raw.rstrip(b"\x00 ").decode("ascii", "replace")


def _uid(element: int, value: str) -> bytes:
    raw = value.encode("ascii", "replace")
    if len(raw) % 2:
        raw += b"\x00"
    return _ELEMENT.pack(0, element, len(raw)) + raw


def _us(element: int, value: int) -> bytes:
    return _ELEMENT.pack(0, element, 2) + _US.pack(value)


def _lo(element: int, value: str) -> bytes:
    raw = value.encode("ascii", "replace")[:64].replace(b"\\", b"/")
    if len(raw) % 2:
        raw += b" "
    return _ELEMENT.pack(0, element, len(raw)) + raw


def _with_group_length(body: bytes) -> bytes:
    return _ELEMENT.pack(0, 0x0000, 4) + struct.pack("<I", len(body)) + body


def store_response(message_id: int, sop_class_uid: str, sop_instance_uid: str, status: int,
                   comment: str = "") -> bytes:
    """C-STORE-RSP; a failure carries its reason as Error Comment (0000,0902), which dcmtk shows."""
    body = (_uid(0x0002, sop_class_uid) + _us(0x0100, C_STORE_RSP) + _us(0x0120, message_id)
            + _us(0x0800, NO_DATA_SET) + _us(0x0900, status))
    if comment and status != 0x0000:
        body += _lo(0x0902, comment)
    body += _uid(0x1000, sop_instance_uid)
    return _with_group_length(body)


def echo_response(message_id: int, sop_class_uid: str) -> bytes:
    return _with_group_length(_uid(0x0002, sop_class_uid) + _us(0x0100, C_ECHO_RSP) + _us(0x0120, message_id)
                              + _us(0x0800, NO_DATA_SET) + _us(0x0900, 0x0000))


def store_request(message_id: int, sop_class_uid: str, sop_instance_uid: str, priority: int = 0x0000) -> bytes:
    """C-STORE-RQ (medium priority by default); the instance's data set follows. Data Set Type
    0x0000: any value but 0x0101 says a data set follows."""
    return _with_group_length(_uid(0x0002, sop_class_uid) + _us(0x0100, C_STORE_RQ) + _us(0x0110, message_id)
                              + _us(0x0700, priority) + _us(0x0800, 0x0000) + _uid(0x1000, sop_instance_uid))


def find_request(message_id: int, sop_class_uid: str) -> bytes:
    """C-FIND-RQ at medium priority; the identifier follows as the data set."""
    return _with_group_length(_uid(0x0002, sop_class_uid) + _us(0x0100, C_FIND_RQ) + _us(0x0110, message_id)
                              + _us(0x0700, 0x0000) + _us(0x0800, 0x0001))


def cancel_request(message_id: int) -> bytes:
    """C-CANCEL-RQ for the request `message_id`."""
    return _with_group_length(_us(0x0100, C_CANCEL_RQ) + _us(0x0120, message_id) + _us(0x0800, NO_DATA_SET))
