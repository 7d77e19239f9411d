"""The receiver's quick header scan agrees with pydicom on every Part 10 file pydicom ships."""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest
from pydicom import dcmread
from pydicom.data import get_charset_files, get_testdata_file

from dicomtui.dicom.quick_header import HEAD_BYTES, KEYWORDS, Header, read
from dicomtui.dicom.synthetic import generate_studies
from dicomtui.store.archive_index import record_from_dataset

TESTDATA = Path(get_testdata_file("CT_small.dcm")).parent


def _part10_files() -> list[Path]:
    files = []
    for path in sorted(TESTDATA.rglob("*.dcm")):
        with path.open("rb") as f:
            head = f.read(132)
        if head[128:132] == b"DICM":
            files.append(path)
    return files


def _check(path: Path) -> bool:
    """True when the scan answered (and then it must agree with pydicom, for the screen and the index)."""
    ds = dcmread(path, stop_before_pixels=True)
    head = path.read_bytes()[:HEAD_BYTES]
    quick = read(head, str(ds.file_meta.TransferSyntaxUID))
    if quick is None:
        return False
    # It answers only for instances that have the UIDs which place them in the archive.
    assert all(ds.get(k) for k in ("SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID"))
    assert Header.from_dataset(quick) == Header.from_dataset(ds), path.name
    for keyword in KEYWORDS:
        assert quick.get(keyword) == ds.get(keyword), (path.name, keyword)
    assert record_from_dataset(quick, "p", 1, "ts") == record_from_dataset(ds, "p", 1, "ts"), path.name
    return True


def test_agrees_with_pydicom_on_its_test_files():
    files = _part10_files()
    assert len(files) > 50
    answered = []
    for path in files:
        try:
            answered.append(_check(path))
        except (pydicom.errors.InvalidDicomError, AttributeError):
            continue  # files pydicom itself reads only in part
    assert sum(answered) > len(files) // 2, "the scan should answer for most files"


@pytest.mark.parametrize("path", [Path(p) for p in get_charset_files("*.dcm")], ids=lambda p: p.name)
def test_character_sets_decode_as_pydicom_does(path, tmp_path):
    part10 = tmp_path / path.name
    ds = dcmread(path, force=True)  # some have no Part 10 header, and no SOP Class either
    ds.SOPClassUID = ds.get("SOPClassUID") or "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = ds.get("SOPInstanceUID") or "1.2.3.4"
    ds.StudyInstanceUID = ds.get("StudyInstanceUID") or "1.2.3.5"
    ds.SeriesInstanceUID = ds.get("SeriesInstanceUID") or "1.2.3.6"
    ds.save_as(part10, enforce_file_format=True)
    assert _check(part10), f"the scan gave up on {path.name}"


def test_synthetic_studies_in_every_syntax_they_use(tmp_path):
    files = generate_studies(tmp_path, patients=3, seed=4242)
    assert all(_check(path) for path in files)


def test_a_head_that_ends_too_early_is_unsure():
    path = Path(get_testdata_file("CT_small.dcm"))
    head = path.read_bytes()[:400]
    assert read(head, "1.2.840.10008.1.2.1") is None


def test_big_endian_is_left_to_pydicom():
    path = Path(get_testdata_file("MR_small_bigendian.dcm"))
    assert read(path.read_bytes()[:HEAD_BYTES], "1.2.840.10008.1.2.2") is None
