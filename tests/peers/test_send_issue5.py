"""Issue 5's real-peer tests of `dicomtui send --json`: 500 instances to storescp and to Orthanc, a peer that
takes Implicit VR Little Endian only, a peer that aborts mid-job and is replaced during the back-off, and a
peer that is down at first and comes up while the job backs off.
"""

from __future__ import annotations

import json
import subprocess
import time

import pytest
from pydicom import dcmread
from pydicom.uid import UID

from dicomtui.dicom.synthetic import generate_studies
from dicomtui.engine.send import scan
from dicomtui.store.jobs import JobStore

from ..cli_runner import finish, run, start
from .harness import HOST, dcmtk, dcmtk_env, free_port
from .receiver_fixtures import SHIPPED, copy_shipped

pytestmark = pytest.mark.peers

JSON_KEYS = {"job", "sent", "failed", "skipped", "bytes", "seconds"}
IMPLICIT_LITTLE = "1.2.840.10008.1.2"
RLE_LOSSLESS = "1.2.840.10008.1.2.5"


def make_500(folder, seed: int):
    # 5 patients x 2 series x 50 instances = 500 small instances
    files = generate_studies(folder, patients=5, series_per_study=2, instances_per_series=50, seed=seed,
                             instance_bytes=4_000)
    assert len(files) == 500
    return files


def uids_of(paths) -> list[str]:
    return [str(dcmread(p, stop_before_pixels=True).SOPInstanceUID) for p in paths]


def sent_json(result, sent: int, failed: int = 0, skipped: int = 0) -> dict:
    out = json.loads(result.out)
    assert set(out) == JSON_KEYS
    assert (out["sent"], out["failed"], out["skipped"]) == (sent, failed, skipped), result
    return out


def store_of(home) -> JobStore:
    return JobStore(home.root / "data" / "dicomtui" / "jobs.sqlite3")


# ---------------------------------------------------------------------------------------------------------
# a. 500 instances, every one verified on the receiving side


def test_500_instances_to_storescp(home, storescp, tmp_path):
    files = make_500(tmp_path / "f", seed=7501)
    result = run(home, "send", f"{storescp.ae_title}@{HOST}:{storescp.port}", str(tmp_path / "f"), "--json")
    assert result.code == 0, result
    out = sent_json(result, 500)
    assert out["bytes"] == scan(files).total_bytes
    received = storescp.received()
    assert len(received) == 500
    assert sorted(uids_of(received)) == sorted(uids_of(files))


def orthanc_instances_of_studies(orthanc, study_uids) -> list[str]:
    """SOP Instance UIDs Orthanc holds in the given studies (one list per study, so a shared Orthanc's other
    instances do not count)."""
    found: list[str] = []
    for study_uid in study_uids:
        hits = [h for h in orthanc.rest("/tools/lookup", method="POST", body=study_uid) if h["Type"] == "Study"]
        assert len(hits) == 1, (study_uid, hits)
        found += [i["MainDicomTags"]["SOPInstanceUID"] for i in orthanc.rest(f"{hits[0]['Path']}/instances")]
    return found


def test_500_instances_to_orthanc(home, orthanc, tmp_path):
    files = make_500(tmp_path / "f", seed=7502)
    result = run(home, "send", f"{orthanc.ae_title}@{HOST}:{orthanc.port}", str(tmp_path / "f"), "--json")
    assert result.code == 0, result
    out = sent_json(result, 500)
    assert out["bytes"] == scan(files).total_bytes
    studies = {str(dcmread(p, stop_before_pixels=True).StudyInstanceUID) for p in files}
    held = orthanc_instances_of_studies(orthanc, studies)
    assert len(held) == 500  # each exactly once
    assert sorted(held) == sorted(uids_of(files))


# ---------------------------------------------------------------------------------------------------------
# b. a peer that accepts Implicit VR Little Endian only, compressed files from pydicom's test data


def is_compressed(ds) -> bool:
    return UID(ds.file_meta.TransferSyntaxUID).is_compressed and "PixelData" in ds


