"""A worker's server: connections come from the parent process instead of a listening socket.

With `dicomtui serve --workers N` the parent binds the port once, accepts every connection and
passes its descriptor (SCM_RIGHTS) over a Unix socket to one worker (workers.py). Here that Unix
socket stands in for the listening one: serve_forever waits on it, get_request takes the next
descriptor, and from then on the connection is served exactly as a listening receiver serves it
(fast path or pynetdicom). The parent balances by connections in progress, so every connection
that ends is reported back once.
"""

from __future__ import annotations

import socket
import weakref
from collections.abc import Callable
from dataclasses import dataclass

from pynetdicom import evt

from .server import ReceiverServer
from .server import start as start_server


@dataclass(frozen=True)
class Feed:
    channel: socket.socket  # SOCK_SEQPACKET; each message carries one connection's descriptor
    done: Callable[[], None]  # a connection handed to us has ended
    gone: Callable[[], None]  # the parent closed its end: it is not there any more

    def start(self, ae, address: tuple, handlers: list, receiver) -> FedServer:
        return start_server(ae, address, handlers, receiver, server_class=FedServer, feed=self)


class FedServer(ReceiverServer):
    def __init__(self, *args, feed: Feed, **kwargs):
        self.feed = feed
        self._ended: weakref.WeakSet = weakref.WeakSet()
        super().__init__(*args, **kwargs)
        self.bind(evt.EVT_CONN_CLOSE, self._pynetdicom_closed)

    def server_bind(self) -> None:
        self.socket.close()  # the TCP socket socketserver made for us: the parent listens
        self.socket = self.feed.channel

    def server_activate(self) -> None:
        pass

    def get_request(self) -> tuple[socket.socket, tuple]:
        # MSG_DONTWAIT: the select() of serve_forever said readable; never block the loop, or
        # shutdown() would wait for the next connection.
        message, fds, _flags, _address = socket.recv_fds(self.socket, 16, 1, socket.MSG_DONTWAIT)
        if not fds:
            if not message:
                self.feed.gone()
            raise OSError("no connection in the message from the parent")
        conn = socket.socket(fileno=fds[0])
        try:
            return conn, conn.getpeername()
        except OSError:  # the peer left before we got to it
            conn.close()
            self.feed.done()
            raise

    def shutdown_request(self, request) -> None:
        # socketserver closes a connection here when the fast path has served it, or when
        # handing it to pynetdicom failed; pynetdicom's own end is EVT_CONN_CLOSE below.
        super().shutdown_request(request)
        self.feed.done()

    def _pynetdicom_closed(self, event: evt.Event) -> None:
        assoc = event.assoc
        if assoc not in self._ended:  # some abort paths report the close twice
            self._ended.add(assoc)
            self.feed.done()
