"""DICOM over TLS for the receiver, with the handshake out of the accept loop.

pynetdicom wraps each accepted socket in its accept loop, where the handshake blocks:
one client that connects and says nothing stops every other TLS association
(PYNETDICOM.md). Here the accept loop only wraps (no handshake); the handshake runs in
the connection's own thread, from the EVT_CONN_OPEN handler, with a deadline.
"""

from __future__ import annotations

import ssl
from pathlib import Path


class DeferredHandshake:
    """Stands in for the SSLContext pynetdicom's server uses: wraps without handshaking."""

    def __init__(self, context: ssl.SSLContext):
        self.context = context

    def wrap_socket(self, sock, server_side: bool = True, **kwargs):
        return self.context.wrap_socket(sock, server_side=server_side, do_handshake_on_connect=False, **kwargs)


def server_context(cert: Path, key: Path, ca: Path | None) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(certfile=str(cert), keyfile=str(key))
    if ca is not None:
        context.load_verify_locations(cafile=str(ca))
        context.verify_mode = ssl.CERT_REQUIRED
    return context


def handshake(sock: ssl.SSLSocket, seconds: float) -> None:
    """Complete the TLS handshake within `seconds`; raises ssl.SSLError or OSError otherwise."""
    previous = sock.gettimeout()
    sock.settimeout(seconds)
    try:
        sock.do_handshake()
    finally:
        sock.settimeout(previous)
