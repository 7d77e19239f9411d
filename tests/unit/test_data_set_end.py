"""A file cut off inside its data set is found from element lengths alone, and a whole one is never flagged."""

from __future__ import annotations

import glob
import os

import pytest
from pydicom import dcmread
from pydicom.data import get_testdata_file

from dicomtui.engine.send.scan import DicomFile, read_file_meta


def shipped(name: str):
    found = get_testdata_file(name, download=False)
    assert found is not None, name
    return found


def cut(source, out, keep: int):
    data = open(source, "rb").read()
    out.write_bytes(data[:keep])
    return out


def test_no_shipped_whole_file_is_flagged():
    folder = os.path.dirname(shipped("CT_small.dcm"))
    whole = 0
    for path in sorted(glob.glob(f"{folder}/**/*.dcm", recursive=True)):
        found = read_file_meta(path)
        if not isinstance(found, DicomFile):
            continue
        if "truncated" in os.path.basename(path):  # pydicom ships two cut-off files on purpose
            assert found.damage, path
        else:
            assert found.damage == "", (path, found.damage)
            whole += 1
    assert whole > 50


def pixel_data_span(source, big: bool) -> tuple[int, int]:
    """Where the Pixel Data element starts and ends in the file (trailing padding may follow it)."""
    data = open(source, "rb").read()
    start = data.rfind(b"\x7f\xe0\x00\x10" if big else b"\xe0\x7f\x10\x00")
    padding = data.find(b"\xff\xfc\xff\xfc" if big else b"\xfc\xff\xfc\xff", start)
    assert start > 0
    return start, padding if padding > 0 else len(data)


@pytest.mark.parametrize("name", ["CT_small.dcm", "MR_small.dcm", "MR_small_bigendian.dcm", "JPEG2000.dcm",
                                  "SC_rgb_rle.dcm", "MR_small_jpeg_ls_lossless.dcm"])
def test_a_file_cut_inside_its_pixel_data_is_flagged(name, tmp_path):
    """Native and encapsulated Pixel Data, Implicit, Explicit and big endian data sets."""
    source = shipped(name)
    ds = dcmread(source, stop_before_pixels=True)
    start, end = pixel_data_span(source, big="bigendian" in name)
    for keep in (start + 20, (start + end) // 2, end - 2):
        found = read_file_meta(cut(source, tmp_path / f"cut{keep}.dcm", keep))
        assert isinstance(found, DicomFile), found
        assert found.sop_instance_uid == ds.SOPInstanceUID
        assert "PixelData (7FE0,0010)" in found.damage and "truncated" in found.damage, (name, keep, found.damage)


def test_a_file_cut_inside_a_sequence_or_an_element_header(tmp_path):
    source = shipped("rtplan.dcm")  # sequences of undefined length, items within items
    size = os.path.getsize(source)
    flagged = [read_file_meta(cut(source, tmp_path / f"cut{keep}.dcm", keep)).damage
               for keep in range(size // 2, size - 1, 97)]
    assert flagged and all("ends inside" in why for why in flagged), flagged
