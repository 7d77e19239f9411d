"""The receiver's quick header scan agrees with pydicom on every Part 10 file pydicom ships."""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest
from pydicom import dcmread
from pydicom.data import get_charset_files, get_testdata_file

from dicomtui.dicom.quick_header import HEAD_BYTES, Header, scan
from dicomtui.dicom.synthetic import generate_studies

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
    """True when the scan answered (and then it must agree with pydicom)."""
    ds = dcmread(path, stop_before_pixels=True)
    head = path.read_bytes()[:HEAD_BYTES]
    found = scan(head, str(ds.file_meta.TransferSyntaxUID))
    if found is None:
        return False
    assert found == Header.from_dataset(ds), path.name
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


@pytest.mark.parametrize("path", [Path(p) for p in get_charset_files()], ids=lambda p: p.name)
def test_character_sets_decode_as_pydicom_does(path, tmp_path):
    part10 = tmp_path / path.name
    ds = dcmread(path, force=True)  # some have no Part 10 header, and no SOP Class either
    ds.SOPClassUID = ds.get("SOPClassUID") or "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = ds.get("SOPInstanceUID") or "1.2.3.4"
    ds.save_as(part10, enforce_file_format=True)
    assert _check(part10), f"the scan gave up on {path.name}"


def test_synthetic_studies_in_every_syntax_they_use(tmp_path):
    files = generate_studies(tmp_path, patients=3, seed=4242)
    assert all(_check(path) for path in files)


def test_a_head_that_ends_too_early_is_unsure():
    path = Path(get_testdata_file("CT_small.dcm"))
    head = path.read_bytes()[:400]
    assert scan(head, "1.2.840.10008.1.2.1") is None


def test_big_endian_is_left_to_pydicom():
    path = Path(get_testdata_file("MR_small_bigendian.dcm"))
    assert scan(path.read_bytes()[:HEAD_BYTES], "1.2.840.10008.1.2.2") is None
