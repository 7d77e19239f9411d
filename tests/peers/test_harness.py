"""The real-peer harness works.

Peers come up, talk DICOM, reject as documented, and leave no process behind.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pydicom
import pytest

from dicomtui.dicom.synthetic import generate_studies

from .dcmtk import start_dcmqrscp, start_storescp, start_wlmscpfs, store_files
from .fixtures import ORTHANC_STOP, factory, peer_errors_fail, running
from .harness import (
    HOST,
    PeerError,
    Process,
    _live,
    dcmtk,
    dcmtk_env,
    echo,
    free_port,
    group_alive,
    pid_alive,
    wait_for_echo,
)
from .orthanc import start_orthanc

pytestmark = pytest.mark.peers

# (name, pid) of every function-scoped fixture peer used below; checked by the last test of this file.
_FIXTURE_PIDS: list[tuple[str, int]] = []


def _record(name: str, peer: object) -> None:
    _FIXTURE_PIDS.append((name, peer.pid))  # type: ignore[attr-defined]


def _uids(paths: list[Path]) -> set[str]:
    return {pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID for p in paths}


def _findscu_count(host: str, port: int, called_ae: str, model: str, keys: list[str], tmp_path: Path) -> int:
    """Number of C-FIND responses dcmtk findscu extracts (-X writes one rsp file per match)."""
    out = tmp_path / f"find-{called_ae}-{time.monotonic_ns()}"
    out.mkdir()
    argv = [dcmtk("findscu"), model, "-X", "-od", str(out), "-aet", "TESTSCU", "-aec", called_ae]
    for k in keys:
        argv += ["-k", k]
    res = subprocess.run(
        [*argv, host, str(port)], env=dcmtk_env(), capture_output=True, text=True, timeout=30
    )
    assert res.returncode == 0, res.stdout + res.stderr
    return len(list(out.glob("rsp*.dcm")))


@pytest.fixture(scope="module")
def sample_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """12 small instances of 6 modalities, international names included (seed private to this module)."""
    return generate_studies(
        tmp_path_factory.mktemp("sample"),
        patients=6,
        series_per_study=1,
        instances_per_series=2,
        modalities=("CT", "MR", "CR", "DX", "US", "OT"),
        international=True,
        seed=424242,
    )


# ---------------------------------------------------------------------------------------------------------
# Plumbing


def test_dcmtk_paths_are_absolute_and_checked() -> None:
    assert dcmtk("storescp") == "/usr/bin/storescp"
    with pytest.raises(PeerError, match="/usr/bin/no-such-tool is missing"):
        dcmtk("no-such-tool")
    # A fixture turns that into a failure (never a skip).
    with pytest.raises(pytest.fail.Exception, match="real DICOM peer unavailable"):
        with peer_errors_fail():
            dcmtk("no-such-tool")


def test_free_port_is_bindable() -> None:
    port = free_port()
    with socket.socket() as s:
        s.bind((HOST, port))


def test_process_stop_kills_group_even_if_sigterm_is_ignored(tmp_path: Path) -> None:
    proc = Process(["sh", "-c", "trap '' TERM; sleep 60 & sleep 60; wait"], log_dir=tmp_path)
    time.sleep(0.2)
    assert group_alive(proc.pgid)
    t0 = time.monotonic()
    proc.stop(grace=0.3)
    assert time.monotonic() - t0 < 3
    assert not pid_alive(proc.pid)
    assert not group_alive(proc.pgid)
    assert proc not in _live


def test_startup_failure_reports_the_log(tmp_path: Path) -> None:
    with pytest.raises(PeerError) as info:
        start_storescp(tmp_path, extra_args=["--no-such-option"])
    assert "no-such-option" in str(info.value)  # storescp's own complaint, from its log
    assert "exited" in str(info.value)


def test_peer_dies_with_pytest_even_without_finalizers(tmp_path: Path) -> None:
    """A SIGKILLed test runner leaves no peer behind (setpriv --pdeathsig)."""
    code = textwrap.dedent(
        f"""
        import sys, time
        sys.path.insert(0, {str(Path(__file__).parents[2])!r})
        from pathlib import Path
        from tests.peers.dcmtk import start_storescp
        peer = start_storescp(Path({str(tmp_path)!r}))
        print(peer.pid, flush=True)
        time.sleep(60)
        """
    )
    runner = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        pid = int(runner.stdout.readline())  # type: ignore[union-attr]
        assert pid_alive(pid)
        runner.send_signal(signal.SIGKILL)
        runner.wait(timeout=5)
        deadline = time.monotonic() + 5
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not pid_alive(pid)
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait()
        runner.stdout.close()  # type: ignore[union-attr]


# ---------------------------------------------------------------------------------------------------------
# dcmtk peers


def test_storescp_receives_generated_files(storescp, sample_files: list[Path]) -> None:
    _record("storescp", storescp)
    assert echo(storescp.host, storescp.port, "STORESCP").ok
    store_files(storescp.host, storescp.port, storescp.ae_title, sample_files)
    received = storescp.received()
    assert len(received) == len(sample_files)
    assert _uids(received) == _uids(sample_files)
    # Names survive the trip byte for byte.
    names = {str(pydicom.dcmread(p, stop_before_pixels=True).PatientName) for p in received}
    assert "Yamada^Tarou=山田^太郎=やまだ^たろう" in names and "王^小东" in names


def test_storescp_fork_mode(storescp_factory, sample_files: list[Path]) -> None:
    peer = storescp_factory(ae_title="FORKSCP", fork=True)
    _record("storescp --fork", peer)
    store_files(peer.host, peer.port, "FORKSCP", sample_files[:4])
    assert _uids(peer.received()) == _uids(sample_files[:4])


def test_dcmqrscp_echo_store_find_move(
    dcmqrscp_factory, storescp_factory, sample_files: list[Path], tmp_path: Path
) -> None:
    dest = storescp_factory(ae_title="DICOMTUI")
    qr = dcmqrscp_factory(known_peers={"DICOMTUI": (HOST, dest.port)})
    _record("dcmqrscp", qr)
    assert echo(qr.host, qr.port, "DCMQRSCP").ok
    qr.store(sample_files)
    studies = _findscu_count(
        qr.host, qr.port, "DCMQRSCP", "-S", ["QueryRetrieveLevel=STUDY", "StudyInstanceUID"], tmp_path
    )
    assert studies == 6
    first = pydicom.dcmread(sample_files[0], stop_before_pixels=True)
    argv = [dcmtk("movescu"), "-S", "-aet", "TESTSCU", "-aec", "DCMQRSCP", "-aem", "DICOMTUI"]
    argv += ["-k", "QueryRetrieveLevel=STUDY", "-k", f"StudyInstanceUID={first.StudyInstanceUID}"]
    res = subprocess.run(
        [*argv, qr.host, str(qr.port)], env=dcmtk_env(), capture_output=True, text=True, timeout=30
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert _uids(dest.received()) == {first.SOPInstanceUID, pydicom.dcmread(sample_files[1]).SOPInstanceUID}


def test_dcmqrscp_fixture_and_preload(dcmqrscp, scu_ports, sample_files: list[Path], tmp_path: Path) -> None:
    _record("dcmqrscp fixture", dcmqrscp)
    assert echo(dcmqrscp.host, dcmqrscp.port, "DCMQRSCP").ok
    assert dcmqrscp.known_peers == {
        "DICOMTUI": (HOST, scu_ports["DICOMTUI"]),
        "TESTSCU": (HOST, scu_ports["TESTSCU"]),
    }
    # preload: files indexed with dcmqridx before start-up (2 studies in the first 4 files).
    with running(start_dcmqrscp, tmp_path, ae_title="PRELOAD", preload=sample_files[:4]) as qr:
        keys = ["QueryRetrieveLevel=STUDY", "StudyInstanceUID"]
        n = _findscu_count(qr.host, qr.port, "PRELOAD", "-S", keys, tmp_path)
    assert n == 2


def test_wlmscpfs_answers_echo_and_worklist(wlmscpfs, dcmtk_worklists: list[Path], tmp_path: Path) -> None:
    _record("wlmscpfs", wlmscpfs)
    assert len(dcmtk_worklists) == 10
    assert echo(wlmscpfs.host, wlmscpfs.port, "WLMSCPFS").ok
    n = _findscu_count(wlmscpfs.host, wlmscpfs.port, "WLMSCPFS", "-W", ["PatientName", "PatientID"], tmp_path)
    assert n == len(dcmtk_worklists)


def test_silent_peer_never_answers(silent_peer) -> None:
    with socket.create_connection((silent_peer.host, silent_peer.port), timeout=2) as s:
        s.settimeout(1.0)
        s.sendall(b"\x01\x00\x00\x00\x00\x10" + b"\x00" * 16)  # the start of an A-ASSOCIATE-RQ
        t0 = time.monotonic()
        with pytest.raises(TimeoutError):
            s.recv(1)
        assert time.monotonic() - t0 >= 0.9
    assert silent_peer.accepted == 1


# ---------------------------------------------------------------------------------------------------------
# Rejections (section 3 facts, kept true by these tests)


def _assert_rejected(result, reason: str) -> None:
    assert not result.ok and result.rejected, result.output
    assert (result.reject_result, result.reject_source, result.reject_reason) == (
        "Rejected Permanent",
        "Service User",
        reason,
    )


def test_dcmtk_rejections(storescp_factory, dcmqrscp_factory, wlmscpfs) -> None:
    # storescp accepts any called AE title; --refuse rejects with no reason given.
    plain = storescp_factory()
    assert echo(plain.host, plain.port, "WRONG").ok
    refusing = storescp_factory(ae_title="REFUSER", extra_args=["--refuse"], wait=False)
    _assert_rejected(echo(refusing.host, refusing.port, "REFUSER"), "No Reason")
    # dcmqrscp: wrong called AE -> reason 7; unknown calling AE (restrict_peers) -> also reason 7 (sic).
    qr = dcmqrscp_factory(known_peers={"TESTSCU": (HOST, 11112)}, restrict_peers=True)
    _assert_rejected(echo(qr.host, qr.port, "WRONG"), "Called AE Title Not Recognized")
    _assert_rejected(echo(qr.host, qr.port, "DCMQRSCP", "UNKNOWN"), "Called AE Title Not Recognized")
    assert echo(qr.host, qr.port, "DCMQRSCP", "TESTSCU").ok
    # wlmscpfs: a called AE without a database directory -> reason 7.
    _assert_rejected(echo(wlmscpfs.host, wlmscpfs.port, "WRONG"), "Called AE Title Not Recognized")


def test_orthanc_strict_rejections(orthanc_strict) -> None:
    o = orthanc_strict
    assert echo(o.host, o.port, "STRICT", "DICOMTUI").ok
    _assert_rejected(echo(o.host, o.port, "WRONG", "DICOMTUI"), "Called AE Title Not Recognized")
    _assert_rejected(echo(o.host, o.port, "STRICT", "UNKNOWN"), "Calling AE Title Not Recognized")


def test_orthanc_default_accepts_any_called_ae(orthanc) -> None:
    assert echo(orthanc.host, orthanc.port, "WRONG", "ANYBODY").ok


# ---------------------------------------------------------------------------------------------------------
# Orthanc


def test_orthanc_echo_http_and_store(orthanc, sample_files: list[Path], scu_ports) -> None:
    assert echo(orthanc.host, orthanc.port, "ORTHANC").ok
    system = orthanc.rest("/system")
    assert (system["DicomAet"], system["DicomPort"], system["Version"]) == ("ORTHANC", orthanc.port, "1.10.1")
    assert set(orthanc.rest("/modalities")) >= {"DICOMTUI", "TESTSCU"}
    assert orthanc.modalities["DICOMTUI"] == (HOST, scu_ports["DICOMTUI"])
    orthanc.store(sample_files)
    for uid in _uids(sample_files):
        hits = orthanc.rest("/tools/lookup", method="POST", body=uid)
        assert [h["Type"] for h in hits] == ["Instance"], uid
    # Orthanc decodes every charset we generate (REST answers are UTF-8).
    names = set()
    for p in sample_files:
        ds = pydicom.dcmread(p, stop_before_pixels=True)
        hit = orthanc.rest("/tools/lookup", method="POST", body=ds.StudyInstanceUID)[0]
        study = orthanc.rest(hit["Path"])
        names.add(study["PatientMainDicomTags"]["PatientName"])
    expected = {str(pydicom.dcmread(p, stop_before_pixels=True).PatientName) for p in sample_files}
    assert names == expected


def test_orthanc_worklists(orthanc, tmp_path: Path) -> None:
    n = _findscu_count(orthanc.host, orthanc.port, "ORTHANC", "-W", ["PatientName", "PatientID"], tmp_path)
    assert n == 10


def test_orthanc_empty_and_factory(orthanc_empty, orthanc_factory) -> None:
    assert orthanc_empty.rest("/instances") == []
    private = orthanc_factory(ae_title="PRIVATE", check_called_ae=True)
    _record("orthanc_factory", private)
    assert private.pid != orthanc_empty.pid
    assert echo(private.host, private.port, "PRIVATE").ok
    _assert_rejected(echo(private.host, private.port, "ORTHANC"), "Called AE Title Not Recognized")
    private.set_modality("LATE", "LATE", HOST, 4242)
    assert "LATE" in private.rest("/modalities")


# ---------------------------------------------------------------------------------------------------------
# Nothing leaks


@pytest.mark.parametrize(
    "start",
    [start_storescp, start_dcmqrscp, start_orthanc],
    ids=["storescp", "dcmqrscp", "orthanc"],
)
def test_running_context_stops_pid(start, tmp_path: Path) -> None:
    kwargs = {"stop_kwargs": ORTHANC_STOP} if start is start_orthanc else {}
    with running(start, tmp_path, **kwargs) as peer:
        pid = peer.pid
        assert pid_alive(pid)
        assert wait_for_echo(HOST, peer.port, peer.ae_title, timeout=5) >= 0
    assert not pid_alive(pid) and not group_alive(pid)


def test_wlmscpfs_and_factory_contexts_stop(tmp_path: Path, dcmtk_worklists: list[Path]) -> None:
    with running(start_wlmscpfs, tmp_path, dcmtk_worklists[0].parent) as w:
        pid = w.pid
    assert not pid_alive(pid)
    with factory(start_storescp, tmp_path) as make:
        a, b = make(ae_title="A"), make(ae_title="B", fork=True)
        pids = [a.pid, b.pid]
    assert not any(pid_alive(p) for p in pids)


def test_zz_fixture_processes_are_gone() -> None:
    """Runs last in this file: every function-scoped fixture peer used above has been stopped."""
    alive = [(name, pid) for name, pid in _FIXTURE_PIDS if pid_alive(pid) or group_alive(pid)]
    assert not alive
    # Only session-scoped peers (the shared Orthancs) may still be registered as live.
    assert {p.name for p in _live} <= {"Orthanc"}, _live
    assert all(os.getpgid(p.pid) == p.pid for p in _live)
