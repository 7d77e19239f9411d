"""The archive index: add / upsert / remove / counts / recent, character sets, and reindex from disk."""

from __future__ import annotations

import os
import shutil
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from pydicom import dcmread
from pydicom.encaps import encapsulate
from pydicom.uid import ImplicitVRLittleEndian, JPEGBaseline8Bit

from dicomtui.dicom.synthetic import generate_studies, make_instance, make_patient, make_specs, write_instances
from dicomtui.store.archive_index import INDEX_NAME, SCHEMA, ArchiveIndex, Counts, Received
from dicomtui.store.archive_reindex import REBUILD_PREFIX


def add_file(index: ArchiveIndex, path: Path, **received) -> None:
    ds = dcmread(path, stop_before_pixels=True)
    rel = path.relative_to(index.storage)
    index.add(ds, Received(rel, path.stat().st_size, ds.file_meta.TransferSyntaxUID, **received))


def rows(index: ArchiveIndex, sql: str, *params) -> list[tuple]:
    with index.connection() as conn:
        return conn.execute(sql, params).fetchall()


@pytest.fixture
def archive(tmp_path: Path) -> tuple[ArchiveIndex, list[Path]]:
    """3 patients x 1 study x 2 series x 3 instances, indexed one by one as the receiver would."""
    storage = tmp_path / "storage"
    paths = generate_studies(storage, patients=3, seed=11)
    index = ArchiveIndex(storage)
    for n, path in enumerate(paths):
        add_file(index, path, calling_ae="MODALITY", peer="10.0.0.5:104", received_at=1000.0 + n)
    return index, paths


