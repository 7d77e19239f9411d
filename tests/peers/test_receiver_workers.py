"""`dicomtui serve --workers N` against real senders: several processes, one archive.

What an operator relies on: every instance sent by senders served in parallel is in the folder once
and in the index, a stop mid-transfer still exits 0 with nothing half-written, start-up problems are
reported as before, [receiver] max_associations limits the whole serve, and the app's in-process
receiver is what it was.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
from pydicom import dcmread
from pynetdicom import AE
from pynetdicom.sop_class import Verification

from dicomtui.dicom.synthetic import generate_studies
from dicomtui.engine.receiver.workers import worker_count
from dicomtui.store.archive_index import ArchiveIndex

from ..cli_runner import run as run_cli
from .harness import HOST, echo, free_port
from .receiver_fixtures import (
    RECEIVER_AE,
    child_pids,
    flood_with_huge_pdu,
    vm_hwm_kib,
    write_config,
)

pytestmark = pytest.mark.peers

MiB = 1 << 20


@pytest.fixture(scope="module")
def batches(tmp_path_factory: pytest.TempPathFactory) -> list[list[Path]]:
    out = tmp_path_factory.mktemp("worker-batches")
    return [generate_studies(out / f"b{i}", patients=2, studies_per_patient=1, series_per_study=2,
                             instances_per_series=25, modalities=("CT", "MR"), seed=9500 + i,
                             instance_bytes=16_000)
            for i in range(4)]


@pytest.fixture(scope="module")
def megabyte_batches(tmp_path_factory: pytest.TempPathFactory) -> list[list[Path]]:
    out = tmp_path_factory.mktemp("worker-megabyte")
    return [generate_studies(out / f"m{i}", patients=1, series_per_study=3, instances_per_series=25,
                             modalities=("CT",), seed=9600 + i, instance_bytes=1_000_000)
            for i in range(2)]


def sop_uids(files: list[Path]) -> list[str]:
    return [str(dcmread(p, stop_before_pixels=True).SOPInstanceUID) for p in files]


def stop_serve(served, timeout: float = 35) -> int:
    os.kill(served.pid, signal.SIGTERM)
    try:
        return served.process.popen.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"serve still running {timeout} s after SIGTERM:\n{served.log()[-3000:]}", pytrace=False)


def senders_ok(senders, timeout: float = 90) -> None:
    for code, output in senders.wait(timeout=timeout):
        assert code == 0 and "E:" not in output, output[-2000:]


def incoming(storage: Path) -> list[Path]:
    return sorted((storage / ".incoming").iterdir())


# ---------------------------------------------------------------------------------------------------------


def test_four_senders_into_two_workers_every_instance_once(serve_factory, batches, senders, home):
    storage = home.root / "archive"
    (storage / ".incoming").mkdir(parents=True)
    (storage / ".incoming" / "rx-left-by-a-crash.part").write_bytes(b"\x00" * 4096)
    (storage / ".incoming" / "rx-left-by-a-crash.part").chmod(0)  # never completed: the receiver's mark
    served = serve_factory(workers=2, storage=storage)
    assert len(child_pids(served.pid)) == 2
    for batch in batches:
        senders.start(served.port, batch)
    senders_ok(senders)
    assert stop_serve(served) == 0, served.log()[-3000:]

    expected = {uid for batch in batches for uid in sop_uids(batch)}
    assert len(expected) == 400
    stored = sorted(storage.rglob("*.dcm"))
    assert sorted(sop_uids(stored)) == sorted(expected)  # each exactly once
    index = ArchiveIndex(storage)
    assert index.counts().instances == 400
    index.close()
    assert incoming(storage) == []
    log = served.log()
    assert "Traceback" not in log, log[-3000:]
    # The parent swept once before the workers started; no worker swept (it would say so, tagged).
    sweeps = [line for line in log.splitlines() if "partial file(s) left by an earlier run" in line]
    assert len(sweeps) == 1 and "[w" not in sweeps[0], sweeps
    stored_lines = [line for line in log.splitlines() if " stored " in line]
    assert len(stored_lines) == 400
    # Both workers served senders, and the summary adds both up.
    assert {line.split()[2] for line in stored_lines} == {"[w1]", "[w2]"}
    assert " stopped: 400 instance(s)" in log and "0 refused" in log, log[-2000:]


def test_the_same_instances_from_two_workers_leave_one_copy_each(serve_factory, batches, senders, home):
    served = serve_factory(workers=2)
    files = batches[0]
    for _ in range(2):
        senders.start(served.port, files)
    senders_ok(senders)
    assert stop_serve(served) == 0, served.log()[-3000:]
    log = served.log()
    workers = {line.split()[2] for line in log.splitlines() if " from STORESCU at " in line}
    assert workers >= {"[w1]", "[w2]"}, log[-3000:]  # one sender per worker, or the test proves nothing
    stored = sorted(served.storage.rglob("*.dcm"))
    assert sorted(sop_uids(stored)) == sorted(sop_uids(files))
    index = ArchiveIndex(served.storage)
    assert index.counts().instances == len(files)
    index.close()
    assert incoming(served.storage) == []


def test_sigterm_mid_transfer_with_workers_exits_0_leaving_nothing_half_written(serve_factory,
                                                                                 megabyte_batches, senders):
    served = serve_factory(workers=2)
    pixel_bytes = len(dcmread(megabyte_batches[0][0]).PixelData)
    for batch in megabyte_batches:
        senders.start(served.port, batch)
    deadline = time.monotonic() + 30
    while len(list(served.storage.rglob("*.dcm"))) < 30:
        assert all(p.poll() is None for p in senders.procs), "a sender finished before 30 instances were stored"
        assert time.monotonic() < deadline, served.log()[-3000:]
        time.sleep(0.005)
    workers = child_pids(served.pid)
    assert len(workers) == 2
    signalled = time.monotonic()
    assert stop_serve(served) == 0, served.log()[-3000:]
    assert time.monotonic() - signalled < 35
    log = served.log()
    assert " stopping: " in log and " stopped: " in log, log[-3000:]
    assert "Traceback" not in log and "did not stop" not in log, log[-3000:]
    for pid in workers:
        assert not Path(f"/proc/{pid}").exists(), f"worker {pid} outlived serve"
    stored = sorted(served.storage.rglob("*.dcm"))
    assert len(stored) >= 30
    for path in stored:
        assert len(dcmread(path).PixelData) == pixel_bytes, path
    assert incoming(served.storage) == []
    index = ArchiveIndex(served.storage)
    assert index.counts().instances == len(stored)  # every worker indexed what it stored before it ended
    index.close()


def test_max_associations_limits_the_whole_serve(serve_factory):
    served = serve_factory(workers=2, config="[receiver]\nmin_free_mb = 0\nmax_associations = 2\n")
    ae = AE("HOLDER")
    ae.add_requested_context(Verification)
    held = [ae.associate(HOST, served.port, ae_title=RECEIVER_AE) for _ in range(2)]
    try:
        assert all(a.is_established for a in held)
        third = echo(HOST, served.port, RECEIVER_AE, "THIRD")
        assert not third.ok and third.rejected, third.output
        assert third.reject_reason == "Local Limit Exceeded", third.output
    finally:
        for assoc in held:
            assoc.release()
    deadline = time.monotonic() + 5
    while not echo(HOST, served.port, RECEIVER_AE, "THIRD").ok:
        assert time.monotonic() < deadline, served.log()[-3000:]
        time.sleep(0.05)
    opened = [line for line in served.log().splitlines() if " from HOLDER at " in line]
    assert {line.split()[2] for line in opened} == {"[w1]", "[w2]"}  # one slot in each worker


def test_a_huge_pdu_is_refused_by_a_worker_without_memory_growth(serve_factory):
    served = serve_factory(workers=2)
    workers = child_pids(served.pid)
    before = {pid: vm_hwm_kib(pid) for pid in workers}
    with socket.create_connection((HOST, served.port), timeout=5) as sock:
        sent, outcome = flood_with_huge_pdu(sock, pdu_type=0x01)
    assert outcome == "closed" and sent < 64 * MiB, (outcome, sent)
    grown = max(vm_hwm_kib(pid) - before[pid] for pid in workers) / 1024
    assert grown < 50, f"a worker's peak RSS grew by {grown:.0f} MiB"
    assert echo(HOST, served.port, RECEIVER_AE).ok
    assert any("warning" in line and "PDU" in line and "[w" in line for line in served.log().splitlines())


# ---------------------------------------------------------------------------------------------------------
# Start-up problems, in words, as without workers


def test_port_in_use_with_workers_exits_1_in_one_sentence(home):
    with socket.create_server((HOST, 0)) as taken:
        port = taken.getsockname()[1]
        result = run_cli(home, "serve", "--workers", "2", "--port", str(port), "--bind", HOST,
                         "--storage", str(home.root / "a"))
    assert result.code == 1, result
    assert "already in use" in result.err and "Traceback" not in result.err, result
    assert len(result.err.strip().splitlines()) == 1, result


def test_a_second_serve_with_workers_on_the_same_port_is_refused(serve_factory, home):
    """The parent binds without SO_REUSEPORT: two serves never share a port silently."""
    served = serve_factory(workers=2)
    result = run_cli(home, "serve", "--workers", "2", "--port", str(served.port), "--bind", HOST,
                     "--storage", str(home.root / "other"))
    assert result.code == 1 and "already in use" in result.err, result
    assert echo(HOST, served.port, RECEIVER_AE).ok


def test_bad_worker_counts_exit_2(home):
    result = run_cli(home, "serve", "--workers", "0", "--port", str(free_port()), "--bind", HOST,
                     "--storage", str(home.root / "a"))
    assert result.code == 2 and "--workers" in result.err and "Traceback" not in result.err, result
    write_config(home, "[receiver]\nworkers = \"two\"\n")
    result = run_cli(home, "serve", "--port", str(free_port()), "--bind", HOST, "--storage", str(home.root / "b"))
    assert result.code == 2 and "workers" in result.err and "Traceback" not in result.err, result


# ---------------------------------------------------------------------------------------------------------
# One process where it should be


def test_one_worker_and_the_apps_receiver_stay_in_one_process(serve_factory, receiver_factory):
    served = serve_factory(workers=1)
    assert child_pids(served.pid) == []
    assert " worker processes" not in served.log()
    rx = receiver_factory()  # what the app starts: it listens on the port itself
    assert echo(HOST, rx.port, RECEIVER_AE).ok
    assert rx.receiver._server.socket.getsockname()[1] == rx.port


def test_workers_from_the_config_never_exceed_max_associations(serve_factory):
    served = serve_factory(config="[receiver]\nmin_free_mb = 0\nmax_associations = 2\nworkers = 4\n")
    assert len(child_pids(served.pid)) == 2
    assert "with 2 worker processes" in served.log()


def test_default_worker_count_follows_the_cpus_up_to_4_and_max_associations(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: set(range(8)))
    assert worker_count(None, 8) == 4
    assert worker_count(None, 3) == 3
    assert worker_count(6, 8) == 6 and worker_count(6, 2) == 2 and worker_count(1, 8) == 1
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0})
    assert worker_count(None, 8) == 1
