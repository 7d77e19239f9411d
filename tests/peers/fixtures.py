"""pytest fixtures for real DICOM peers (registered from tests/conftest.py via ``pytest_plugins``).

Every fixture starts real processes on 127.0.0.1 and stops them by PID / process group in its finalizer,
whether the test passed or not. A missing binary or a peer that does not come up FAILS the test with the
peer's log (never a skip: a skipped real-peer test would hide a broken environment).

Function scope: ``storescp``, ``storescp_factory``, ``dcmqrscp``, ``dcmqrscp_factory``, ``wlmscpfs``,
``silent_peer``, ``orthanc_factory``, ``orthanc_empty``.
Session scope: ``orthanc`` (shared: never assume it is empty; use ``orthanc_empty`` or distinct seeds),
``orthanc_strict``, ``dcmtk_worklists``, ``scu_ports``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from .dcmtk import (
    QRSCP,
    StoreSCP,
    WorklistSCP,
    make_worklist_files,
    start_dcmqrscp,
    start_storescp,
    start_wlmscpfs,
)
from .harness import HOST, PeerError, free_port
from .orthanc import OrthancPeer, start_orthanc
from .silent import SilentPeer

# AE titles of our own side, known to every archive fixture (Orthanc DicomModalities, dcmqrscp HostTable).
OUR_AE_TITLES = ("DICOMTUI", "TESTSCU")
# A graceful Orthanc stop takes ~2.4 s (its HTTP server winds down slowly); its storage is throw-away.
ORTHANC_STOP = {"grace": 0.0}


@contextlib.contextmanager
def peer_errors_fail() -> Iterator[None]:
    """Turn a PeerError (missing binary, peer not coming up) into a clean test failure, not a skip."""
    try:
        yield
    except PeerError as exc:
        pytest.fail(f"real DICOM peer unavailable: {exc}", pytrace=False)


class _Stack:
    """Stops every peer it started, in reverse order, even if one stop fails."""

    def __init__(self) -> None:
        self.peers: list[Any] = []

    def add(self, peer: Any) -> Any:
        self.peers.append(peer)
        return peer

    def close(self, **stop_kwargs: Any) -> None:
        errors = []
        while self.peers:
            peer = self.peers.pop()
            try:
                peer.stop(**stop_kwargs)
            except Exception as exc:  # pragma: no cover - keep stopping the others
                errors.append(exc)
        if errors:
            raise errors[0]


# ---------------------------------------------------------------------------------------------------------
# Context managers (the fixtures below are thin wrappers; tests of the harness use these directly)


@contextlib.contextmanager
def running(
    start: Callable[..., Any], *args: Any, stop_kwargs: dict[str, Any] | None = None, **kwargs: Any
) -> Iterator[Any]:
    """``with running(start_storescp, tmp_path) as peer:`` starts a peer and always stops it."""
    with peer_errors_fail():
        peer = start(*args, **kwargs)
    try:
        yield peer
    finally:
        peer.stop(**(stop_kwargs or {}))


@contextlib.contextmanager
def factory(
    start: Callable[..., Any], default_dir: Path, *, stop_kwargs: dict[str, Any] | None = None
) -> Iterator[Callable[..., Any]]:
    """A ``make(**kwargs)`` callable that starts peers with ``start(default_dir, **kwargs)``.

    Every peer it started is stopped on exit.
    """
    stack = _Stack()

    def make(**kwargs: Any) -> Any:
        with peer_errors_fail():
            return stack.add(start(default_dir, **kwargs))

    try:
        yield make
    finally:
        stack.close(**(stop_kwargs or {}))


# ---------------------------------------------------------------------------------------------------------
# Session-wide data


@pytest.fixture(scope="session")
def scu_ports() -> dict[str, int]:
    """Ports reserved for our own AE titles (DICOMTUI, TESTSCU) as C-MOVE destinations of session peers.

    Tests that receive a C-MOVE from the session ``orthanc`` listen on ``scu_ports["DICOMTUI"]``.
    """
    return {ae: free_port() for ae in OUR_AE_TITLES}


@pytest.fixture(scope="session")
def dcmtk_worklists(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """dcmtk's example worklists (wlistdb/OFFIS) as ``.wl`` files in one session directory."""
    with peer_errors_fail():
        return make_worklist_files(tmp_path_factory.mktemp("worklists"))


# ---------------------------------------------------------------------------------------------------------
# dcmtk


@pytest.fixture
def storescp(tmp_path: Path) -> Iterator[StoreSCP]:
    """dcmtk storescp, AE STORESCP, single process, ``+xa``; received files in ``.output_dir``."""
    with running(start_storescp, tmp_path) as peer:
        yield peer


