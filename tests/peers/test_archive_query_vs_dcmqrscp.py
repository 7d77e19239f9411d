"""Our archive's C-FIND matching against dcmtk's dcmqrscp holding the same files.

The same synthetic instances (ASCII and international names) are stored into dcmqrscp with storescu and
indexed by ``ArchiveIndex.reindex``; each query runs through /usr/bin/findscu against dcmqrscp and through
``find()`` against our index, and both must select the same entities with the same values. Where we
deliberately differ from dcmtk, a test says so.
"""

from __future__ import annotations

import io
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydicom import Dataset, dcmread
from pydicom.filebase import DicomBytesIO
from pydicom.filereader import read_dataset
from pydicom.filewriter import write_dataset

from dicomtui.dicom.synthetic import make_specs, write_instances
from dicomtui.engine.archive.query import UNIQUE_KEYS, QueryError, find
from dicomtui.store.archive_index import ArchiveIndex

from .dcmtk import QRSCP, start_dcmqrscp
from .fixtures import running
from .harness import dcmtk, dcmtk_env

pytestmark = pytest.mark.peers

ASCII = make_specs(patients=3, studies_per_patient=2, series_per_study=2, instances_per_series=2, seed=81)
WORLD = make_specs(patients=6, international=True, series_per_study=1, instances_per_series=1, seed=82)
SPECS = ASCII + WORLD
LEVEL_KEY = dict(zip(("PATIENT", "STUDY", "SERIES", "IMAGE"), UNIQUE_KEYS, strict=True))
# Values both archives keep; compared for every entity both select.
COMPARED = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyDate", "StudyTime",
            "AccessionNumber", "StudyID", "StudyDescription", "Modality", "SeriesNumber", "InstanceNumber")
UTF8 = "SpecificCharacterSet=ISO_IR 192"


@pytest.fixture(scope="module")
def archives(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ArchiveIndex, QRSCP, Path]]:
    base = tmp_path_factory.mktemp("archive-vs-dcmqrscp")
    files = write_instances(base / "storage", SPECS)
    index = ArchiveIndex(base / "storage")
    assert index.reindex().indexed == len(files)
    with running(start_dcmqrscp, base / "peer") as peer:
        peer.store(files)
        yield index, peer, base


def findscu(peer: QRSCP, out: Path, model: str, keys: list[str]) -> tuple[str, list[Dataset]]:
    """(final status text, responses) from /usr/bin/findscu."""
    out.mkdir(parents=True)
    argv = [dcmtk("findscu"), "-v", "-aet", "TESTSCU", "-aec", peer.ae_title, "-P" if model == "patient" else "-S",
            "-X", "-od", str(out)]
    for key in keys:
        argv += ["-k", key]
    proc = subprocess.run([*argv, peer.host, str(peer.port)], env=dcmtk_env(), capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)
    status = re.search(r"Received Final Find Response \(([^)]*)\)", proc.stdout + proc.stderr)
    assert status, f"findscu gave no final status (rc={proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return status.group(1), [dcmread(p) for p in sorted(out.glob("rsp*.dcm"))]


def identifier(keys: list[str]) -> Dataset:
    """The findscu keys as a Dataset, encoded and decoded as it would cross the network."""
    ds = Dataset()
    for key in keys:
        keyword, _, value = key.partition("=")
        setattr(ds, keyword, value.split("\\") if "\\" in value else value)
    buf = DicomBytesIO()
    buf.is_little_endian, buf.is_implicit_VR = True, True
    write_dataset(buf, ds)
    return read_dataset(io.BytesIO(buf.getvalue()), is_implicit_VR=True, is_little_endian=True)


def by_key(responses: list[Dataset], level: str) -> dict[str, dict[str, str]]:
    """Responses by their unique key, each with the compared values it carries."""
    return {str(r[LEVEL_KEY[level]].value): {k: str(r[k].value) for k in COMPARED if k in r and r[k].value}
            for r in responses}


def both(archives, tmp_path: Path, model: str, keys: list[str]) -> tuple[dict, dict, str]:
    index, peer, _ = archives
    level = next(k.partition("=")[2] for k in keys if k.startswith("QueryRetrieveLevel="))
    status, theirs = findscu(peer, tmp_path / "rsp", model, keys)
    assert status == "Success", status
    ours = list(find(index, identifier(keys), model))
    return by_key(ours, level), by_key(theirs, level), level


