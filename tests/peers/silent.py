"""A peer that never answers: accepts TCP connections on 127.0.0.1 and never sends a byte (a hung host)."""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading

from .harness import HOST


class SilentPeer:
    """TCP listener thread that accepts connections, reads and discards what arrives, and never replies.

    Use as a context manager; on exit the listener and every accepted connection are closed.
    ``accepted`` counts connections, ``received`` counts bytes read from clients. With ``drain=False`` it does
    not even read, so a sender's socket buffers fill up and its writes block (a host that stopped reading).
    """

    def __init__(self, host: str = HOST, port: int = 0, *, drain: bool = True) -> None:
        self.host = host
        self.drain = drain
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((host, port))
        self._listener.listen(64)
        self._listener.setblocking(False)
        self.port: int = self._listener.getsockname()[1]
        self.ae_title = "SILENT"
        self.accepted = 0
        self.received = 0
        self._conns: list[socket.socket] = []
        self._stop = threading.Event()
        self._wake_r, self._wake_w = socket.socketpair()
        self._thread = threading.Thread(target=self._run, name=f"silent-peer-{self.port}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        sel = selectors.DefaultSelector()
        sel.register(self._listener, selectors.EVENT_READ, "listen")
        sel.register(self._wake_r, selectors.EVENT_READ, "wake")
        try:
            while not self._stop.is_set():
                for key, _ in sel.select(timeout=0.5):
                    if key.data == "wake":
                        return
                    if key.data == "listen":
                        try:
                            conn, _addr = self._listener.accept()
                        except OSError:
                            continue
                        conn.setblocking(False)
                        self._conns.append(conn)
                        self.accepted += 1
                        if self.drain:
                            sel.register(conn, selectors.EVENT_READ, "conn")
                    else:
                        conn = key.fileobj
                        try:
                            data = conn.recv(65536)
                        except BlockingIOError:
                            continue
                        except OSError:
                            data = b""
                        if data:
                            self.received += len(data)
                        else:  # client closed: forget it
                            sel.unregister(conn)
                            conn.close()
        finally:
            sel.close()

    def close(self) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")
        self._thread.join(timeout=5)
        for s in [self._listener, *self._conns, self._wake_r, self._wake_w]:
            with contextlib.suppress(OSError):
                s.close()

    def __enter__(self) -> SilentPeer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