def interleaved(ds) -> bytes:
    """Uncompressed pixel data, colour-by-pixel whatever its Planar Configuration (the converted file may say
    colour-by-plane, 1, where the source said 0: the same image)."""
    data = ds.PixelData
    samples = int(ds.get("SamplesPerPixel", 1))
    if samples == 1 or int(ds.get("PlanarConfiguration", 0)) == 0:
        return data
    plane = ds.Rows * ds.Columns * ((ds.BitsAllocated + 7) // 8)
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    assert ds.BitsAllocated == 8, "only 8-bit colour is re-interleaved here"
    out = bytearray(plane * samples * frames)
    for frame in range(frames):
        base = frame * plane * samples
        for s in range(samples):
            out[base + s:base + plane * samples:samples] = data[base + s * plane:base + (s + 1) * plane]
    return bytes(out)


def decoded_by_dcmtk(path, out) -> bytes:
    """The pixel data of an RLE file as dcmtk's dcmdrle decodes it (independent of pydicom)."""
    subprocess.run([dcmtk("dcmdrle"), str(path), str(out)], check=True, env=dcmtk_env(), capture_output=True,
                   timeout=60)
    return interleaved(dcmread(out))


def test_implicit_only_peer_gets_rle_converted_and_the_rest_fails_with_reasons(home, storescp_factory, tmp_path):
    folder = tmp_path / "f"
    folder.mkdir()
    files = copy_shipped(SHIPPED, folder, is_compressed)
    syntax_of = {str(p): str(dcmread(p, stop_before_pixels=True).file_meta.TransferSyntaxUID) for p in files}
    rle = [p for p in files if syntax_of[str(p)] == RLE_LOSSLESS]
    others = [p for p in files if syntax_of[str(p)] != RLE_LOSSLESS]
    assert len(rle) == 2 and others, syntax_of  # MR_small_RLE, SC_rgb_rle; JPEG, JPEG 2000, JPEG-LS...
    # +xi: storescp accepts Implicit VR Little Endian only (+xa is left out)
    scp = storescp_factory(ae_title="IMPLICIT", accept_all=False, extra_args=["+xi"])
    result = run(home, "send", f"IMPLICIT@{HOST}:{scp.port}", *map(str, files), "--json")
    assert result.code == 1, result
    out = sent_json(result, len(rle), failed=len(others))

    received = {str(dcmread(p).SOPInstanceUID): p for p in scp.received()}
    assert sorted(received) == sorted(uids_of(rle))
    for n, source in enumerate(rle):
        uid = str(dcmread(source, stop_before_pixels=True).SOPInstanceUID)
        got = dcmread(received[uid])
        assert got.file_meta.TransferSyntaxUID == IMPLICIT_LITTLE  # storescp writes what it received
        expected = decoded_by_dcmtk(source, tmp_path / f"dcmdrle{n}.dcm")
        assert interleaved(got) == expected, source

    shown = json.loads(run(home, "jobs", "show", out["job"], "--json").out)
    failed = {f["path"]: f for f in shown["failed_instances"]}
    assert set(failed) == {str(p) for p in others}
    for f in failed.values():
        assert f["kind"] == "conversion" and f["attempts"] == 1, f  # permanent: not retried
        assert "only as Implicit VR Little Endian" in f["error"], f
        assert "could not be converted" in f["error"], f


# ---------------------------------------------------------------------------------------------------------
# c. a peer that aborts mid-job, replaced by a normal one during the back-off


def wait_for_failure(home, proc, timeout: float = 20.0) -> None:
    """Until the job has recorded at least one failed instance (the first round is over)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the send ended before the peer could be replaced"
        store = store_of(home)
        jobs = store.list() if store.path.exists() else []
        if jobs and jobs[0].counts.failed >= 1:
            return
        time.sleep(0.02)
    pytest.fail(f"no instance failed within {timeout} s")


def test_peer_aborting_mid_job_then_replaced_during_back_off(home, storescp_factory, tmp_path):
    folder = tmp_path / "f"
    files = generate_studies(folder, patients=1, series_per_study=1, instances_per_series=20, seed=7503,
                             instance_bytes=4_000)
    port = free_port()
    # --abort-after: storescp receives each association's first C-STORE-RQ, then aborts the association
    # without answering (nor writing the file)
    # (it does not check the called AE title; its own title only names its folder)
    aborting = storescp_factory(ae_title="ABORTING", port=port, extra_args=["--abort-after"])
    started = start(home, ["send", f"STORESCP@{HOST}:{port}", str(folder), "--json"])
    wait_for_failure(home, started[1])
    aborting.stop()  # the 1 s back-off runs now; later rounds wait 2 and 4 s, so there is time
    normal = storescp_factory(ae_title="STORESCP", port=port)
    result = finish(started)
    assert result.code == 0, result
    sent_json(result, 20)
    expected = sorted(uids_of(files))
    assert aborting.received() == []  # it never answered, so it never stored
    assert "aborting association" in aborting.log_text().lower()
    assert sorted(uids_of(normal.received())) == expected  # every instance, each once
    job = store_of(home).list()[0]
    assert job.state == "done" and job.counts.sent == 20


# ---------------------------------------------------------------------------------------------------------
# d. a peer that is down at first and comes up while the job backs off


def test_peer_down_at_first_comes_up_during_back_off(home, storescp_factory, tmp_path):
    folder = tmp_path / "f"
    files = generate_studies(folder, patients=1, series_per_study=1, instances_per_series=10, seed=7504,
                             instance_bytes=4_000)
    port = free_port()
    began = time.monotonic()
    started = start(home, ["send", f"STORESCP@{HOST}:{port}", str(folder), "--json"])
    wait_for_failure(home, started[1])  # the first attempt was refused: nothing listens yet
    time.sleep(max(0.0, 1.5 - (time.monotonic() - began)))
    scp = storescp_factory(ae_title="STORESCP", port=port)  # comes up while the job backs off (1, 2, 4 s)
    result = finish(started)
    assert result.code == 0, result
    sent_json(result, 10)
    assert sorted(uids_of(scp.received())) == sorted(uids_of(files))
    job = store_of(home).list()[0]
    assert job.state == "done"


# ---------------------------------------------------------------------------------------------------------
# e. a folder mixing DICOM, non-DICOM and truncated files


def test_a_file_cut_off_in_its_pixel_data_fails_and_the_rest_arrives(home, storescp, tmp_path):
    folder = tmp_path / "f"
    files = generate_studies(folder, patients=1, series_per_study=1, instances_per_series=6, seed=7505,
                             instance_bytes=20_000)
    cut, good = files[2], files[:2] + files[3:]
    data = cut.read_bytes()
    cut.write_bytes(data[:len(data) - 8_000])  # a copy that stopped in the middle of its pixel data
    (folder / "notes.txt").write_text("not an image")
    result = run(home, "send", f"{storescp.ae_title}@{HOST}:{storescp.port}", str(folder), "--json")
    assert result.code == 1, result
    out = sent_json(result, 5, failed=1, skipped=1)
    assert sorted(uids_of(storescp.received())) == sorted(uids_of(good))  # the cut one never went out
    shown = json.loads(run(home, "jobs", "show", out["job"], "--json").out)
    [failed] = shown["failed_instances"]
    assert failed["path"] == str(cut) and failed["kind"] == "truncated" and failed["attempts"] == 1, failed
    assert "ends inside PixelData (7FE0,0010), 8,000 bytes short" in failed["error"], failed
    assert shown["state"] == "failed"
    plain = run(home, "jobs", "show", out["job"])
    assert f"failed: {cut}: the file ends inside PixelData" in plain.out, plain


# ---------------------------------------------------------------------------------------------------------
# f. a peer at its association limit rejects us as "transient": the job backs off and tries again


def test_a_busy_peer_rejecting_transiently_is_retried(home, receiver_factory, tmp_path):
    from pynetdicom import AE
    from pynetdicom.sop_class import Verification

    from dicomtui.engine.receiver import AssociationClosed

    folder = tmp_path / "f"
    files = generate_studies(folder, patients=1, series_per_study=1, instances_per_series=5, seed=7506,
                             instance_bytes=4_000)
    rx = receiver_factory(max_associations=1)
    caller = AE(ae_title="HOLDER")
    caller.add_requested_context(Verification)
    holder = caller.associate(HOST, rx.port, ae_title="DICOMTUI")  # takes the receiver's one association
    assert holder.is_established
    try:
        started = start(home, ["send", f"DICOMTUI@{HOST}:{rx.port}", str(folder), "--json"])
        wait_for_failure(home, started[1])  # rejected: the receiver is at its limit
        [job] = store_of(home).list()
        [row, *_] = store_of(home).instances(job.id, ["failed"])
        assert row.kind == "rejected-transient" and row.transient, row
        assert "result 2 transient" in row.error, row.error
    finally:
        holder.release()  # the receiver is free while the job backs off
    result = finish(started)
    assert result.code == 0, result
    sent_json(result, 5)
    assert sorted(uids_of(rx.stored_files())) == sorted(uids_of(files))
    assert any(e.how == "rejected" for e in rx.events.of(AssociationClosed))
    assert store_of(home).get(job.id).state == "done"
