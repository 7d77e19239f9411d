"""Reading a TCP stream in large receives and handing out exact pieces of it."""

from __future__ import annotations

import socket
from collections.abc import Callable

_QUICKACK = getattr(socket, "TCP_QUICKACK", None)  # Linux only


class PeerClosed(Exception):
    """The peer closed the connection (or it broke) before the bytes we needed arrived."""


class SocketReader:
    """One recv_into a big buffer serves many small reads: a PDU header, a PDV header,
    a command set. Data set bytes are passed on as views of that buffer, never collected.

    TCP_QUICKACK is set before every receive: a sender without TCP_NODELAY holds the next
    PDU until we acknowledge the last one, which Linux otherwise delays by up to 40 ms (the
    option resets itself, hence every time).
    """

    def __init__(self, sock: socket.socket, size: int = 1 << 18):
        self._sock = sock
        self._buffer = bytearray(size)
        self._view = memoryview(self._buffer)
        self._start = 0
        self._end = 0

    def _fill(self) -> None:
        if self._start == self._end:
            self._start = self._end = 0
        elif self._end == len(self._buffer):
            left = self._end - self._start
            self._buffer[:left] = self._buffer[self._start:self._end]  # same size: allowed while viewed
            self._start, self._end = 0, left
        if _QUICKACK is not None:
            try:
                self._sock.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)
            except OSError:
                pass
        try:
            received = self._sock.recv_into(self._view[self._end:])
        except (ConnectionResetError, BrokenPipeError) as exc:
            raise PeerClosed(str(exc)) from None
        if not received:
            raise PeerClosed("the peer closed the connection")
        self._end += received

    def read(self, count: int) -> bytes:
        """Exactly `count` bytes."""
        if count > len(self._buffer):
            collected = bytearray()
            self.pass_through(count, collected.extend)
            return bytes(collected)
        while self._end - self._start < count:
            self._fill()
        data = bytes(self._view[self._start:self._start + count])
        self._start += count
        return data

    def pass_through(self, count: int, write: Callable[[memoryview], object]) -> None:
        """Hand the next `count` bytes to `write` in pieces; each piece is valid only during the call."""
        while count:
            if self._start == self._end:
                self._fill()
            take = min(count, self._end - self._start)
            write(self._view[self._start:self._start + take])
            self._start += take
            count -= take