S = ASCII[0]  # a CT study of DOE^JANE
CASES = {
    "study-name-wildcard": ("study", ["QueryRetrieveLevel=STUDY", "StudyInstanceUID", "PatientName=DOE*", "StudyDate",
                                      "StudyTime", "AccessionNumber", "StudyID", "StudyDescription", "PatientID"]),
    "study-date-range": ("study", ["QueryRetrieveLevel=STUDY", "StudyInstanceUID", "StudyDate=20180101-20201231"]),
    "study-date-open-start": ("study", ["QueryRetrieveLevel=STUDY", "StudyInstanceUID", "StudyDate=-20190101"]),
    "study-date-open-end": ("study", ["QueryRetrieveLevel=STUDY", "StudyInstanceUID", "StudyDate=20220101-"]),
    "study-date-single": ("study", ["QueryRetrieveLevel=STUDY", "StudyInstanceUID", f"StudyDate={S.study_date}"]),
    "study-time-range": ("study", ["QueryRetrieveLevel=STUDY", "StudyInstanceUID", "StudyTime=090000-150000",
                                   "StudyTime"]),
    "study-uid-list": ("study", ["QueryRetrieveLevel=STUDY",
                                 f"StudyInstanceUID={S.study_uid}\\{WORLD[2].study_uid}\\1.2.3.404", "StudyDate"]),
    "study-description-star": ("study", ["QueryRetrieveLevel=STUDY", "StudyInstanceUID", "StudyDescription=*CHEST*"]),
    "study-description-question": ("study", ["QueryRetrieveLevel=STUDY", "StudyInstanceUID",
                                             "StudyDescription=C? ?HEST*"]),
    "study-accession": ("study", ["QueryRetrieveLevel=STUDY", "StudyInstanceUID",
                                  f"AccessionNumber={ASCII[3].accession_number}"]),
    "study-birth-date-range": ("study", ["QueryRetrieveLevel=STUDY", "StudyInstanceUID",
                                         "PatientBirthDate=19500101-19991231", "PatientBirthDate"]),
    "study-gb18030-name": ("study", ["QueryRetrieveLevel=STUDY", "StudyInstanceUID", UTF8, "PatientName=王^小东",
                                     "StudyDescription"]),
    "study-latin1-name": ("study", ["QueryRetrieveLevel=STUDY", "StudyInstanceUID", UTF8, "PatientName=Müller*",
                                    "StudyDescription"]),
    "study-iso2022-name": ("study", ["QueryRetrieveLevel=STUDY", "StudyInstanceUID", "PatientName=Yamada*"]),
    "study-all-names": ("study", ["QueryRetrieveLevel=STUDY", "StudyInstanceUID", UTF8, "PatientName"]),
    "series-modality": ("study", ["QueryRetrieveLevel=SERIES", f"StudyInstanceUID={S.study_uid}", "SeriesInstanceUID",
                                  "Modality=CT", "SeriesNumber"]),
    "series-description": ("study", ["QueryRetrieveLevel=SERIES", f"StudyInstanceUID={ASCII[1].study_uid}",
                                     "SeriesInstanceUID", "SeriesDescription=T? *", "Modality"]),
    "image-all": ("study", ["QueryRetrieveLevel=IMAGE", f"StudyInstanceUID={S.study_uid}",
                            f"SeriesInstanceUID={S.series_uid(1)}", "SOPInstanceUID", "InstanceNumber"]),
    "patient-all": ("patient", ["QueryRetrieveLevel=PATIENT", "PatientID", UTF8, "PatientName", "PatientSex"]),
    "patient-name": ("patient", ["QueryRetrieveLevel=PATIENT", "PatientID", "PatientName=SMITH*"]),
    "patient-sex": ("patient", ["QueryRetrieveLevel=PATIENT", "PatientID", "PatientSex=F", "PatientBirthDate"]),
    "patient-root-study": ("patient", ["QueryRetrieveLevel=STUDY", f"PatientID={S.patient.patient_id}",
                                       "StudyInstanceUID", "StudyDate"]),
    "patient-root-series": ("patient", ["QueryRetrieveLevel=SERIES", f"PatientID={S.patient.patient_id}",
                                        f"StudyInstanceUID={S.study_uid}", "SeriesInstanceUID", "Modality"]),
    "patient-root-image": ("patient", ["QueryRetrieveLevel=IMAGE", f"PatientID={S.patient.patient_id}",
                                       f"StudyInstanceUID={S.study_uid}", f"SeriesInstanceUID={S.series_uid(0)}",
                                       "SOPInstanceUID=", "InstanceNumber"]),
}


