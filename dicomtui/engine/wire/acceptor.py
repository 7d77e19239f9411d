"""A-ASSOCIATE-RQ read and A-ASSOCIATE-AC built by an acceptor (PS3.8 9.3.2-9.3.3), and the choice in between.

The receiver's storage fast path used pynetdicom's PDU classes for this: decoding a storescu request
(120 proposed contexts) and negotiating it took 15-20 ms of GIL-held CPU per association, which a modality
that opens one association per image pays per image. Here it is a few hundred microseconds, and the choice
is pynetdicom's own (`negotiate` follows negotiate_as_acceptor; tests/unit compare the two), so the fast
path and pynetdicom accept the same contexts with the same transfer syntaxes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from .negotiation import APPLICATION_CONTEXT, NegotiationError, _item

A_ASSOCIATE_AC = 0x02
ACCEPTED, USER_REJECTION, NO_REASON, ABSTRACT_SYNTAX_NOT_SUPPORTED, TRANSFER_SYNTAXES_NOT_SUPPORTED = range(5)


@dataclass(frozen=True)
class Request:
    called_ae: str
    calling_ae: str
    application_context: str
    contexts: list[tuple[int, str, list[str]]]  # (context ID, abstract syntax, transfer syntaxes) as proposed
    max_pdu: int = 0
    implementation_uid: str = ""
    implementation_version: str = ""
    roles: list[tuple[str, int, int]] = field(default_factory=list)  # SCP/SCU role selection items


def _text(raw: bytes) -> str:
    return raw.decode("latin-1").strip("\x00 ")


def read_request(body: bytes) -> Request:
    """The A-ASSOCIATE-RQ from its body (the bytes after the 6-byte PDU header); NegotiationError if it is
    not one we can read."""
    if len(body) < 68:
        raise NegotiationError("an A-ASSOCIATE-RQ shorter than its fixed fields")
    called, calling = _text(body[4:20]), _text(body[20:36])
    application, contexts, roles = "", [], []
    max_pdu, uid, version = 0, "", ""
    position = 68
    try:
        while position < len(body):
            kind, length = struct.unpack_from(">BxH", body, position)
            payload = body[position + 4:position + 4 + length]
            if len(payload) != length:
                raise NegotiationError("an item runs past the end of the A-ASSOCIATE-RQ")
            position += 4 + length
            if kind == 0x10:
                application = _text(payload)
            elif kind == 0x20:
                abstract, syntaxes = "", []
                for sub_kind, value in _items(payload, 4):
                    if sub_kind == 0x30:
                        abstract = _text(value)
                    elif sub_kind == 0x40:
                        syntaxes.append(_text(value))
                contexts.append((payload[0], abstract, syntaxes))
            elif kind == 0x50:
                for sub_kind, value in _items(payload, 0):
                    if sub_kind == 0x51 and len(value) == 4:
                        (max_pdu,) = struct.unpack(">I", value)
                    elif sub_kind == 0x52:
                        uid = _text(value)
                    elif sub_kind == 0x55:
                        version = _text(value)
                    elif sub_kind == 0x54:
                        (size,) = struct.unpack_from(">H", value, 0)
                        roles.append((_text(value[2:2 + size]), value[2 + size], value[3 + size]))
    except (struct.error, IndexError) as exc:
        raise NegotiationError(f"an A-ASSOCIATE-RQ we cannot read ({exc})") from None
    return Request(called, calling, application, contexts, max_pdu, uid, version, roles)


def _items(payload: bytes, start: int):
    position = start
    while position + 4 <= len(payload):
        kind, length = struct.unpack_from(">BxH", payload, position)
        value = payload[position + 4:position + 4 + length]
        if len(value) != length:
            raise NegotiationError("a sub-item runs past the end of its item")
        yield kind, value
        position += 4 + length


def supported_map(supported_contexts) -> dict[str, list[str]]:
    """pynetdicom's supported contexts as abstract syntax -> our transfer syntaxes, in our order of preference."""
    return {str(cx.abstract_syntax): [str(ts) for ts in cx.transfer_syntax] for cx in supported_contexts}


def negotiate(contexts: list[tuple[int, str, list[str]]], supported: dict[str, list[str]]
              ) -> list[tuple[int, int, str]]:
    """(context ID, result, transfer syntax) for each proposed context, as pynetdicom's acceptor decides: the
    first of OUR transfer syntaxes the requestor proposed (uncompressed before compressed); a rejected
    context names the first syntax proposed, which the AC must carry but nobody reads."""
    results = []
    for context_id, abstract, proposed in contexts:
        ours = supported.get(abstract)
        first = proposed[0] if proposed else ""
        if ours is None:
            results.append((context_id, ABSTRACT_SYNTAX_NOT_SUPPORTED, first))
            continue
        chosen = next((ts for ts in ours if ts in proposed), None)
        if chosen is None:
            results.append((context_id, TRANSFER_SYNTAXES_NOT_SUPPORTED, first))
        else:
            results.append((context_id, ACCEPTED, chosen))
    return results


def acceptance(request: Request, results: list[tuple[int, int, str]], max_pdu: int, implementation_uid: str,
               implementation_version: str) -> bytes:
    """The A-ASSOCIATE-AC PDU: the request's AE titles echoed, each context's result, our user information."""
    items = _item(0x10, (request.application_context or APPLICATION_CONTEXT).encode("ascii"))
    for context_id, result, syntax in results:
        items += _item(0x21, bytes([context_id, 0, result, 0]) + _item(0x40, syntax.encode("ascii", "replace")))
    user = (_item(0x51, struct.pack(">I", max_pdu)) + _item(0x52, implementation_uid.encode("ascii"))
            + _item(0x55, implementation_version.encode("ascii")))
    items += _item(0x50, user)
    body = struct.pack(">HH", 1, 0) + _ae(request.called_ae) + _ae(request.calling_ae) + bytes(32) + items
    return struct.pack(">BxI", A_ASSOCIATE_AC, len(body)) + body


def _ae(title: str) -> bytes:
    return title.encode("latin-1", "replace").ljust(16)[:16]
