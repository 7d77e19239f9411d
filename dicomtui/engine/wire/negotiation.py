"""A-ASSOCIATE-RQ, -AC and -RJ as a requestor builds and reads them (PS3.8 section 9.3.2-9.3.4).

The requestor side of `find` needs no more than this, and importing pynetdicom for it cost the
command a fifth of its start-up time.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from .pdu import A_ASSOCIATE_RQ

APPLICATION_CONTEXT = "1.2.840.10008.3.1.1.1"


class NegotiationError(Exception):
    """An A-ASSOCIATE-AC or -RJ we cannot read."""


@dataclass(frozen=True)
class ContextResult:
    context_id: int
    result: int  # 0 acceptance, 1 user rejection, 2 no reason, 3 abstract syntax, 4 transfer syntaxes not supported
    transfer_syntax: str


@dataclass(frozen=True)
class Acceptance:
    max_pdu: int  # the acceptor's maximum PDU length; 0: no limit
    contexts: list[ContextResult]


def _item(kind: int, payload: bytes) -> bytes:
    return struct.pack(">BxH", kind, len(payload)) + payload


def _ae(title: str) -> bytes:
    return title.encode("ascii").ljust(16)[:16]


def request(calling_ae: str, called_ae: str, contexts: list[tuple[int, str, list[str]]], max_pdu: int,
            implementation_uid: str, implementation_version: str) -> bytes:
    """The A-ASSOCIATE-RQ PDU; `contexts` as (context ID, abstract syntax, transfer syntaxes)."""
    items = _item(0x10, APPLICATION_CONTEXT.encode())
    for context_id, abstract, syntaxes in contexts:
        sub = _item(0x30, abstract.encode()) + b"".join(_item(0x40, ts.encode()) for ts in syntaxes)
        items += _item(0x20, bytes([context_id, 0, 0, 0]) + sub)
    user = (_item(0x51, struct.pack(">I", max_pdu)) + _item(0x52, implementation_uid.encode())
            + _item(0x55, implementation_version.encode()))
    items += _item(0x50, user)
    body = struct.pack(">HH", 1, 0) + _ae(called_ae) + _ae(calling_ae) + bytes(32) + items
    return struct.pack(">BxI", A_ASSOCIATE_RQ, len(body)) + body


def read_acceptance(body: bytes) -> Acceptance:
    """The A-ASSOCIATE-AC's results from its body (the bytes after the 6-byte PDU header)."""
    position, max_pdu, contexts = 68, 0, []
    try:
        while position < len(body):
            kind, length = struct.unpack_from(">BxH", body, position)
            payload = body[position + 4:position + 4 + length]
            position += 4 + length
            if kind == 0x21:
                syntax = b""
                if len(payload) > 8 and payload[4] == 0x40:
                    (size,) = struct.unpack_from(">H", payload, 6)
                    syntax = payload[8:8 + size]
                contexts.append(ContextResult(payload[0], payload[2], syntax.rstrip(b"\x00 ").decode("ascii")))
            elif kind == 0x50:
                sub = 0
                while sub + 4 <= len(payload):
                    sub_kind, sub_length = struct.unpack_from(">BxH", payload, sub)
                    if sub_kind == 0x51 and sub_length == 4:
                        (max_pdu,) = struct.unpack_from(">I", payload, sub + 4)
                    sub += 4 + sub_length
    except (struct.error, IndexError, UnicodeDecodeError) as exc:
        raise NegotiationError(f"an A-ASSOCIATE-AC we cannot read ({exc})") from None
    return Acceptance(max_pdu, contexts)


def read_rejection(body: bytes) -> tuple[int, int, int]:
    """(result, source, reason) of an A-ASSOCIATE-RJ body."""
    if len(body) < 4:
        raise NegotiationError("a short A-ASSOCIATE-RJ")
    return body[1], body[2], body[3]
