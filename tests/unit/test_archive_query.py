"""C-FIND answers and C-MOVE/C-GET instance lists from the archive index, in both information models."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from pydicom import Dataset, dcmread
from pydicom.filebase import DicomBytesIO
from pydicom.filereader import read_dataset
from pydicom.filewriter import write_dataset

from dicomtui.dicom.synthetic import StudySpec, iter_instances, make_specs, write_instances
from dicomtui.engine.archive.query import QueryError, find, instances_for, model_of
from dicomtui.store.archive_index import ArchiveIndex, Received

ASCII = make_specs(patients=3, studies_per_patient=2, series_per_study=2, instances_per_series=2, seed=61)
WORLD = make_specs(patients=6, international=True, series_per_study=1, instances_per_series=1, seed=62)
SR_SERIES = "1.2.826.0.1.3680043.8.498.777.1"  # an extra SR series in the first CT study
KNEE = "1.2.826.0.1.3680043.8.498.777.2"  # a study whose description has GLOB's special characters


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> ArchiveIndex:
    storage = tmp_path_factory.mktemp("archive")
    paths = write_instances(storage, ASCII + WORLD)
    index = ArchiveIndex(storage)
    for path in paths:
        ds = dcmread(path, stop_before_pixels=True)
        index.add(ds, Received(path.relative_to(storage), path.stat().st_size, ds.file_meta.TransferSyntaxUID))
    first = dcmread(paths[0], stop_before_pixels=True)
    first.SeriesInstanceUID, first.SOPInstanceUID, first.Modality = SR_SERIES, SR_SERIES + ".1", "SR"
    first.SeriesNumber, first.SeriesDescription = 99, "REPORT"
    index.add(first, Received(Path("sr.dcm"), 10, "1.2.840.10008.1.2.1"))
    knee = dcmread(paths[0], stop_before_pixels=True)
    knee.StudyInstanceUID, knee.SeriesInstanceUID, knee.SOPInstanceUID = KNEE, KNEE + ".1", KNEE + ".1.1"
    knee.StudyDescription, knee.StudyDate, knee.StudyTime = "KNEE [LEFT] 50%_", "20240301", "103000.25"
    index.add(knee, Received(Path("knee.dcm"), 10, "1.2.840.10008.1.2.1"))
    return index


def ident(level: str, **keys) -> Dataset:
    ds = Dataset()
    ds.QueryRetrieveLevel = level
    for keyword, value in keys.items():
        setattr(ds, keyword, value)
    return ds


def run(index: ArchiveIndex, model: str, level: str, **keys) -> list[Dataset]:
    return list(find(index, ident(level, **keys), model))


def uids(responses: list[Dataset], keyword: str) -> set[str]:
    return {str(r.get(keyword)) for r in responses}


def wire(ds: Dataset) -> Dataset:
    """Encode and decode ``ds`` as it crosses the network (implicit VR little endian)."""
    buf = DicomBytesIO()
    buf.is_little_endian, buf.is_implicit_VR = True, True
    write_dataset(buf, ds)
    return read_dataset(io.BytesIO(buf.getvalue()), is_implicit_VR=True, is_little_endian=True)


def by_patient(specs: list[StudySpec], name: str) -> list[StudySpec]:
    return [s for s in specs if s.patient.name == name]


# Patient root ------------------------------------------------------------------------------------------
def test_patient_level_with_wildcard_and_derived_counts(index):
    [jane] = run(index, "patient", "PATIENT", PatientName="DOE*", PatientID="", PatientBirthDate="",
                 NumberOfPatientRelatedStudies="", NumberOfPatientRelatedInstances="")
    spec = by_patient(ASCII, "DOE^JANE")[0]
    assert (str(jane.PatientName), jane.PatientID, jane.PatientBirthDate) == (
        "DOE^JANE", spec.patient.patient_id, spec.patient.birth_date)
    assert jane.NumberOfPatientRelatedStudies == 3  # two generated studies and the KNEE study
    assert jane.NumberOfPatientRelatedInstances == 8 + 1 + 1
    assert {e.keyword for e in jane} == {"QueryRetrieveLevel", "PatientName", "PatientID", "PatientBirthDate",
                                         "NumberOfPatientRelatedStudies", "NumberOfPatientRelatedInstances"}
    assert jane.QueryRetrieveLevel == "PATIENT" and "SpecificCharacterSet" not in jane


def test_patient_level_universal_returns_every_patient(index):
    assert len(run(index, "patient", "PATIENT", PatientID="")) == 9
    assert len(run(index, "patient", "PATIENT", PatientID="*")) == 9
    assert len(run(index, "patient", "PATIENT", PatientSex="F")) == 4  # JANE, MARIA, Zoë, Åse


def test_patient_root_study_level_needs_the_patient_id(index):
    with pytest.raises(QueryError, match="PatientID"):
        run(index, "patient", "STUDY", StudyInstanceUID="")
    with pytest.raises(QueryError, match="PatientID"):
        run(index, "patient", "STUDY", PatientID="", StudyInstanceUID="")
    pid = ASCII[2].patient.patient_id
    found = run(index, "patient", "STUDY", PatientID=pid, StudyInstanceUID="", StudyDescription="")
    assert uids(found, "StudyInstanceUID") == {ASCII[2].study_uid, ASCII[3].study_uid}


def test_patient_root_series_and_image_levels(index):
    spec = ASCII[1]
    with pytest.raises(QueryError, match="StudyInstanceUID"):
        run(index, "patient", "SERIES", PatientID=spec.patient.patient_id, SeriesInstanceUID="")
    series = run(index, "patient", "SERIES", PatientID=spec.patient.patient_id, StudyInstanceUID=spec.study_uid,
                 SeriesInstanceUID="", Modality="", SeriesNumber="", NumberOfSeriesRelatedInstances="")
    assert uids(series, "SeriesInstanceUID") == {spec.series_uid(0), spec.series_uid(1)}
    assert {(s.Modality, s.SeriesNumber, s.NumberOfSeriesRelatedInstances) for s in series} == {
        ("MR", 1, 2), ("MR", 2, 2)}
    with pytest.raises(QueryError, match="SeriesInstanceUID"):
        run(index, "patient", "IMAGE", PatientID=spec.patient.patient_id, StudyInstanceUID=spec.study_uid)
    images = run(index, "patient", "IMAGE", PatientID=spec.patient.patient_id, StudyInstanceUID=spec.study_uid,
                 SeriesInstanceUID=spec.series_uid(1), SOPInstanceUID="", SOPClassUID="", InstanceNumber="")
    assert uids(images, "SOPInstanceUID") == {spec.sop_instance_uid(1, 0), spec.sop_instance_uid(1, 1)}
    assert {(i.SOPClassUID, i.InstanceNumber) for i in images} == {
        ("1.2.840.10008.5.1.4.1.1.4", 1), ("1.2.840.10008.5.1.4.1.1.4", 2)}


def test_the_higher_unique_keys_restrict_the_answer(index):
    # SeriesDescription "AXIAL 5MM" exists in several CT studies; only the named study's series come back.
    spec = ASCII[0]
    found = run(index, "study", "SERIES", StudyInstanceUID=spec.study_uid, SeriesDescription="AXIAL*",
                SeriesInstanceUID="")
    assert uids(found, "SeriesInstanceUID") == {spec.series_uid(0), spec.series_uid(1)}
    other_patient = ASCII[2].patient.patient_id
    assert run(index, "patient", "SERIES", PatientID=other_patient, StudyInstanceUID=spec.study_uid) == []


# Study root --------------------------------------------------------------------------------------------
def test_study_root_has_no_patient_level(index):
    with pytest.raises(QueryError, match="no PATIENT level"):
        run(index, "study", "PATIENT", PatientID="")


def test_study_level_keys_and_derived_attributes(index):
    spec = ASCII[0]
    [study] = run(index, "study", "STUDY", StudyInstanceUID=spec.study_uid, StudyDate="", StudyTime="",
                  AccessionNumber="", StudyID="", StudyDescription="", ReferringPhysicianName="",
                  ModalitiesInStudy="", NumberOfStudyRelatedSeries="", NumberOfStudyRelatedInstances="",
                  PatientName="", PatientID="")
    assert (study.StudyDate, study.StudyTime, study.AccessionNumber, study.StudyID) == (
        spec.study_date, spec.study_time, spec.accession_number, spec.study_id)
    assert study.StudyDescription == spec.study_description
    assert str(study.ReferringPhysicianName) == "REFERRER^RITA"
    assert list(study.ModalitiesInStudy) == ["CT", "SR"]
    assert (study.NumberOfStudyRelatedSeries, study.NumberOfStudyRelatedInstances) == (3, 5)
    assert str(study.PatientName) == "DOE^JANE"


def test_modalities_in_study_matches_any_modality_of_the_study(index):
    sr = run(index, "study", "STUDY", ModalitiesInStudy="SR", StudyInstanceUID="")
    assert uids(sr, "StudyInstanceUID") == {ASCII[0].study_uid}
    ct = run(index, "study", "STUDY", ModalitiesInStudy="CT", StudyInstanceUID="")
    expected = {s.study_uid for s in ASCII + WORLD if s.modality == "CT"} | {KNEE}
    assert uids(ct, "StudyInstanceUID") == expected
    both = run(index, "study", "STUDY", ModalitiesInStudy="US\\OT", StudyInstanceUID="")
    assert uids(both, "StudyInstanceUID") == {s.study_uid for s in ASCII + WORLD if s.modality in ("US", "OT")}


@pytest.mark.filterwarnings("ignore:Invalid value for VR DA")  # '2018': a partial date, as SCUs send
def test_date_ranges(index):
    everything = ASCII + WORLD
    for key, lo, hi in [("20180101-20201231", "20180101", "20201231"), ("-20180101", "", "20180101"),
                        ("20220101-", "20220101", "99999999"), ("2018", "20180101", "20181231")]:
        found = run(index, "study", "STUDY", StudyDate=key, StudyInstanceUID="")
        expected = {s.study_uid for s in everything if lo <= s.study_date <= hi}
        expected |= {KNEE} if lo <= "20240301" <= hi else set()
        assert uids(found, "StudyInstanceUID") == expected, key
    single = ASCII[3].study_date
    assert ASCII[3].study_uid in uids(run(index, "study", "STUDY", StudyDate=single, StudyInstanceUID=""),
                                      "StudyInstanceUID")


def test_time_ranges_with_partial_times_and_fractions(index):
    def studies(key: str) -> set[str]:
        return uids(run(index, "study", "STUDY", StudyTime=key, StudyInstanceUID=""), "StudyInstanceUID")

    everything = ASCII + WORLD
    assert studies("-1200") == {s.study_uid for s in everything if s.study_time <= "120000"} | {KNEE}
    assert studies("14-16") == {s.study_uid for s in everything if "140000" <= s.study_time <= "165959"}
    assert KNEE in studies("103000.2-103000.3") and KNEE not in studies("103000.3-")
    assert KNEE in studies("1030") and KNEE not in studies("1031-")


def test_uid_lists(index):
    wanted = [ASCII[0].study_uid, WORLD[1].study_uid]
    found = run(index, "study", "STUDY", StudyInstanceUID="\\".join(wanted + ["1.2.3.404"]))
    assert uids(found, "StudyInstanceUID") == set(wanted)
    images = run(index, "study", "IMAGE", StudyInstanceUID=ASCII[0].study_uid, SeriesInstanceUID=ASCII[0].series_uid(0),
                 SOPInstanceUID=[ASCII[0].sop_instance_uid(0, 1), ASCII[1].sop_instance_uid(0, 0)])
    assert uids(images, "SOPInstanceUID") == {ASCII[0].sop_instance_uid(0, 1)}  # the other is in another study


def test_text_matching_is_case_sensitive_but_names_are_not(index):
    assert run(index, "study", "STUDY", StudyDescription="ct chest*") == []
    chest = {s.study_uid for s in ASCII + WORLD if s.study_description.startswith("CT CHEST")}
    assert len(chest) == 3
    found = run(index, "study", "STUDY", StudyDescription="CT CHEST*", StudyInstanceUID="")
    assert uids(found, "StudyInstanceUID") == chest
    assert len(run(index, "study", "STUDY", StudyDescription="CT CHEST W/O CONTRAST")) == 1
    assert len(run(index, "study", "STUDY", PatientName="doe^jane")) == 3
    assert len(run(index, "study", "STUDY", StudyDescription="*[LEFT]*")) == 1  # GLOB's '[' is escaped
    assert len(run(index, "study", "STUDY", StudyDescription="* 50%_")) == 1  # LIKE's '%' and '_' are not used
    assert len(run(index, "study", "STUDY", AccessionNumber=ASCII[4].accession_number)) == 1
    assert run(index, "study", "STUDY", AccessionNumber=ASCII[4].accession_number.lower()) == []


# Return keys -------------------------------------------------------------------------------------------
def test_keys_the_index_does_not_hold_come_back_empty(index):
    query = ident("STUDY", StudyInstanceUID=ASCII[0].study_uid, InstitutionName="", Modality="MR",
                  SOPInstanceUID="", OtherPatientIDsSequence=[])
    [study] = find(index, query, "study")
    assert study.InstitutionName in ("", None)  # not indexed
    assert study.Modality in ("", None)  # a SERIES attribute at STUDY level: returned empty, not matched
    assert study.SOPInstanceUID in ("", None)
    assert len(study.OtherPatientIDsSequence) == 0
    assert {e.keyword for e in study} == {"QueryRetrieveLevel", "StudyInstanceUID", "InstitutionName", "Modality",
                                          "SOPInstanceUID", "OtherPatientIDsSequence"}


def test_retrieve_ae_title_is_added_when_given(index):
    [study] = find(index, ident("STUDY", StudyInstanceUID=ASCII[0].study_uid), "study", retrieve_ae="DICOMTUI")
    assert study.RetrieveAETitle == "DICOMTUI"
    [study] = find(index, ident("STUDY", StudyInstanceUID=ASCII[0].study_uid), "study")
    assert "RetrieveAETitle" not in study


@pytest.mark.parametrize("spec", WORLD, ids=lambda s: str(s.patient.charset))
def test_non_ascii_answers_are_utf8_and_survive_the_wire(index, spec):
    [study] = run(index, "study", "STUDY", StudyInstanceUID=spec.study_uid, PatientName="", StudyDescription="")
    assert study.SpecificCharacterSet == "ISO_IR 192"
    decoded = wire(study)
    assert str(decoded.PatientName) == spec.patient.name
    assert decoded.StudyDescription == spec.study_description


def test_a_query_in_another_character_set_matches(index):
    query = ident("STUDY", PatientName="王*", StudyInstanceUID="")
    query.SpecificCharacterSet = "GB18030"
    found = find(index, wire(query), "study")
    assert uids(list(found), "StudyInstanceUID") == {WORLD[1].study_uid, WORLD[2].study_uid}
    query = ident("PATIENT", PatientName="やまだ*", PatientID="")
    query.SpecificCharacterSet = ["", "ISO 2022 IR 87"]
    [yamada] = find(index, wire(query), "patient")
    assert yamada.PatientID == WORLD[3].patient.patient_id


# Invalid identifiers -----------------------------------------------------------------------------------
@pytest.mark.parametrize("level", [None, "", "FRAME", "WORKLIST"])
def test_a_missing_or_unknown_level_is_refused_at_once(index, level):
    query = Dataset()
    query.PatientID = ""
    if level is not None:
        query.QueryRetrieveLevel = level
    with pytest.raises(QueryError, match="Query/Retrieve Level"):
        find(index, query, "patient")  # no iteration needed: the SCP can answer before the first pending


@pytest.mark.filterwarnings("ignore:Invalid value for VR CS")
def test_lowercase_level_is_accepted_and_an_unknown_model_is_a_programming_error(index):
    assert len(run(index, "patient", "patient", PatientID="")) == 9
    with pytest.raises(ValueError, match="unknown information model"):
        find(index, ident("STUDY"), "worklist")


def test_model_of_sop_class():
    assert model_of("1.2.840.10008.5.1.4.1.2.1.1") == "patient"
    assert model_of("1.2.840.10008.5.1.4.1.2.2.3") == "study"
    with pytest.raises(ValueError):
        model_of("1.2.840.10008.5.1.4.31")


# C-MOVE / C-GET ----------------------------------------------------------------------------------------
def expected_refs(index: ArchiveIndex, specs: list[StudySpec], series: int | None = None) -> set[tuple]:
    return {(ds.SOPClassUID, ds.SOPInstanceUID, index.storage / spec.relpath(se, i), "1.2.840.10008.1.2.1")
            for spec, se, i, ds in iter_instances(specs) if series is None or se == series}


def test_instances_for_a_study_list(index):
    refs = instances_for(index, ident("STUDY", StudyInstanceUID=f"{ASCII[1].study_uid}\\{WORLD[0].study_uid}"),
                         "study")
    assert {(r.sop_class_uid, r.sop_instance_uid, r.path, r.transfer_syntax) for r in refs} == expected_refs(
        index, [ASCII[1], WORLD[0]])
    assert all(r.path.is_absolute() and r.path.is_file() for r in refs)


def test_instances_for_every_level(index):
    spec = ASCII[2]
    pid = spec.patient.patient_id
    patient = instances_for(index, ident("PATIENT", PatientID=pid), "patient")
    assert {r.sop_instance_uid for r in patient} == {ds.SOPInstanceUID for *_, ds in iter_instances(ASCII[2:4])}
    series = instances_for(index, ident("SERIES", PatientID=pid, StudyInstanceUID=spec.study_uid,
                                        SeriesInstanceUID=spec.series_uid(1)), "patient")
    assert {(r.sop_class_uid, r.sop_instance_uid, r.path, r.transfer_syntax) for r in series} == expected_refs(
        index, [spec], series=1)
    image = instances_for(index, ident("IMAGE", StudyInstanceUID=spec.study_uid, SeriesInstanceUID=spec.series_uid(1),
                                       SOPInstanceUID=spec.sop_instance_uid(1, 1)), "study")
    assert [r.sop_instance_uid for r in image] == [spec.sop_instance_uid(1, 1)]
    assert instances_for(index, ident("PATIENT", PatientID=pid, IssuerOfPatientID="ELSEWHERE"), "patient") == []
    assert instances_for(index, ident("STUDY", StudyInstanceUID="1.2.3.404"), "study") == []


@pytest.mark.parametrize(
    "model,level,keys,message",
    [
        ("study", "STUDY", {}, "needs a value for StudyInstanceUID"),
        ("study", "STUDY", {"StudyInstanceUID": ""}, "needs a value for StudyInstanceUID"),
        ("study", "STUDY", {"StudyInstanceUID": "*"}, "needs a value"),
        ("study", "STUDY", {"StudyInstanceUID": "1.2.*"}, "wildcard"),
        ("patient", "PATIENT", {"PatientID": "SYN*"}, "wildcard"),
        ("patient", "STUDY", {"StudyInstanceUID": "1.2.3"}, "PatientID"),
        ("study", "PATIENT", {"PatientID": "X"}, "no PATIENT level"),
        ("study", "IMAGE", {"StudyInstanceUID": "1.2", "SOPInstanceUID": "1.2.3"}, "SeriesInstanceUID"),
    ],
)
@pytest.mark.filterwarnings("ignore:Invalid value for VR UI")
def test_retrieve_identifiers_that_could_select_too_much_are_refused(index, model, level, keys, message):
    with pytest.raises(QueryError, match=message):
        instances_for(index, ident(level, **keys), model)
