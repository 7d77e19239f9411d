"""A C-STORE-RQ and its data set onto the socket, read from the file in pieces.

The data set is never held whole: P-DATA-TF PDUs of the peer's maximum length are built in
one reusable buffer of about a megabyte, their headers between pieces read straight from the
file with readinto, and the buffer goes out in one sendall. A peer with a 16 KB maximum PDU
(dcmtk's default) thus costs one system call per megabyte, not per PDU, and the command
travels in the same call as the first piece of the data set, which matters for small instances.
"""

from __future__ import annotations

import socket
import struct
import threading
from typing import BinaryIO

from ..wire import pdu

BATCH = 1 << 20
_MAX_FRAGMENT = 1 << 20  # the peer may allow more (or say 0, no limit); larger PDUs gain nothing
_HEADERS = struct.Struct(">BxIIBB")  # PDU type and length, then PDV length, context ID, control
_OVERHEAD = _HEADERS.size  # 12


class Cancelled(Exception):
    """Cancel was asked for in the middle of a data set: only A-ABORT ends that cleanly."""


class SourceEnded(Exception):
    """The file held fewer bytes than its size said when it was scanned (truncated or changed since)."""


def send_store(sock: socket.socket, context_id: int, command: bytes, source: BinaryIO, length: int,
               peer_max_pdu: int, cancel: threading.Event | None = None) -> None:
    """Send `command` and then `length` data set bytes from `source` on presentation context `context_id`."""
    fragment = min(peer_max_pdu - 6, _MAX_FRAGMENT) if peer_max_pdu else _MAX_FRAGMENT  # 6: PDV length + IDs
    head = b"".join(pdu.p_data_fragments(context_id, command, True, peer_max_pdu))
    per_batch = max(1, BATCH // fragment)
    buffer = bytearray(len(head) + per_batch * (_OVERHEAD + fragment))
    view = memoryview(buffer)
    buffer[:len(head)] = head
    position, remaining = len(head), length
    while True:
        for _ in range(per_batch):
            if not remaining:
                break
            size = min(fragment, remaining)
            remaining -= size
            _HEADERS.pack_into(buffer, position, pdu.P_DATA_TF, size + 6, size + 2, context_id,
                               0x00 if remaining else 0x02)
            position += _OVERHEAD
            _fill(source, view[position:position + size])
            position += size
        sock.sendall(view[:position])
        if not remaining:
            return
        if cancel is not None and cancel.is_set():
            raise Cancelled
        position = 0


def _fill(source: BinaryIO, target: memoryview) -> None:
    done = 0
    while done < len(target):
        got = source.readinto(target[done:])
        if not got:
            raise SourceEnded
        done += got