@pytest.mark.parametrize("case", CASES)
def test_same_matches_and_values_as_dcmqrscp(archives, tmp_path, case):
    model, keys = CASES[case]
    ours, theirs, level = both(archives, tmp_path, model, keys)
    assert theirs, "the query should select something, or the comparison proves nothing"
    assert set(ours) == set(theirs), f"{level} matches differ"
    assert ours == theirs  # the same values, decoded from each archive's character set


@pytest.mark.parametrize(
    "model,keys",
    [
        ("study", ["QueryRetrieveLevel=SERIES", "SeriesInstanceUID", "Modality=CT"]),  # no StudyInstanceUID
        ("patient", ["QueryRetrieveLevel=STUDY", "StudyInstanceUID"]),  # no PatientID
        ("study", ["QueryRetrieveLevel=PATIENT", "PatientID"]),  # no PATIENT level in the Study Root model
    ],
)
def test_both_refuse_the_same_identifiers(archives, tmp_path, model, keys):
    index, peer, _ = archives
    status, responses = findscu(peer, tmp_path / "rsp", model, keys)
    assert status.startswith("Failed") and responses == []
    with pytest.raises(QueryError):
        find(index, identifier(keys), model)


# Where we differ from dcmtk on purpose -----------------------------------------------------------------
def test_person_names_match_case_insensitively_here_not_in_dcmtk(archives, tmp_path):
    ours, theirs, _ = both(archives, tmp_path, "study", ["QueryRetrieveLevel=STUDY", "StudyInstanceUID",
                                                         "PatientName=doe*"])
    assert theirs == {} and set(ours) == {s.study_uid for s in ASCII if s.patient.name == "DOE^JANE"}


def test_a_name_key_matches_any_component_group_here(archives, tmp_path):
    # dcmtk compares the whole value, so '王*' misses 'Wang^XiaoDong=王^小東', whose ideographic group matches.
    ours, theirs, _ = both(archives, tmp_path, "study", ["QueryRetrieveLevel=STUDY", "StudyInstanceUID", UTF8,
                                                         "PatientName=王*"])
    assert set(theirs) == {WORLD[1].study_uid}
    assert set(ours) == {WORLD[1].study_uid, WORLD[2].study_uid}


def test_a_partial_upper_time_covers_its_last_minute_here(archives, tmp_path):
    spec = next(s for s in SPECS if s.study_time[4:] != "00")
    key = f"StudyTime=-{spec.study_time[:4]}"  # e.g. -0958 for a study at 09:58:16
    ours, theirs, _ = both(archives, tmp_path, "study", ["QueryRetrieveLevel=STUDY", "StudyInstanceUID", key])
    assert spec.study_uid in ours and spec.study_uid not in theirs
    assert set(theirs) < set(ours)


def test_derived_study_attributes_are_returned_here_dcmqrscp_drops_them(archives, tmp_path):
    index, peer, _ = archives
    keys = ["QueryRetrieveLevel=STUDY", f"StudyInstanceUID={S.study_uid}", "ModalitiesInStudy",
            "NumberOfStudyRelatedInstances", "NumberOfStudyRelatedSeries"]
    _, [theirs] = findscu(peer, tmp_path / "rsp", "study", keys)
    [ours] = find(index, identifier(keys), "study")
    assert "ModalitiesInStudy" not in theirs and "NumberOfStudyRelatedInstances" not in theirs
    assert (ours.ModalitiesInStudy, ours.NumberOfStudyRelatedSeries, ours.NumberOfStudyRelatedInstances) == (
        "CT", 2, 4)