# add / counts / path_of / recent -----------------------------------------------------------------------
def test_the_db_lives_inside_the_storage_folder_in_wal_mode(tmp_path):
    index = ArchiveIndex(tmp_path / "new" / "storage")
    assert index.counts() == Counts(0, 0, 0, 0, 0)
    assert index.db_path == tmp_path / "new" / "storage" / INDEX_NAME and index.db_path.is_file()
    conn = sqlite3.connect(index.db_path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(SCHEMA)
    conn.close()


def test_add_counts_and_paths(archive):
    index, paths = archive
    total = sum(p.stat().st_size for p in paths)
    assert index.counts() == Counts(patients=3, studies=3, series=6, instances=18, bytes=total)
    sop = dcmread(paths[4], stop_before_pixels=True).SOPInstanceUID
    assert index.path_of(sop) == paths[4]
    assert index.path_of("1.2.3.4") is None
    stored = rows(index, "SELECT path, transfer_syntax, calling_ae, peer FROM instance WHERE sop_uid = ?", sop)
    assert stored == [(paths[4].relative_to(index.storage).as_posix(), "1.2.840.10008.1.2.1", "MODALITY",
                       "10.0.0.5:104")]


def test_recent_is_newest_first_with_what_the_screen_shows(archive):
    index, paths = archive
    recent = index.recent(limit=4)
    assert [r.received_at for r in recent] == [1017.0, 1016.0, 1015.0, 1014.0]
    ds = dcmread(paths[-1], stop_before_pixels=True)
    first = recent[0]
    assert first.sop_instance_uid == ds.SOPInstanceUID
    assert (first.patient_name, first.patient_id) == (str(ds.PatientName), ds.PatientID)
    assert (first.study_description, first.study_date) == (ds.StudyDescription, ds.StudyDate)
    assert (first.modality, first.sop_class_uid) == (ds.Modality, ds.SOPClassUID)
    assert (first.size, first.calling_ae) == (paths[-1].stat().st_size, "MODALITY")
    assert len(index.recent()) == 18


def test_received_at_zero_means_now(tmp_path):
    path = generate_studies(tmp_path, patients=1, series_per_study=1, instances_per_series=1)[0]
    index = ArchiveIndex(tmp_path)
    before = time.time()
    add_file(index, path)
    assert before <= index.recent()[0].received_at <= time.time()


def test_paths_are_kept_inside_the_storage_folder(tmp_path):
    path = generate_studies(tmp_path / "s", patients=1, series_per_study=1, instances_per_series=1)[0]
    index = ArchiveIndex(tmp_path / "s")
    ds = dcmread(path, stop_before_pixels=True)
    index.add(ds, Received(path, 10, "1.2.840.10008.1.2.1"))  # absolute inside: stored relative
    assert rows(index, "SELECT path FROM instance") == [(path.relative_to(tmp_path / "s").as_posix(),)]
    for bad in (tmp_path / "elsewhere.dcm", Path("../escape.dcm"), Path("a/../../b.dcm"), Path("")):
        with pytest.raises(ValueError, match="storage folder"):
            index.add(ds, Received(bad, 10, "1.2.840.10008.1.2.1"))


def test_a_dataset_without_its_uids_is_refused(tmp_path):
    ds = dcmread(generate_studies(tmp_path, patients=1, series_per_study=1, instances_per_series=1)[0])
    del ds.SeriesInstanceUID
    with pytest.raises(ValueError, match="SeriesInstanceUID"):
        ArchiveIndex(tmp_path).add(ds, Received(Path("x.dcm"), 1, "1.2.840.10008.1.2.1"))


# upsert ------------------------------------------------------------------------------------------------
def test_a_resent_instance_replaces_its_row(archive):
    index, paths = archive
    before = index.counts()
    ds = dcmread(paths[0], stop_before_pixels=True)
    index.add(ds, Received(Path("moved/0001.dcm"), 123, "1.2.840.10008.1.2", "OTHER", "", 5000.0))
    after = index.counts()
    assert (after.patients, after.studies, after.series, after.instances) == (3, 3, 6, 18)
    assert after.bytes == before.bytes - paths[0].stat().st_size + 123
    assert index.path_of(ds.SOPInstanceUID) == index.storage / "moved/0001.dcm"
    assert index.recent(1)[0].calling_ae == "OTHER"


def test_a_corrected_patient_id_moves_the_study_and_drops_the_empty_patient(archive):
    index, paths = archive
    study_files = paths[:6]  # the first patient's only study
    for path in study_files:
        ds = dcmread(path, stop_before_pixels=True)
        ds.PatientID = "CORRECTED"
        ds.PatientName = "DOE^JANE^MARIE"
        index.add(ds, Received(path.relative_to(index.storage), 1, "1.2.840.10008.1.2.1"))
    assert index.counts().patients == 3  # the old patient is gone, the corrected one is there
    names = rows(index, "SELECT patient_id, name FROM patient ORDER BY patient_id")
    assert ("CORRECTED", "DOE^JANE^MARIE") in names
    assert all(pid != "SYN000011P0000" for pid, _ in names)
    study = rows(index, "SELECT COUNT(*) FROM study st JOIN patient p ON st.patient_pk = p.pk"
                        " WHERE p.patient_id = 'CORRECTED'")
    assert study == [(1,)]


def test_moving_one_instance_to_another_series_keeps_both_series_while_they_have_instances(archive):
    index, paths = archive
    ds = dcmread(paths[0], stop_before_pixels=True)
    ds.SeriesInstanceUID = "1.2.3.999"
    index.add(ds, Received(Path("x.dcm"), 1, "1.2.840.10008.1.2.1"))
    assert index.counts().series == 7
    for path in paths[1:3]:  # the rest of the first series follows
        other = dcmread(path, stop_before_pixels=True)
        other.SeriesInstanceUID = "1.2.3.999"
        index.add(other, Received(Path("x.dcm"), 1, "1.2.840.10008.1.2.1"))
    assert index.counts().series == 6
    assert rows(index, "SELECT COUNT(*) FROM instance i JOIN series se ON i.series_pk = se.pk"
                       " WHERE se.series_uid = '1.2.3.999'") == [(3,)]


def test_concurrent_adds_from_many_threads_all_land(tmp_path):
    paths = generate_studies(tmp_path, patients=4, series_per_study=2, instances_per_series=5, seed=5)
    index = ArchiveIndex(tmp_path)
    errors: list[BaseException] = []

    def work(chunk: list[Path]) -> None:
        try:
            for path in chunk:
                add_file(index, path)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(paths[i::8],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert index.counts().instances == 40 and index.counts().patients == 4


# remove ------------------------------------------------------------------------------------------------
def test_remove_prunes_empty_parents(archive):
    index, paths = archive
    uids = [dcmread(p, stop_before_pixels=True).SOPInstanceUID for p in paths[:6]]
    index.remove(uids[0])
    assert index.path_of(uids[0]) is None
    assert index.counts().instances == 17 and index.counts().series == 6
    for uid in uids[1:3]:
        index.remove(uid)
    assert index.counts().series == 5 and index.counts().studies == 3
    for uid in uids[3:]:
        index.remove(uid)
    assert (index.counts().patients, index.counts().studies, index.counts().series) == (2, 2, 4)
    index.remove("1.2.3.4.5")  # unknown: nothing happens
    assert index.counts().instances == 12
    assert paths[0].exists()  # the file is the caller's business


# character sets ----------------------------------------------------------------------------------------
def test_international_names_round_trip_as_unicode(tmp_path):
    paths = generate_studies(tmp_path, patients=6, international=True, series_per_study=1, instances_per_series=1,
                             seed=21)
    index = ArchiveIndex(tmp_path)
    for path in paths:
        add_file(index, path)
    expected = {make_patient(i, seed=21, international=True) for i in range(6)}
    charsets = {"ISO_IR 100", "GB18030", "ISO_IR 192", "\\ISO 2022 IR 87"}
    stored = rows(index, "SELECT p.patient_id, p.name, st.description, i.charset FROM instance i"
                         " JOIN series se ON i.series_pk = se.pk JOIN study st ON se.study_pk = st.pk"
                         " JOIN patient p ON st.patient_pk = p.pk")
    assert {charset for *_, charset in stored} == charsets
    by_id = {pid: (name, description) for pid, name, description, _ in stored}
    for patient in expected:
        name, description = by_id[patient.patient_id]
        assert name == patient.name
        assert description.endswith(patient.study_label)
    assert "山田^太郎" in by_id[make_patient(3, seed=21, international=True).patient_id][0]
    # ... and the same after rebuilding from the files
    index.reindex()
    again = rows(index, "SELECT patient_id, name FROM patient")
    assert sorted(again) == sorted((p.patient_id, p.name) for p in expected)


# reindex -----------------------------------------------------------------------------------------------
def _truncated(src: Path, dst: Path, size: int) -> Path:
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_bytes(src.read_bytes()[:size])
    return dst


def _encapsulated(dst: Path, *, complete: bool) -> Path:
    spec = make_specs(patients=1, series_per_study=1, instances_per_series=1, seed=31)[0]
    ds = make_instance(spec)
    ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelData = encapsulate([b"\xff\xd8" + b"\x00" * 400 + b"\xff\xd9"])
    ds["PixelData"].VR = "OB"
    ds.save_as(dst, enforce_file_format=True)
    if not complete:
        dst.write_bytes(dst.read_bytes()[:-20])
    return dst


def test_reindex_reports_unusable_files_and_indexes_the_rest(tmp_path):
    storage = tmp_path / "storage"
    good = generate_studies(storage, patients=2, seed=41)
    implicit = generate_studies(storage / "implicit", patients=1, series_per_study=1, instances_per_series=2,
                                seed=42, transfer_syntax=ImplicitVRLittleEndian)
    size = good[0].stat().st_size
    bad = {
        "junk/not-dicom.dcm": "not a DICOM Part 10 file",
        "junk/empty.dcm": "not a DICOM Part 10 file",
        "junk/half.dcm": "the pixel data needs",
        "junk/implicit-half.dcm": "the pixel data needs",
        "junk/mid-header.dcm": "truncated: the file ends inside",
        "junk/no-pixels.dcm": "ends before the pixel data",
        "junk/jpeg-cut.dcm": "encapsulated pixel data has no end",
        "junk/copy.dcm": "same SOPInstanceUID as",
    }
    (storage / "junk").mkdir()
    (storage / "junk/not-dicom.dcm").write_text("hello, I am a text file\n" * 20)
    (storage / "junk/empty.dcm").write_bytes(b"")
    _truncated(good[0], storage / "junk/half.dcm", size // 2)
    _truncated(implicit[0], storage / "junk/implicit-half.dcm", implicit[0].stat().st_size - 100)
    _truncated(good[1], storage / "junk/mid-header.dcm", 1000)
    header_end = size - len(dcmread(good[2]).PixelData) - 12  # just before the pixel data element
    _truncated(good[2], storage / "junk/no-pixels.dcm", header_end)
    _encapsulated(storage / "junk/jpeg-cut.dcm", complete=False)
    _encapsulated(storage / "jpeg-ok.dcm", complete=True)
    shutil.copyfile(good[3], storage / "junk/copy.dcm")  # walked after the original (sorted walk)
    # Not walked at all: dot folders and dot files (partial receives), other extensions.
    _truncated(good[0], storage / ".incoming/partial.dcm", 300)
    _truncated(good[0], storage / "series01/.tmp-0001.dcm", 300)
    (storage / "notes.txt").write_text("not an instance")

    seen: list[int] = []
    result = ArchiveIndex(storage).reindex(progress=seen.append)
    reasons = {s.path.as_posix(): s.reason for s in result.skipped}
    assert set(reasons) == set(bad)
    for path, expected in bad.items():
        assert expected in reasons[path], (path, reasons[path])
    assert result.indexed == len(good) + len(implicit) + 1 and not result.cancelled
    assert result.files == result.indexed + len(bad)
    assert seen == list(range(1, result.files + 1))
    assert ArchiveIndex(storage).counts().instances == result.indexed
    assert not list(storage.glob(REBUILD_PREFIX + "*"))


def test_reindex_keeps_what_the_receiver_knew_and_forgets_deleted_files(archive):
    index, paths = archive
    gone = dcmread(paths[0], stop_before_pixels=True).SOPInstanceUID
    paths[0].unlink()
    extra = generate_studies(index.storage / "dropped-in", patients=1, series_per_study=1, instances_per_series=1,
                             seed=12)[0]
    result = index.reindex()
    assert result.indexed == 18 and result.skipped == []
    assert index.path_of(gone) is None
    known = rows(index, "SELECT received_at, calling_ae, peer FROM instance WHERE path = ?",
                 paths[-1].relative_to(index.storage).as_posix())
    assert known == [(1017.0, "MODALITY", "10.0.0.5:104")]  # carried over, not the file's time
    newcomer = rows(index, "SELECT calling_ae, received_at FROM instance WHERE path = ?",
                    extra.relative_to(index.storage).as_posix())
    assert newcomer == [("", pytest.approx(extra.stat().st_mtime))]


def test_instances_received_during_a_reindex_survive_the_swap(archive):
    index, _ = archive
    late = generate_studies(index.storage / ".incoming", patients=1, series_per_study=1, instances_per_series=1,
                            seed=13)[0]  # in a dot folder: the walk never sees it

    def receive_midway(n: int) -> None:
        if n == 5:
            add_file(index, late, calling_ae="LATE")

    index.reindex(progress=receive_midway)
    assert index.counts().instances == 19
    assert index.recent(1)[0].calling_ae == "LATE"


def test_a_reindex_that_dies_midway_leaves_the_old_index(archive):
    index, paths = archive
    before = index.counts()
    paths[0].unlink()

    def crash(n: int) -> None:
        if n == 7:
            raise RuntimeError("power cut")

    with pytest.raises(RuntimeError, match="power cut"):
        index.reindex(progress=crash)
    assert index.counts() == before
    assert not list(index.storage.glob(REBUILD_PREFIX + "*"))


def test_a_cancelled_reindex_changes_nothing(archive):
    index, paths = archive
    before = index.counts()
    paths[0].unlink()
    cancel = threading.Event()
    result = index.reindex(progress=lambda n: cancel.set() if n == 3 else None, cancel=cancel)
    assert result.cancelled and result.files == 3
    assert index.counts() == before


def test_stale_rebuild_files_are_cleaned_up(tmp_path):
    old = tmp_path / f"{REBUILD_PREFIX}crashed.sqlite3"
    fresh = tmp_path / f"{REBUILD_PREFIX}running.sqlite3"
    old.write_bytes(b"x")
    fresh.write_bytes(b"x")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    ArchiveIndex(tmp_path).reindex()
    assert not old.exists() and fresh.exists()


def test_reindex_of_500_files_is_timed(tmp_path, capsys):
    storage = tmp_path / "storage"
    specs = make_specs(patients=10, studies_per_patient=5, series_per_study=2, instances_per_series=5, seed=51)
    paths = write_instances(storage, specs)
    assert len(paths) == 500
    index = ArchiveIndex(storage)
    t0 = time.perf_counter()
    result = index.reindex()
    seconds = time.perf_counter() - t0
    assert result.indexed == 500 and result.skipped == []
    assert index.counts() == Counts(10, 50, 100, 500, sum(p.stat().st_size for p in paths))
    with capsys.disabled():
        print(f"\nreindex of 500 files: {seconds:.2f} s ({seconds / 500 * 1000:.2f} ms per file)")
    assert seconds < 30  # a generous bound for slow CI; about 0.3 s here
