"""DICOM over TLS into the receiver: mutual authentication with dcmtk, and a silent client
that must not hold up anyone else (the handshake runs outside the accept loop)."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import pytest

from dicomtui.engine.receiver import Receiver, ReceiverProblem, ReceiverSettings

from .harness import HOST, dcmtk, free_port

pytestmark = pytest.mark.peers


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Path:
    """A CA, a server and a client certificate made with the openssl command."""
    folder = tmp_path_factory.mktemp("pki")

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=dicomtui test CA")
    for name in ("server", "client"):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
                "-subj", f"/CN={name}")
        (folder / f"{name}.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.ext")
    return folder


@pytest.fixture
def tls_receiver(tmp_path, pki):
    settings = ReceiverSettings(ae_title="RX", port=free_port(), bind=HOST, storage=tmp_path / "archive",
                                min_free_bytes=0, tls_port=free_port(), tls_cert=pki / "server.pem",
                                tls_key=pki / "server.key", tls_ca=pki / "ca.pem", tls_handshake_seconds=3)
    receiver = Receiver(settings)
    events: list = []
    receiver.subscribe(events.append)
    receiver.start()
    yield receiver, events
    receiver.stop()


def _tls_echo(pki: Path, port: int, *, client_cert: bool = True) -> subprocess.CompletedProcess:
    tls = ["+tls", str(pki / "client.key"), str(pki / "client.pem")] if client_cert else ["+tla"]
    return subprocess.run([dcmtk("echoscu"), *tls, "+cf", str(pki / "ca.pem"), "-aec", "RX", HOST, str(port)],
                          capture_output=True, text=True, timeout=30)


def test_mutual_tls_echo_while_a_silent_client_holds_a_connection(tls_receiver, pki):
    receiver, _ = tls_receiver
    with socket.create_connection((HOST, receiver.settings.tls_port)):  # connects, never says a word
        time.sleep(0.2)
        started = time.monotonic()
        result = _tls_echo(pki, receiver.settings.tls_port)
        assert result.returncode == 0, result.stderr
        assert time.monotonic() - started < 2.0, "the silent client must not delay others"


def test_a_caller_without_a_certificate_is_refused_and_logged(tls_receiver, pki):
    receiver, events = tls_receiver
    result = _tls_echo(pki, receiver.settings.tls_port, client_cert=False)
    assert result.returncode != 0
    deadline = time.monotonic() + 5
    while not any(isinstance(e, ReceiverProblem) and "certificate" in e.message for e in events):
        assert time.monotonic() < deadline, events
        time.sleep(0.05)


def test_plain_port_keeps_working_next_to_tls(tls_receiver):
    receiver, _ = tls_receiver
    result = subprocess.run([dcmtk("echoscu"), "-aec", "RX", HOST, str(receiver.settings.port)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr


def test_tls_settings_problems_are_reported(home, pki):
    from ..cli_runner import run

    home.config.parent.mkdir(parents=True)
    home.config.write_text(f'[receiver]\ntls_port = 2762\ntls_ca = "{pki / "missing.pem"}"\n')
    result = run(home, "config", "validate")
    assert result.code == 2, result
    assert "tls_ca" in result.err and "does not exist" in result.err
    assert "needs tls_cert and tls_key" in result.err
