"""The C-STORE SCU engine (engine/send) against real receivers: dcmtk storescp, Orthanc and our own receiver.

What a user checks after sending: every instance arrived, byte for byte as on disk when the peer took
its transfer syntax, converted when it took only uncompressed ones and pydicom could decode it, failed
with a reason naming what the peer accepts when not; files that are not DICOM are listed, never fatal.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.uid import ExplicitVRLittleEndian
from pynetdicom import AllStoragePresentationContexts

from dicomtui.config.model import Node
from dicomtui.dicom.quick_header import data_set_offset
from dicomtui.dicom.synthetic import generate_studies
from dicomtui.engine.receiver import AssociationOpened
from dicomtui.engine.send import FAILED, NOT_SENT, SENT, send_files

from .harness import HOST, free_port
from .receiver_fixtures import SHIPPED, copy_shipped

pytestmark = pytest.mark.peers

STORAGE_SOP_CLASSES = {cx.abstract_syntax for cx in AllStoragePresentationContexts}
RLE = "MR_small_RLE.dcm"  # pydicom decodes RLE without NumPy
JPEG2000 = "JPEG2000.dcm"  # needs pylibjpeg or GDCM, which dicomtui does not install


def node_for(peer, ae_title: str | None = None) -> Node:
    return Node("peer", ae_title or peer.ae_title, HOST, peer.port, timeout=10)


def data_set(path: Path) -> bytes:
    raw = path.read_bytes()
    return raw[data_set_offset(raw[:1 << 16]):]


def by_uid(files: list[Path]) -> dict[str, Path]:
    return {str(dcmread(p, stop_before_pixels=True).SOPInstanceUID): p for p in files}


def assert_all_sent(result) -> None:
    bad = [(o.path.name, o.error) for o in result.instances if o.state != SENT]
    assert not bad, bad


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """pydicom's storable test files, each with its own SOP Instance UID (a few share one: those are copied
    with a fresh UID; pixel data and transfer syntax stay as shipped)."""
    def storable(ds) -> bool:
        return bool(ds.file_meta.get("MediaStorageSOPInstanceUID") == ds.get("SOPInstanceUID")
                    and ds.get("SOPClassUID") in STORAGE_SOP_CLASSES and ds.get("StudyInstanceUID")
                    and ds.get("SeriesInstanceUID") and "PixelData" in ds)

    chosen = copy_shipped(SHIPPED, tmp_path_factory.mktemp("shipped"), storable)
    assert len(chosen) >= 8 and any(p.name == RLE for p in chosen) and any(p.name == JPEG2000 for p in chosen)
    return chosen


def test_shipped_files_reach_storescp_byte_for_byte(storescp_factory, shipped):
    scp = storescp_factory(extra_args=["+B"])  # +B: storescp writes the data set exactly as received
    events = []
    result = send_files(node_for(scp), "DICOMTUI", shipped, on_progress=events.append)
    assert_all_sent(result)
    assert [o.converted_to for o in result.instances] == [""] * len(shipped)
    received = by_uid(scp.received())
    for outcome in result.instances:
        assert data_set(received[outcome.sop_instance_uid]) == data_set(outcome.path), outcome.path.name
    assert result.bytes == sum(len(data_set(p)) for p in shipped)
    assert events[0].done == 0 and events[-1].done == events[-1].total == len(shipped)
    assert events[-1].bytes == result.bytes and events[-1].rate > 0


def test_shipped_files_reach_our_receiver_byte_for_byte(receiver_factory, shipped):
    rx = receiver_factory()
    result = send_files(Node("rx", "DICOMTUI", HOST, rx.port), "DICOMTUI", shipped)
    stored = by_uid(rx.stored_files())
    for outcome in result.instances:
        if outcome.state == SENT and not outcome.converted_to:
            assert data_set(stored[outcome.sop_instance_uid]) == data_set(outcome.path), outcome.path.name
    assert result.sent == len(shipped), [(o.path.name, o.error) for o in result.instances if o.state != SENT]


def test_a_folder_with_other_files_skips_and_lists_them(storescp, tmp_path):
    folder = tmp_path / "mixed"
    dicom = generate_studies(folder / "dicom", patients=1, series_per_study=1, instances_per_series=3,
                             seed=7301, instance_bytes=8_000)
    (folder / "notes.txt").write_text("not an image")
    (folder / "empty.dcm").write_bytes(b"")
    (folder / "deep" / "er").mkdir(parents=True)
    (folder / "deep" / "er" / "cut.dcm").write_bytes(dicom[0].read_bytes()[:150])  # ends inside its file meta
    result = send_files(node_for(storescp), "DICOMTUI", [folder, tmp_path / "missing"])
    assert_all_sent(result)
    assert sorted(o.path for o in result.instances) == sorted(dicom)
    reasons = {p.name: r for p, r in ((s.path, s.reason) for s in result.skipped)}
    assert set(reasons) == {"notes.txt", "empty.dcm", "cut.dcm", "missing"}
    assert "not a DICOM" in reasons["notes.txt"] and "empty" in reasons["empty.dcm"]
    assert "truncated" in reasons["cut.dcm"] and "no such file" in reasons["missing"]
    assert len(storescp.received()) == 3


def test_uncompressed_only_peer_gets_converted_or_failed_with_reason(storescp_factory, shipped):
    scp = storescp_factory(accept_all=False)  # storescp's default: uncompressed syntaxes only
    rle = next(p for p in shipped if p.name == RLE)
    j2k = next(p for p in shipped if p.name == JPEG2000)
    result = send_files(node_for(scp), "DICOMTUI", [rle, j2k])
    converted, failed = result.instances
    assert converted.state == SENT and converted.converted_to == ExplicitVRLittleEndian, converted.error
    stored = dcmread(by_uid(scp.received())[converted.sop_instance_uid])
    assert stored.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    assert stored.PixelData == dcmread(get_testdata_file("MR_small.dcm")).PixelData  # RLE is lossless
    assert failed.state == FAILED and failed.kind == "conversion"
    assert "accepts Secondary Capture Image Storage only as" in failed.error
    assert "Explicit VR Little Endian" in failed.error and "JPEG 2000" in failed.error
    assert len(scp.received()) == 1


def test_parallel_associations_deliver_every_instance(receiver_factory, tmp_path):
    files = generate_studies(tmp_path / "many", patients=4, series_per_study=2, instances_per_series=25,
                             modalities=("CT", "MR"), seed=7302, instance_bytes=6_000)
    assert len(files) == 200
    rx = receiver_factory()
    result = send_files(Node("rx", "DICOMTUI", HOST, rx.port), "DICOMTUI", files, parallel=4)
    assert_all_sent(result)
    assert sorted(o.path for o in result.instances) == sorted(files)
    stored = by_uid(rx.stored_files())
    assert set(stored) == {o.sop_instance_uid for o in result.instances}
    assert len(rx.events.of(AssociationOpened)) == 4


def test_orthanc_receives_what_is_sent(orthanc, tmp_path):
    files = generate_studies(tmp_path / "o", patients=1, series_per_study=1, instances_per_series=5,
                             seed=7303, instance_bytes=10_000)
    result = send_files(node_for(orthanc), "DICOMTUI", files, parallel=2)
    assert_all_sent(result)
    assert {o.sop_instance_uid for o in result.instances} <= orthanc.sop_instance_uids()


def test_refused_connection_fails_every_instance_in_words(tmp_path):
    files = generate_studies(tmp_path / "r", patients=1, series_per_study=1, instances_per_series=20,
                             seed=7304, instance_bytes=4_000)
    result = send_files(Node("down", "NOBODY", HOST, free_port()), "DICOMTUI", files, parallel=2)
    assert result.failed == 20 and result.sent == 0
    assert {o.kind for o in result.instances} == {"refused"}
    assert all("connection refused" in o.error for o in result.instances)


def test_cancel_releases_and_reports_what_was_done(receiver_factory, tmp_path):
    files = generate_studies(tmp_path / "c", patients=1, series_per_study=1, instances_per_series=60,
                             seed=7305, instance_bytes=4_000)
    rx = receiver_factory()
    cancel = threading.Event()

    def stop_after_ten(progress) -> None:
        if progress.done >= 10:
            cancel.set()

    result = send_files(Node("rx", "DICOMTUI", HOST, rx.port), "DICOMTUI", files, cancel=cancel,
                        on_progress=stop_after_ten)
    assert result.cancelled and result.sent == 10 and result.not_sent == 50
    assert {o.kind for o in result.instances if o.state == NOT_SENT} == {"cancelled"}
    assert len(by_uid(rx.stored_files())) == 10