@pytest.fixture
def storescp_factory(tmp_path: Path) -> Iterator[Callable[..., StoreSCP]]:
    """``storescp_factory(ae_title="X", fork=True, extra_args=["--refuse"], wait=False, port=...)``."""
    with factory(start_storescp, tmp_path) as make:
        yield make


def _known_peers(scu_ports: dict[str, int]) -> dict[str, tuple[str, int]]:
    return {ae: (HOST, port) for ae, port in scu_ports.items()}


@pytest.fixture
def dcmqrscp(tmp_path: Path, scu_ports: dict[str, int]) -> Iterator[QRSCP]:
    """dcmtk dcmqrscp, AE DCMQRSCP, empty storage; DICOMTUI and TESTSCU known at ``scu_ports``."""
    with running(start_dcmqrscp, tmp_path, known_peers=_known_peers(scu_ports)) as peer:
        yield peer


@pytest.fixture
def dcmqrscp_factory(tmp_path: Path) -> Iterator[Callable[..., QRSCP]]:
    """``dcmqrscp_factory(ae_title=..., known_peers={AE: (host, port)}, restrict_peers=...,
    preload=[files])``."""
    with factory(start_dcmqrscp, tmp_path) as make:
        yield make


@pytest.fixture
def wlmscpfs(tmp_path: Path, dcmtk_worklists: list[Path]) -> Iterator[WorklistSCP]:
    """dcmtk wlmscpfs, AE WLMSCPFS, serving dcmtk's 10 example worklists (other called AEs are rejected)."""
    with running(start_wlmscpfs, tmp_path, dcmtk_worklists[0].parent) as peer:
        yield peer


@pytest.fixture
def silent_peer() -> Iterator[SilentPeer]:
    """A TCP listener on 127.0.0.1 that accepts connections and never sends a byte (``.host``, ``.port``)."""
    with SilentPeer() as peer:
        yield peer


# ---------------------------------------------------------------------------------------------------------
# Orthanc


@pytest.fixture(scope="session")
def orthanc(
    tmp_path_factory: pytest.TempPathFactory, scu_ports: dict[str, int], dcmtk_worklists: list[Path]
) -> Iterator[OrthancPeer]:
    """One Orthanc for the whole session: AE ORTHANC, DicomCheckCalledAet off, DICOMTUI and TESTSCU in its
    DicomModalities (at ``scu_ports``), the worklist plugin serving dcmtk's example worklists.

    Shared state: other tests store into it too. Use distinct synthetic seeds or ``orthanc_empty``.
    """
    with running(
        start_orthanc,
        tmp_path_factory.mktemp("orthanc"),
        ae_title="ORTHANC",
        modalities=_known_peers(scu_ports),
        worklists_dir=dcmtk_worklists[0].parent,
        stop_kwargs=ORTHANC_STOP,
    ) as peer:
        yield peer


@pytest.fixture
def orthanc_empty(orthanc: OrthancPeer) -> OrthancPeer:
    """The session ``orthanc`` with every patient deleted first."""
    with peer_errors_fail():
        orthanc.clear()
    return orthanc


@pytest.fixture(scope="session")
def orthanc_strict(
    tmp_path_factory: pytest.TempPathFactory, scu_ports: dict[str, int]
) -> Iterator[OrthancPeer]:
    """An Orthanc that sends A-ASSOCIATE-RJ: AE STRICT, ``DicomCheckCalledAet: true`` and every
    ``DicomAlwaysAllow*`` false, so only DICOMTUI and TESTSCU may associate.

    Wrong called AE -> RJ result 1 (permanent), source 1 (service user), reason 7 (called AE not recognized);
    unknown calling AE -> result 1, source 1, reason 3 (calling AE not recognized).
    """
    with running(
        start_orthanc,
        tmp_path_factory.mktemp("orthanc-strict"),
        ae_title="STRICT",
        modalities=_known_peers(scu_ports),
        check_called_ae=True,
        extra={
            "DicomAlwaysAllowEcho": False,
            "DicomAlwaysAllowStore": False,
            "DicomAlwaysAllowFind": False,
            "DicomAlwaysAllowFindWorklist": False,
            "DicomAlwaysAllowGet": False,
            "DicomAlwaysAllowMove": False,
        },
        stop_kwargs=ORTHANC_STOP,
    ) as peer:
        yield peer


@pytest.fixture
def orthanc_factory(tmp_path: Path) -> Iterator[Callable[..., OrthancPeer]]:
    """``orthanc_factory(ae_title=..., modalities=..., check_called_ae=..., worklists_dir=..., extra={...})``:
    private Orthancs for one test (about 0.15 s to start; killed at once at teardown)."""
    with factory(start_orthanc, tmp_path, stop_kwargs=ORTHANC_STOP) as make:
        yield make
