"""C-MOVE and C-GET as SCU against real archives (Orthanc, dcmtk dcmqrscp, our own receiver), with the
failures each archive really produces explained in words, and the `dicomtui move` / `get` CLI contract."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from pydicom import dcmread
from pynetdicom import AE, StoragePresentationContexts, _config
from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelGet  # type: ignore[attr-defined]

from dicomtui.config import Node
from dicomtui.dicom.synthetic import StudySpec, make_instance, make_patient, write_instances
from dicomtui.engine.receiver.spool import INCOMING
from dicomtui.engine.retrieve import InvalidRequest, RetrieveProgress, RetrieveRequest, move
from dicomtui.engine.retrieve_get import find_instances, get
from dicomtui.store.archive_index import ArchiveIndex

from ..cli_runner import run as run_cli
from .harness import HOST, free_port

pytestmark = pytest.mark.peers


def node_of(peer, name: str = "archive") -> Node:
    return Node(name=name, ae_title=peer.ae_title, host=peer.host, port=peer.port, timeout=10)


def study_files(out: Path, seed: int, *, series: int = 2, instances: int = 3, modality: str = "CT") -> list[Path]:
    spec = StudySpec(make_patient(0, seed=seed), modality=modality, series_count=series,
                     instances_per_series=instances, seed=seed)
    return write_instances(out, [spec])


def mixed_study(out: Path, seed: int) -> tuple[str, list[Path]]:
    """One study with CT, Secondary Capture and Ultrasound instances (three SOP classes)."""
    patient = make_patient(0, seed=seed)
    base = StudySpec(patient, modality="CT", seed=seed)
    paths = []
    for series, (modality, count) in enumerate((("CT", 3), ("OT", 2), ("US", 2))):
        spec = StudySpec(patient, modality=modality, seed=seed)
        for n in range(count):
            ds = make_instance(spec, series, n)
            ds.StudyInstanceUID = base.study_uid
            path = out / f"{modality}-{n}.dcm"
            path.parent.mkdir(parents=True, exist_ok=True)
            ds.save_as(path, enforce_file_format=True)
            paths.append(path)
    return str(base.study_uid), paths


def study_uid_of(files: list[Path]) -> str:
    return str(dcmread(files[0], stop_before_pixels=True).StudyInstanceUID)


def sop_uids(files: list[Path]) -> set[str]:
    return {str(dcmread(f, stop_before_pixels=True).SOPInstanceUID) for f in files}


def archived(storage: Path) -> dict[str, int]:
    """SOP Instance UID -> number of files holding it under `storage` (leaving out '.incoming')."""
    counts: dict[str, int] = {}
    for path in storage.rglob("*.dcm"):
        if INCOMING in path.parts:
            continue
        uid = str(dcmread(path, stop_before_pixels=True).SOPInstanceUID)
        counts[uid] = counts.get(uid, 0) + 1
    return counts


def indexed(storage: Path) -> set[str]:
    with ArchiveIndex(storage).connection() as conn:
        return {row[0] for row in conn.execute("SELECT sop_uid FROM instance")}


def assert_archive_holds(storage: Path, expected: set[str]) -> None:
    counts = archived(storage)
    assert set(counts) == expected
    assert all(n == 1 for n in counts.values()), counts
    assert indexed(storage) == expected
    assert not list((storage / INCOMING).iterdir())


# -- requests ------------------------------------------------------------------------------------------------


def test_request_level_follows_the_most_specific_uid() -> None:
    assert RetrieveRequest(study_uid="1.2").level == "STUDY"
    assert RetrieveRequest(study_uid="1.2", series_uid="1.2.3").level == "SERIES"
    ds = RetrieveRequest(study_uid="1.2", series_uid="1.2.3", instance_uid="1.2.3.4").identifier()
    assert (ds.QueryRetrieveLevel, ds.SOPInstanceUID) == ("IMAGE", "1.2.3.4")
    for bad in (dict(series_uid="1.2"), dict(study_uid="1.2", instance_uid="1.3"), dict(study_uid="../etc"),
                dict(study_uid="1." + "2" * 70), dict()):
        with pytest.raises(InvalidRequest):
            RetrieveRequest(**bad)


# -- C-MOVE --------------------------------------------------------------------------------------------------


def test_move_from_orthanc_to_our_receiver(orthanc, receiver_factory, scu_ports, tmp_path: Path) -> None:
    files = study_files(tmp_path / "src", seed=5101)
    orthanc.upload(files)
    rx = receiver_factory(port=scu_ports["DICOMTUI"])
    progress: list[RetrieveProgress] = []
    result = move(node_of(orthanc), "DICOMTUI", RetrieveRequest(study_uid=study_uid_of(files)), "DICOMTUI",
                  on_progress=progress.append, receiver=rx.receiver)
    assert result.ok, result.error
    assert (result.status, result.completed, result.failed, result.failed_uids) == (0, len(files), 0, [])
    assert progress and progress[-1].completed == len(files)
    rx.receiver.wait_indexed()
    assert {str(dcmread(p, stop_before_pixels=True).SOPInstanceUID) for p in rx.stored_files()} == sop_uids(files)
    assert any("arrived at our receiver" in line and "calling DICOMTUI" in line for line in result.arrivals)


def test_move_from_orthanc_to_a_storescp_node(orthanc, storescp_factory, tmp_path: Path) -> None:
    files = study_files(tmp_path / "src", seed=5102, series=1, instances=4)
    orthanc.upload(files)
    peer = storescp_factory(ae_title="RTSTORE")
    orthanc.set_modality("rtstore", "RTSTORE", peer.host, peer.port)
    request = RetrieveRequest(study_uid=study_uid_of(files), series_uid=str(
        dcmread(files[0], stop_before_pixels=True).SeriesInstanceUID))
    result = move(node_of(orthanc), "TESTSCU", request, "RTSTORE")
    assert result.ok, result.error
    assert result.completed == 4
    assert sop_uids(peer.received()) == sop_uids(files)


def test_move_from_dcmqrscp_to_our_receiver(dcmqrscp, receiver_factory, scu_ports, tmp_path: Path) -> None:
    files = study_files(tmp_path / "src", seed=5103)
    dcmqrscp.store(files)
    rx = receiver_factory(port=scu_ports["DICOMTUI"])
    result = move(node_of(dcmqrscp), "DICOMTUI", RetrieveRequest(study_uid=study_uid_of(files)), "DICOMTUI",
                  receiver=rx.receiver)
    assert result.ok, result.error
    assert (result.status, result.completed) == (0, len(files))
    rx.receiver.wait_indexed()
    assert len(rx.stored_files()) == len(files)


def test_cancel_of_a_long_move_returns_promptly(dcmqrscp_factory, receiver_factory, tmp_path: Path) -> None:
    rx = receiver_factory()
    files = study_files(tmp_path / "src", seed=5104, series=2, instances=150)
    peer = dcmqrscp_factory(known_peers={"DICOMTUI": (HOST, rx.port)}, preload=files)
    cancel = threading.Event()
    cancelled_at: list[float] = []

    def on_progress(p: RetrieveProgress) -> None:
        if p.completed >= 3 and not cancel.is_set():
            cancelled_at.append(time.monotonic())
            cancel.set()

    result = move(node_of(peer), "DICOMTUI", RetrieveRequest(study_uid=study_uid_of(files)), "DICOMTUI",
                  cancel=cancel, on_progress=on_progress)
    took = time.monotonic() - cancelled_at[0]
    assert result.failure == "cancelled", result
    assert result.status == 0xFE00
    assert took < 5, took
    assert 3 <= result.completed < len(files)


# -- C-GET ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("chunked", [False, True], ids=["in-memory", "chunked"])
def test_get_of_a_mixed_study_from_orthanc(orthanc, tmp_path: Path, monkeypatch, chunked: bool) -> None:
    # The receiver turns chunked receiving on for the whole process; the handler must work either way.
    monkeypatch.setattr(_config, "STORE_RECV_CHUNKED_DATASET", chunked)
    study, files = mixed_study(tmp_path / "src", seed=5110 + chunked)
    orthanc.upload(files)
    request = RetrieveRequest(study_uid=study)
    found = find_instances(node_of(orthanc), "DICOMTUI", request)
    assert found is not None and len({m.sop_class_uid for m in found}) == 3
    storage = tmp_path / "archive"
    temp_before = set(Path(_tempdir()).glob("tmp*.dcm"))
    result = get(node_of(orthanc), "DICOMTUI", request, storage)
    assert result.ok, result.error
    assert (result.status, result.completed, result.failed, result.associations) == (0, len(files), 0, 1)
    assert_archive_holds(storage, sop_uids(files))
    assert set(Path(_tempdir()).glob("tmp*.dcm")) <= temp_before  # pynetdicom's chunk files did not leak


def _tempdir() -> str:
    import tempfile

    return tempfile.gettempdir()


def test_get_splits_over_associations_when_contexts_do_not_fit(orthanc, tmp_path: Path) -> None:
    study, files = mixed_study(tmp_path / "src", seed=5112)
    orthanc.upload(files)
    storage = tmp_path / "archive"
    # Room for the Get context and two storage contexts: three SOP classes need two associations.
    result = get(node_of(orthanc), "DICOMTUI", RetrieveRequest(study_uid=study), storage, max_contexts=3)
    assert result.ok, result.error
    assert result.associations == 2
    assert result.completed == len(files)
    assert_archive_holds(storage, sop_uids(files))


def test_get_of_a_mixed_study_from_dcmqrscp(dcmqrscp_factory, tmp_path: Path) -> None:
    study, files = mixed_study(tmp_path / "src", seed=5113)
    peer = dcmqrscp_factory(preload=files)
    # dcmqrscp leaves SOPClassUID out of IMAGE-level C-FIND responses: the standard list is proposed instead.
    assert find_instances(node_of(peer), "TESTSCU", RetrieveRequest(study_uid=study)) is None
    storage = tmp_path / "archive"
    result = get(node_of(peer), "TESTSCU", RetrieveRequest(study_uid=study), storage)
    assert result.ok, result.error
    assert (result.status, result.completed, result.failed) == (0, len(files), 0)
    assert_archive_holds(storage, sop_uids(files))
    # Getting it again: duplicates are identical, still one file each.
    again = get(node_of(peer), "TESTSCU", RetrieveRequest(study_uid=study), storage)
    assert again.ok, again.error
    assert_archive_holds(storage, sop_uids(files))


# -- failures in words -----------------------------------------------------------------------------------------


def test_unknown_destination_dcmqrscp_a801(dcmqrscp, tmp_path: Path) -> None:
    files = study_files(tmp_path / "src", seed=5120, series=1, instances=1)
    dcmqrscp.store(files)
    result = move(node_of(dcmqrscp), "TESTSCU", RetrieveRequest(study_uid=study_uid_of(files)), "NOWHERE",
                  local_port=11112)
    assert (result.status, result.failure) == (0xA801, "unknown-destination")
    assert "the archive does not know AE title NOWHERE; add NOWHERE -> host:port" in result.error


def test_unknown_destination_our_own_archive_a801(receiver_factory, tmp_path: Path) -> None:
    archive = receiver_factory(ae_title="OURQR")
    files = study_files(tmp_path / "src", seed=5121, series=1, instances=1)
    node = Node(name="ours", ae_title="OURQR", host=HOST, port=archive.port, timeout=10)
    result = move(node, "DICOMTUI", RetrieveRequest(study_uid=study_uid_of(files)), "DICOMTUI", local_port=4242)
    assert (result.status, result.failure) == (0xA801, "unknown-destination")
    assert "does not know AE title DICOMTUI; add DICOMTUI -> 127.0.0.1:4242 (this machine's address" in result.error


def test_unknown_destination_orthanc_c000(orthanc, tmp_path: Path) -> None:
    files = study_files(tmp_path / "src", seed=5122, series=1, instances=1)
    orthanc.upload(files)
    result = move(node_of(orthanc), "DICOMTUI", RetrieveRequest(study_uid=study_uid_of(files)), "NOWHERE")
    assert (result.status, result.failure) == (0xC000, "unknown-destination"), result
    assert "does not know AE title NOWHERE; add NOWHERE -> host:port" in result.error


def test_move_to_us_says_whether_the_association_arrived(orthanc, receiver_factory, tmp_path: Path) -> None:
    # Orthanc sends DICOMTUI to scu_ports["DICOMTUI"], where nothing listens; our receiver is elsewhere.
    files = study_files(tmp_path / "src", seed=5123, series=1, instances=2)
    orthanc.upload(files)
    rx = receiver_factory()
    result = move(node_of(orthanc), "DICOMTUI", RetrieveRequest(study_uid=study_uid_of(files)), "DICOMTUI",
                  receiver=rx.receiver)
    assert not result.ok
    assert f"the archive's association did not arrive at our receiver (port {rx.port})" in result.error.lower(), result
    assert result.arrivals == [line for line in result.arrivals if "did not arrive" in line]


def test_move_to_us_with_a_wrong_called_ae(orthanc_factory, receiver_factory, tmp_path: Path) -> None:
    rx = receiver_factory()
    # The archive knows our address under another AE title: it calls that one, and our receiver rejects it.
    peer = orthanc_factory(ae_title="WRONGAE", modalities={"TESTSCU": (HOST, free_port()),
                                                           "OLDNAME": (HOST, rx.port)})
    files = study_files(tmp_path / "src", seed=5124, series=1, instances=1)
    peer.upload(files)
    result = move(node_of(peer), "TESTSCU", RetrieveRequest(study_uid=study_uid_of(files)), "OLDNAME",
                  receiver=rx.receiver)
    assert not result.ok
    assert any("but was rejected" in line and "called OLDNAME" in line for line in result.arrivals), result
    assert "our receiver's AE title is DICOMTUI" in result.error
    # It arrived, so Orthanc's 0xC000 does not mean "unknown destination" here.
    assert result.failure == "status" and "does not know" not in result.error


def test_orthanc_accepts_echo_but_refuses_retrieves(orthanc_factory, tmp_path: Path) -> None:
    peer = orthanc_factory(ae_title="PICKY", modalities={"TESTSCU": (HOST, free_port())})
    files = study_files(tmp_path / "src", seed=5125, series=1, instances=1)
    peer.upload(files)
    request = RetrieveRequest(study_uid=study_uid_of(files))
    moved = move(node_of(peer), "STRANGER", request, "STRANGER")
    assert moved.failure == "retrieve-refused", moved
    assert "this archive accepts echo but refuses retrieves from our AE title STRANGER" in moved.error
    got = get(node_of(peer), "STRANGER", request, tmp_path / "archive")
    assert got.failure == "retrieve-refused", got
    assert "accepts echo but refuses retrieves from our AE title STRANGER" in got.error


def test_get_role_selection_refused(tmp_path: Path) -> None:
    # A pynetdicom Get SCP whose storage contexts keep the default roles: it answers role selection with no.
    ae = AE("NOROLE")
    ae.add_supported_context(StudyRootQueryRetrieveInformationModelGet)
    for context in StoragePresentationContexts:
        ae.add_supported_context(context.abstract_syntax)
    port = free_port()
    server = ae.start_server((HOST, port), block=False)
    try:
        node = Node(name="norole", ae_title="NOROLE", host=HOST, port=port, timeout=10)
        result = get(node, "DICOMTUI", RetrieveRequest(study_uid="1.2.3.4"), tmp_path / "archive")
    finally:
        server.shutdown()
    assert result.failure == "role-refused", result
    assert "refused SCP/SCU role selection" in result.error


# -- CLI -------------------------------------------------------------------------------------------------------


def test_cli_get_json_and_exit_codes(orthanc, home, tmp_path: Path) -> None:
    study, files = mixed_study(tmp_path / "src", seed=5130)
    orthanc.upload(files)
    target = f"{orthanc.ae_title}@{orthanc.host}:{orthanc.port}"
    ok = run_cli(home, "get", target, "--study", study, "--json")
    assert ok.code == 0, ok
    assert json.loads(ok.out) == {"status": "0x0000", "completed": len(files), "failed": 0, "warning": 0,
                                  "failed_uids": []}
    assert_archive_holds(home.root / "data" / "dicomtui" / "storage", sop_uids(files))
    bad = run_cli(home, "get", target, "--study", "1.2.x")
    assert bad.code == 2 and "not a valid UID" in bad.err and "Traceback" not in bad.err, bad
    lone = run_cli(home, "get", target, "--series", "1.2.3")
    assert lone.code == 2, lone
    nobody = run_cli(home, "get", f"X@{HOST}:{free_port()}", "--study", study)
    assert nobody.code == 3 and "Traceback" not in nobody.err, nobody


def test_cli_move_json_and_exit_codes(orthanc, storescp_factory, scu_ports, home, tmp_path: Path) -> None:
    files = study_files(tmp_path / "src", seed=5131, series=1, instances=2)
    orthanc.upload(files)
    peer = storescp_factory(ae_title="TESTSCU", port=scu_ports["TESTSCU"])
    target = f"{orthanc.ae_title}@{orthanc.host}:{orthanc.port}"
    study = study_uid_of(files)
    ok = run_cli(home, "move", target, "--dest", "TESTSCU", "--study", study, "--json")
    assert ok.code == 0, ok
    assert json.loads(ok.out) == {"status": "0x0000", "completed": 2, "failed": 0, "warning": 0,
                                  "failed_uids": []}
    assert sop_uids(peer.received()) == sop_uids(files)
    unknown = run_cli(home, "move", target, "--dest", "NOWHERE", "--study", study, "--json")
    assert unknown.code == 1, unknown
    assert json.loads(unknown.out)["status"] == "0xC000"
    assert "does not know AE title NOWHERE" in unknown.err and "Traceback" not in unknown.err


def test_a_storage_only_node_cannot_move_or_get(storescp, tmp_path):
    """storescp offers neither C-MOVE nor C-GET: the explanation says so, not that it refuses us."""
    node = Node("scp", storescp.ae_title, HOST, storescp.port)
    request = RetrieveRequest(study_uid="1.2.3")
    moved = move(node, "DICOMTUI", request, "DICOMTUI")
    assert moved.failure == "unsupported" and "does not offer" in moved.error, moved.error
    assert "MOVE" in moved.error and "storage-only" in moved.error and "AE title" not in moved.error
    got = get(node, "DICOMTUI", request, tmp_path / "archive")
    assert got.failure in ("unsupported", "status") and "does not offer" in got.error, got.error
