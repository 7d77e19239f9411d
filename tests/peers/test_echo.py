"""C-ECHO against real peers: every failure explains itself, and nothing waits past its timeout."""

from __future__ import annotations

import socket
import time

import pytest

from dicomtui.config import Node
from dicomtui.engine.association import AssociationError, open_association
from dicomtui.engine.echo import echo

from .harness import HOST, free_port

pytestmark = pytest.mark.peers


def node(ae_title: str, port: int, **kwargs) -> Node:
    return Node(name=f"{ae_title}@{HOST}:{port}", ae_title=ae_title, host=HOST, port=port, **kwargs)


def test_echo_storescp_repeats_on_one_association(storescp):
    replies: list[int] = []
    result = echo(node(storescp.ae_title, storescp.port), "DICOMTUI", count=3,
                  on_reply=lambda n, rtt: replies.append(n))
    assert result.ok and result.error is None and result.failure is None
    assert len(result.rtt_ms) == 3 and all(0 < rtt < 1000 for rtt in result.rtt_ms)
    assert replies == [1, 2, 3]
    assert result.association_ms is not None and result.association_ms > 0


def test_echo_orthanc(orthanc):
    result = echo(node(orthanc.ae_title, orthanc.port), "DICOMTUI", count=2)
    assert result.ok, result.error
    assert len(result.rtt_ms) == 2


def test_tcp_nodelay_and_quickack_are_set(orthanc):
    """TCP_NODELAY once; TCP_QUICKACK before every receive, through a wrapper around pynetdicom's receive (Linux
    clears the option by itself, and reading it back says nothing: the kernel sets it on its own too). The
    effect is measured in tests/bench/receive.py and the README: Orthanc's echo 44 ms -> 2.7 ms."""
    from pynetdicom.sop_class import Verification

    assoc = open_association(node(orthanc.ae_title, orthanc.port), "DICOMTUI", [Verification])
    try:
        assert assoc.dul.socket.socket.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        assert assoc.dul.socket.recv.__qualname__ == "tune_socket.<locals>.recv"
        assert assoc.send_c_echo().Status == 0  # the wrapped receive works
    finally:
        assoc.release()


def test_closed_port_is_refused_at_once():
    started = time.monotonic()
    result = echo(node("NOBODY", free_port()), "DICOMTUI", timeout=5)
    assert not result.ok and result.failure == "refused" and result.no_association
    assert "connection refused" in result.error and "nothing is listening" in result.error
    assert time.monotonic() - started < 1.0


def test_wrong_called_ae_is_explained(orthanc_strict):
    result = echo(node("NOT_STRICT", orthanc_strict.port), "DICOMTUI")
    assert not result.ok and result.failure == "rejected"
    assert "called AE title not recognised" in result.error
    assert "expects a different AE title" in result.error and "'NOT_STRICT'" in result.error
    assert "reason 7" in result.error


def test_unknown_calling_ae_is_explained(orthanc_strict):
    result = echo(node(orthanc_strict.ae_title, orthanc_strict.port), "STRANGER")
    assert not result.ok and result.failure == "rejected"
    assert "calling AE title not recognised" in result.error
    assert "'STRANGER'" in result.error and "reason 3" in result.error


def test_rejection_without_reason(storescp_factory):
    refusing = storescp_factory(ae_title="REFUSER", extra_args=["--refuse"], wait=False)
    deadline = time.monotonic() + 5
    while True:  # --refuse rejects every echo too, so wait for the port, not for an echo
        with socket.socket() as sock:
            if sock.connect_ex((HOST, refusing.port)) == 0:
                break
        assert time.monotonic() < deadline, "storescp --refuse did not start"
        time.sleep(0.05)
    result = echo(node("REFUSER", refusing.port), "DICOMTUI")
    assert not result.ok and result.failure == "rejected"
    assert "without giving a reason" in result.error


@pytest.mark.parametrize("timeout", [1.0, 2.0])
def test_silent_peer_fails_within_the_timeout(silent_peer, timeout):
    started = time.monotonic()
    result = echo(node("SILENT", silent_peer.port), "DICOMTUI", timeout=timeout)
    elapsed = time.monotonic() - started
    assert not result.ok and result.failure == "timeout"
    assert f"no answer within {timeout:g} s" in result.error
    assert "did not answer the association request" in result.error
    assert timeout - 0.1 <= elapsed < timeout + 0.75
    assert silent_peer.accepted == 1


def test_node_timeout_is_used_when_none_is_given(silent_peer):
    started = time.monotonic()
    result = echo(node("SILENT", silent_peer.port, timeout=1.0), "DICOMTUI")
    assert result.failure == "timeout" and time.monotonic() - started < 1.75


def test_http_server_is_not_mistaken_for_dicom(orthanc):
    result = echo(node("ORTHANC", orthanc.http_port), "DICOMTUI", timeout=3)
    assert not result.ok and result.no_association
    assert "not DICOM" in result.error and "web server" in result.error


def _serve_once_then(reply: bytes | None):
    """A TCP service that reads the association request, answers `reply` (or nothing) and closes."""
    import threading

    server = socket.create_server((HOST, 0))

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            conn.recv(65536)
            if reply:
                conn.sendall(reply)
        server.close()

    threading.Thread(target=serve, daemon=True).start()
    return server.getsockname()[1]


def test_a_peer_that_answers_in_another_protocol():
    port = _serve_once_then(b"HTTP/1.0 400 Bad Request\r\n\r\n")
    result = echo(node("WEB", port), "DICOMTUI", timeout=3)
    assert result.failure == "aborted" and "not DICOM" in result.error


def test_a_peer_that_hangs_up():
    result = echo(node("GONE", _serve_once_then(None)), "DICOMTUI", timeout=3)
    assert result.failure == "aborted" and "closed the connection or sent A-ABORT" in result.error


def test_unresolvable_host():
    bad = Node(name="typo", ae_title="PACS", host="pacs.invalid", port=104)
    with pytest.raises(AssociationError) as caught:
        open_association(bad, "DICOMTUI", ["1.2.840.10008.1.1"])
    assert caught.value.kind == "unresolved" and "could not be resolved" in caught.value.message


def test_cancel_stops_between_echoes(storescp):
    import threading

    cancel = threading.Event()
    result = echo(node(storescp.ae_title, storescp.port), "DICOMTUI", count=100, cancel=cancel,
                  on_reply=lambda n, rtt: cancel.set() if n == 2 else None)
    assert not result.ok and result.failure == "cancelled" and len(result.rtt_ms) == 2


def test_echo_pool_runs_a_few_at_a_time_and_reports_each(storescp, silent_peer):
    import threading

    from dicomtui.engine.echo_pool import EchoPool

    done: list[tuple[str, bool]] = []
    finished = threading.Event()
    nodes = [node("SILENT", silent_peer.port, timeout=1.0)] + [
        Node(name=f"live{i}", ae_title=storescp.ae_title, host=HOST, port=storescp.port) for i in range(5)
    ]

    def on_done(n, result):
        done.append((n.name, result.ok))
        if len(done) == len(nodes):
            finished.set()

    pool = EchoPool(on_done, parallel=2)
    started = time.monotonic()
    for n in nodes:
        pool.submit(n, "DICOMTUI")
    assert finished.wait(10)
    # The hung node holds one thread; the other serves the five live nodes meanwhile.
    assert [name for name, ok in done[:5]] == [f"live{i}" for i in range(5)]
    assert done[5] == (nodes[0].name, False)
    assert time.monotonic() - started < 1.9
    assert pool.thread_count == 2
