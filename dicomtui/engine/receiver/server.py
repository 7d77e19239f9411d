"""The listening socket: pynetdicom's threaded server, with storage associations served by
the fast path (fast_store.py) and everything else by pynetdicom as usual."""

from __future__ import annotations

import threading
import traceback

from pynetdicom.transport import ThreadedAssociationServer

from .events import ReceiverProblem


class ReceiverServer(ThreadedAssociationServer):
    receiver = None  # set by start()

    def process_request_thread(self, request, client_address) -> None:
        receiver = self.receiver
        try:
            association = receiver.claim(request, client_address)
        except Exception:  # noqa: BLE001 - the connection still gets pynetdicom's answer
            receiver.emit(ReceiverProblem(f"fast path failed, pynetdicom serves {client_address[0]}: "
                                          f"{traceback.format_exc(limit=3)}"))
            association = None
        if association is None:
            super().process_request_thread(request, client_address)
            return
        try:
            association.run()
        except Exception:  # noqa: BLE001 - one broken association must not take the server down
            receiver.emit(ReceiverProblem(f"the association from {client_address[0]} failed: "
                                          f"{traceback.format_exc(limit=3)}"))
        finally:
            self.shutdown_request(request)


def start(ae, address: tuple[str, int], handlers: list, receiver, server_class: type = ReceiverServer,
          **options) -> ReceiverServer:
    """Like ae.start_server(block=False), with our server class (or a subclass, given `options`).
    Raises OSError if it cannot bind."""
    server = ae.make_server(address, evt_handlers=handlers, server_class=server_class, **options)
    server.receiver = receiver
    threading.Thread(target=server.serve_forever, name="dicomtui-receiver", daemon=True).start()
    ae._servers.append(server)  # ae.shutdown() stops it, and server.shutdown() expects to be listed
    return server
