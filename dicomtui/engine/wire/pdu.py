"""PDU framing (PS3.8 section 9.3): the few PDUs the fast paths build or take apart themselves."""

from __future__ import annotations

import struct

A_ASSOCIATE_RQ = 0x01
A_ASSOCIATE_AC = 0x02
A_ASSOCIATE_RJ = 0x03
P_DATA_TF = 0x04
A_RELEASE_RQ = 0x05
A_RELEASE_RP = 0x06
A_ABORT = 0x07

# A-ABORT source and reasons (PS3.8 9.3.8)
SERVICE_USER = 0
SERVICE_PROVIDER = 2
UNEXPECTED_PDU = 2
INVALID_PARAMETER_VALUE = 6

_HEADER = struct.Struct(">BxI")
_PDV = struct.Struct(">IBB")


def header(data: bytes) -> tuple[int, int]:
    """(PDU type, length of what follows) from the first six bytes of a PDU."""
    return _HEADER.unpack_from(data)


def pdv_header(data: bytes) -> tuple[int, int, int]:
    """(length of the fragment without its two header bytes, context ID, control byte)."""
    length, context_id, control = _PDV.unpack_from(data)
    return length - 2, context_id, control


def p_data(context_id: int, payload: bytes, command: bool) -> bytes:
    """One P-DATA-TF PDU holding `payload` as the last fragment of a command or data set."""
    control = 0x03 if command else 0x02
    pdv = _PDV.pack(len(payload) + 2, context_id, control) + payload
    return _HEADER.pack(P_DATA_TF, len(pdv)) + pdv


def p_data_fragments(context_id: int, payload: bytes, command: bool, max_pdu: int) -> list[bytes]:
    """`payload` as P-DATA-TF PDUs no longer than the peer's maximum (0: no limit), one fragment each."""
    room = len(payload) if not max_pdu else max(max_pdu - 6, 1)  # 6: the fragment's own header
    pieces = [payload[i:i + room] for i in range(0, len(payload), room)] or [b""]
    control = 0x01 if command else 0x00
    out = []
    for number, piece in enumerate(pieces):
        last = 0x02 if number == len(pieces) - 1 else 0x00
        pdv = _PDV.pack(len(piece) + 2, context_id, control | last) + piece
        out.append(_HEADER.pack(P_DATA_TF, len(pdv)) + pdv)
    return out


def release_rq() -> bytes:
    return _HEADER.pack(A_RELEASE_RQ, 4) + bytes(4)


def release_rp() -> bytes:
    return _HEADER.pack(A_RELEASE_RP, 4) + bytes(4)


def abort(source: int = SERVICE_USER, reason: int = 0) -> bytes:
    return _HEADER.pack(A_ABORT, 4) + bytes([0, 0, source, reason])


def reject(result: int, source: int, reason: int) -> bytes:
    return _HEADER.pack(A_ASSOCIATE_RJ, 4) + bytes([0, result, source, reason])
