"""pydicom's own character set test files, stored into Orthanc and into our archive, and found again by
C-FIND with every name exactly as pydicom reads it from the file (issue 4: GB18030, UTF-8, ISO 2022 IR 87,
Latin-1)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydicom import dcmread
from pydicom.data import get_charset_files
from pydicom.uid import generate_uid

from dicomtui.config import Node
from dicomtui.engine.query import QueryRequest, find

from .fixtures import running
from .harness import HOST, dcmtk, free_port
from .orthanc import start_orthanc

pytestmark = pytest.mark.peers

# file -> what its characters are
FILES = {
    "chrX1.dcm": "Chinese in UTF-8 (ISO_IR 192)",
    "chrX2.dcm": "Chinese in GB18030",
    "chrH31.dcm": "Japanese, ISO 2022 IR 87 with three component groups",
    "chrJapMulti.dcm": "Japanese, ISO 2022 IR 87",
    "chrFren.dcm": "French in Latin-1 (ISO_IR 100)",
    "chrGerm.dcm": "German in Latin-1 (ISO_IR 100)",
}


@pytest.fixture(scope="module")
def charset_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, str, str]]:
    """Each file with its own patient ID and fresh UIDs (several share theirs), the charset kept as it is."""
    folder = tmp_path_factory.mktemp("charsets")
    made = {}
    for number, name in enumerate(FILES):
        ds = dcmread(get_charset_files(name)[0])
        ds.PatientID = f"CHARSET{number:02}"
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID = (generate_uid() for _ in range(3))
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        path = folder / name
        ds.save_as(path, enforce_file_format=True)
        made[name] = (path, ds.PatientID, str(ds.PatientName))
    return made


def _store(port: int, ae_title: str, files: list[Path]) -> None:
    sent = subprocess.run([dcmtk("storescu"), "-aec", ae_title, HOST, str(port), *map(str, files)],
                          env={**os.environ, "TCP_NODELAY": "1"}, capture_output=True, text=True, timeout=60)
    assert sent.returncode == 0, sent.stderr


@pytest.fixture(scope="module")
def utf8_orthanc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    # Orthanc 1.10 answers C-FIND in its DefaultEncoding (Latin-1 unless set), whatever the query says.
    modalities = {"DICOMTUI": (HOST, free_port())}
    with running(start_orthanc, tmp_path_factory.mktemp("orthanc-charsets"), ae_title="CHARSETS",
                 modalities=modalities, extra={"DefaultEncoding": "Utf8"}, stop_kwargs={"grace": 0.0}) as peer:
        yield Node("orthanc", peer.ae_title, HOST, peer.port)


@pytest.fixture
def archives(charset_files, utf8_orthanc, receiver_factory) -> dict[str, Node]:
    files = [path for path, _, _ in charset_files.values()]
    _store(utf8_orthanc.port, utf8_orthanc.ae_title, files)
    local = receiver_factory()
    _store(local.settings.port, local.settings.ae_title, files)
    local.receiver.wait_indexed()
    return {"orthanc": utf8_orthanc, "local archive": Node("local", local.settings.ae_title, HOST,
                                                            local.settings.port)}


@pytest.mark.parametrize("archive", ["orthanc", "local archive"])
def test_names_from_pydicoms_charset_files_round_trip(archives, charset_files, archive):
    for name, (_, patient_id, expected) in charset_files.items():
        result = find(archives[archive], "DICOMTUI", QueryRequest(level="STUDY", keys={"PatientID": patient_id}))
        assert result.ok, result.error
        assert [row["PatientName"] for row in result.rows] == [expected], f"{name}: {FILES[name]}"


def test_a_query_by_a_chinese_name_finds_it_in_our_archive(archives, charset_files):
    result = find(archives["local archive"], "DICOMTUI", QueryRequest(keys={"PatientName": "Wang^XiaoDong=王*"}))
    assert result.ok, result.error
    assert {row["PatientID"] for row in result.rows} == {charset_files["chrX1.dcm"][1], charset_files["chrX2.dcm"][1]}
